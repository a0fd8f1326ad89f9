//! SCH-001 and SCH-002: the kube-scheduler's flags, CIS 1.4.

use super::instance::{FlagCheck, Instance, Rule, run_flag_checks};
use crate::audit::{Ctx, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;

pub const CHECKS: [CheckId; 2] = [CheckId::Sch001, CheckId::Sch002];

const PROFILING: FlagCheck = FlagCheck {
    id: CheckId::Sch001,
    rule: Rule::Bool {
        flag: "profiling",
        want: false,
        default: true,
    },
    problem: "serves profiling data",
};

const BIND_ADDRESS: FlagCheck = FlagCheck {
    id: CheckId::Sch002,
    rule: Rule::LoopbackIfSet("bind-address"),
    problem: "serves its metrics and health endpoints beyond loopback",
};

pub fn audit(ctx: &Ctx, schedulers: &[&Instance], sink: &mut Sink) {
    for inst in schedulers {
        // The scheduler ignores its deprecated --profiling flag when it reads a
        // KubeSchedulerConfiguration file (enableProfiling, default true, decides).
        match inst.flags.nonempty("config") {
            Some(_) if ctx.enabled(PROFILING.id) => sink.not_assessed(
                Category::Controlplane,
                "kube-scheduler takes profiling from its --config file, which the API does not \
                 show: SCH-001 not assessed",
            ),
            Some(_) => {}
            None => run_flag_checks(ctx, inst, std::slice::from_ref(&PROFILING), sink),
        }
        run_flag_checks(ctx, inst, std::slice::from_ref(&BIND_ADDRESS), sink);
    }
}
