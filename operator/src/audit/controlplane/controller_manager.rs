//! CM-001…CM-007: the kube-controller-manager's flags, CIS 1.3.

use super::instance::{FlagCheck, Instance, Rule, run_flag_checks};
use crate::audit::{Ctx, Sink};
use crate::catalog::CheckId;

pub const CHECKS: [CheckId; 7] = [
    CheckId::Cm001,
    CheckId::Cm002,
    CheckId::Cm003,
    CheckId::Cm004,
    CheckId::Cm005,
    CheckId::Cm006,
    CheckId::Cm007,
];

const FLAG_CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: CheckId::Cm001,
        rule: Rule::Required(&["terminated-pod-gc-threshold"]),
        problem: "keeps terminated pods without limit",
    },
    FlagCheck {
        id: CheckId::Cm002,
        rule: Rule::Bool {
            flag: "profiling",
            want: false,
            default: true,
        },
        problem: "serves profiling data",
    },
    FlagCheck {
        id: CheckId::Cm003,
        rule: Rule::Bool {
            flag: "use-service-account-credentials",
            want: true,
            default: false,
        },
        problem: "runs every controller with the controller manager's own, all-powerful credential",
    },
    FlagCheck {
        id: CheckId::Cm004,
        rule: Rule::Required(&["service-account-private-key-file"]),
        problem: "has no ServiceAccount token signing key",
    },
    FlagCheck {
        id: CheckId::Cm005,
        rule: Rule::Required(&["root-ca-file"]),
        problem: "gives pods no root CA to verify the API server",
    },
    FlagCheck {
        id: CheckId::Cm007,
        rule: Rule::LoopbackIfSet("bind-address"),
        problem: "serves its metrics and health endpoints beyond loopback",
    },
];

pub fn audit(ctx: &Ctx, managers: &[&Instance], sink: &mut Sink) {
    for inst in managers {
        run_flag_checks(ctx, inst, FLAG_CHECKS, sink);
        rotation_disabled(ctx, inst, sink);
    }
}

/// CM-006: only an explicit `RotateKubeletServerCertificate=false` (on by default since 1.12).
fn rotation_disabled(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if !ctx.enabled(CheckId::Cm006) {
        return;
    }
    if let Some((false, entry)) = inst.flags.feature_gate("RotateKubeletServerCertificate") {
        sink.push(inst.finding(
            CheckId::Cm006,
            format!(
                "{} disables kubelet serving certificate rotation ({entry})",
                inst.name()
            ),
            vec![inst.flags.show("feature-gates", None)],
        ));
    }
}
