//! A SecurityPolicy's spec compiled into what the audit applies: the set of enabled checks,
//! severity overrides, the namespace scope, exceptions and required DaemonSets. Semantic
//! errors the CRD schema cannot express are collected here, each naming its field.

mod exceptions;
mod file;

pub use exceptions::CompiledException;
pub use file::{PolicyFileError, load_policy_file};

use crate::api::SecurityPolicySpec;
use crate::catalog::CheckId;
use crate::catalog::{self, CheckMeta, Severity};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Longer would be a typo; far longer (`10000000000000000000s` fits the CRD's pattern)
/// overflows the controller's `Instant::now() + interval`.
pub const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 3600);
pub const DEFAULT_FINDING_LIMIT: usize = 500;

/// One problem in a policy spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// The field's path, e.g. `spec.exceptions[1].expires`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All the problems of a spec, shown together so one edit can fix them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| e.to_string()).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for PolicyErrors {}

/// The namespaces namespaced targets are audited in.
#[derive(Clone, Debug, Default)]
pub struct NamespaceScope {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// The one namespace the command line narrowed the audit to (`audit -n NS`), on top of
    /// the policy's own scope.
    only: Option<String>,
}

impl NamespaceScope {
    pub fn contains(&self, namespace: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == namespace)
            && self.include.as_ref().is_none_or(|g| g.is_match(namespace))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(namespace))
    }

    /// Narrow the scope to `namespace` (within what the policy includes).
    pub fn restrict_to(&mut self, namespace: &str) {
        self.only = Some(namespace.to_string());
    }
}

/// A security agent every eligible node must run (`spec.requiredDaemonSets`), as the audit
/// reads it: the policy's own type, so the audit does not depend on the CRD's.
#[derive(Clone, Debug, PartialEq)]
pub struct RequiredAgent {
    pub namespace: String,
    pub name: String,
    /// Labels a node must all carry to need it; empty: every node.
    pub node_selector: std::collections::BTreeMap<String, String>,
}

/// `enabled` as a flag per catalog row ([`CheckId`] is the row's index).
fn mask(enabled: &BTreeSet<CheckId>) -> Vec<bool> {
    let mut mask = vec![false; catalog::CHECKS.len()];
    for id in enabled {
        mask[*id as usize] = true;
    }
    mask
}

/// See [`EffectivePolicy::judgement`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    overrides: Vec<(CheckId, Severity)>,
    exceptions: Vec<(crate::api::PolicyException, bool)>,
}

/// What the audit applies.
#[derive(Clone, Debug)]
pub struct EffectivePolicy {
    pub name: String,
    enabled: BTreeSet<CheckId>,
    /// `enabled` by catalog index: asked for every finding of every audit, where the set's
    /// lookup compares IDs as text.
    enabled_mask: Vec<bool>,
    overrides: HashMap<CheckId, Severity>,
    pub namespaces: NamespaceScope,
    pub exceptions: Vec<CompiledException>,
    pub required_daemon_sets: Vec<RequiredAgent>,
    pub failure_threshold: Severity,
    pub interval: Duration,
    pub finding_limit: usize,
    pub events: bool,
    /// `spec.images.inspect`: fetch image configs from registries for IMG-001 and WL-005.
    pub inspect_images: bool,
    /// `spec.kubelet.configz`: read each kubelet's configuration through the API server.
    pub kubelet_configz: bool,
    /// `spec.probes.kubelet`: probe each kubelet from the operator (KUBELET-101/102).
    pub probe_kubelets: bool,
}

impl EffectivePolicy {
    /// The policy used when none is given: every default check, default severities.
    pub fn default_policy() -> EffectivePolicy {
        EffectivePolicy::compile("default", &SecurityPolicySpec::default())
            .expect("the empty spec is valid")
    }

    /// Compile a spec, or return every semantic error in it.
    pub fn compile(name: &str, spec: &SecurityPolicySpec) -> Result<EffectivePolicy, PolicyErrors> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| errors.push(PolicyError { field, message });

        let include = resolve_selectors("spec.checks.include", &spec.checks.include, &mut err);
        let exclude = resolve_selectors("spec.checks.exclude", &spec.checks.exclude, &mut err);
        let mut enabled: BTreeSet<CheckId> = if spec.checks.include.is_empty() {
            catalog::CHECKS
                .iter()
                .filter(|c| c.default)
                .map(|c| c.id)
                .collect()
        } else {
            include
        };
        let probe_kubelets = spec.probes.as_ref().is_some_and(|p| p.kubelet);
        if probe_kubelets {
            // The probes are what these two checks judge: asking for one enables the other.
            enabled.extend([CheckId::Kubelet101, CheckId::Kubelet102]);
        }
        for id in exclude {
            enabled.remove(&id);
        }

        let mut overrides = HashMap::new();
        for (i, o) in spec.severity_overrides.iter().enumerate() {
            match catalog::lookup(&o.check) {
                Some(meta) => {
                    if overrides.insert(meta.id, o.severity).is_some() {
                        err(
                            format!("spec.severityOverrides[{i}].check"),
                            format!("{} is overridden twice", o.check),
                        );
                    }
                }
                None => err(
                    format!("spec.severityOverrides[{i}].check"),
                    format!("unknown check ID {:?}", o.check),
                ),
            }
        }

        let namespaces = NamespaceScope {
            include: compile_globs(
                "spec.namespaces.include",
                &spec.namespaces.include,
                &mut err,
            ),
            exclude: compile_globs(
                "spec.namespaces.exclude",
                &spec.namespaces.exclude,
                &mut err,
            ),
            only: None,
        };

        let mut exceptions = Vec::new();
        for (i, e) in spec.exceptions.iter().enumerate() {
            match CompiledException::compile(i, e) {
                Ok(c) => exceptions.push(c),
                Err(es) => errors_extend(&mut err, es),
            }
        }

        let mut seen = BTreeSet::new();
        for (i, d) in spec.required_daemon_sets.iter().enumerate() {
            if !seen.insert((d.namespace.as_str(), d.name.as_str())) {
                err(
                    format!("spec.requiredDaemonSets[{i}]"),
                    format!("{}/{} is listed twice", d.namespace, d.name),
                );
            }
            if d.namespace.is_empty() || d.name.is_empty() {
                err(
                    format!("spec.requiredDaemonSets[{i}]"),
                    "namespace and name are required".to_string(),
                );
            }
        }

        let interval = match &spec.interval {
            None => DEFAULT_INTERVAL,
            Some(s) => match humantime::parse_duration(s) {
                Ok(d) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&d) => d,
                Ok(d) if d < MIN_INTERVAL => {
                    err(
                        "spec.interval".to_string(),
                        format!("{s:?} is shorter than the minimum of 30s"),
                    );
                    DEFAULT_INTERVAL
                }
                Ok(_) => {
                    err(
                        "spec.interval".to_string(),
                        format!("{s:?} is longer than the maximum of 365 days"),
                    );
                    DEFAULT_INTERVAL
                }
                Err(e) => {
                    err(
                        "spec.interval".to_string(),
                        format!("{s:?} is not a duration such as 10m or 1h ({e})"),
                    );
                    DEFAULT_INTERVAL
                }
            },
        };

        let finding_limit = spec
            .finding_limit
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_FINDING_LIMIT);
        if finding_limit > 10_000 {
            err(
                "spec.findingLimit".to_string(),
                format!("{finding_limit} is above the maximum of 10000"),
            );
        }

        if !errors.is_empty() {
            return Err(PolicyErrors(errors));
        }
        Ok(EffectivePolicy {
            name: name.to_string(),
            enabled_mask: mask(&enabled),
            enabled,
            overrides,
            namespaces,
            exceptions,
            required_daemon_sets: spec
                .required_daemon_sets
                .iter()
                .map(|d| RequiredAgent {
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                    node_selector: d.node_selector.clone(),
                })
                .collect(),
            failure_threshold: spec.failure_threshold.unwrap_or(Severity::High),
            interval,
            finding_limit,
            events: spec.remediation.events,
            inspect_images: spec.images.as_ref().is_some_and(|i| i.inspect),
            kubelet_configz: spec.kubelet.as_ref().is_some_and(|k| k.configz),
            probe_kubelets,
        })
    }

    /// Also run `checks` (catalog IDs; unknown ones are ignored): `report --framework` without
    /// a policy file adds the checks its framework maps, off-by-default ones included.
    pub fn also_enable(&mut self, checks: &[&str]) {
        self.enabled.extend(
            checks
                .iter()
                .filter_map(|id| catalog::lookup(id))
                .map(|c| c.id),
        );
        self.enabled_mask = mask(&self.enabled);
    }

    pub fn is_enabled(&self, id: CheckId) -> bool {
        self.enabled_mask[id as usize]
    }

    /// The enabled check IDs.
    pub fn enabled_ids(&self) -> &BTreeSet<CheckId> {
        &self.enabled
    }

    /// The enabled checks, in catalog order.
    pub fn enabled_checks(&self) -> impl Iterator<Item = &'static CheckMeta> + '_ {
        catalog::CHECKS.iter().filter(|c| self.is_enabled(c.id))
    }

    /// The first unexpired exception (index in spec order) that waives a finding of `check` on
    /// the given target.
    pub fn waiver(
        &self,
        now: jiff::Timestamp,
        check: CheckId,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<usize> {
        self.exceptions
            .iter()
            .position(|e| !e.is_expired(now) && e.matches(check.as_str(), kind, namespace, name))
    }

    /// What decides how a finding is judged at `now`: the severity overrides, the exceptions
    /// and which of them have expired. Two audits with equal judgements judge every finding
    /// alike, so what was derived from judged findings may be kept (the incremental engine).
    pub fn judgement(&self, now: jiff::Timestamp) -> Judgement {
        let mut overrides: Vec<(CheckId, Severity)> =
            self.overrides.iter().map(|(c, s)| (*c, *s)).collect();
        overrides.sort_unstable_by_key(|(c, _)| *c);
        Judgement {
            overrides,
            exceptions: self
                .exceptions
                .iter()
                .map(|e| (e.source.clone(), e.is_expired(now)))
                .collect(),
        }
    }

    /// The severity of a finding of `check` whose natural severity is `natural`.
    pub fn severity_of(&self, check: CheckId, natural: Severity) -> Severity {
        if self.overrides.is_empty() {
            // Most policies override nothing: no hashing per finding.
            return natural;
        }
        self.overrides.get(&check).copied().unwrap_or(natural)
    }
}

fn errors_extend(err: &mut impl FnMut(String, String), es: Vec<PolicyError>) {
    for e in es {
        err(e.field, e.message);
    }
}

/// Selectors to check IDs. A category selects its default checks; IDs and groups select
/// exactly what they name (that is how off-by-default checks are turned on).
fn resolve_selectors(
    field: &str,
    selectors: &[String],
    err: &mut impl FnMut(String, String),
) -> BTreeSet<CheckId> {
    let mut out = BTreeSet::new();
    for (i, s) in selectors.iter().enumerate() {
        match catalog::select(s) {
            Some(checks) => {
                let is_category = catalog::Category::parse(s).is_some();
                out.extend(
                    checks
                        .iter()
                        .filter(|c| !is_category || c.default)
                        .map(|c| c.id),
                );
            }
            None => err(
                format!("{field}[{i}]"),
                format!("unknown check, category or group {s:?} (see `kube-posture checks`)"),
            ),
        }
    }
    out
}

fn compile_globs(
    field: &str,
    patterns: &[String],
    err: &mut impl FnMut(String, String),
) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut builder = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        match Glob::new(p) {
            Ok(g) => {
                builder.add(g);
            }
            Err(e) => err(
                format!("{field}[{i}]"),
                format!("bad glob {p:?}: {}", e.kind()),
            ),
        }
    }
    // Each pattern compiled, but together they can pass the matcher's size limit: an error,
    // never `None` (which would mean every namespace).
    match builder.build() {
        Ok(set) => Some(set),
        Err(e) => {
            err(
                field.to_string(),
                format!("too many or too complex patterns to match together ({e})"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CheckSelection, NamespaceSelection, SeverityOverride};

    fn spec_with_checks(include: &[&str], exclude: &[&str]) -> SecurityPolicySpec {
        SecurityPolicySpec {
            checks: CheckSelection {
                include: include.iter().map(|s| s.to_string()).collect(),
                exclude: exclude.iter().map(|s| s.to_string()).collect(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn default_policy_runs_default_checks_only() {
        let p = EffectivePolicy::default_policy();
        assert!(p.is_enabled(CheckId::Rbac001) && p.is_enabled(CheckId::Wl001));
        assert!(
            !p.is_enabled(CheckId::Wl006),
            "restricted checks are off by default"
        );
        assert_eq!(p.failure_threshold, Severity::High);
        assert_eq!(p.finding_limit, 500);
    }

    #[test]
    fn include_exclude_by_id_category_and_group() {
        let p =
            EffectivePolicy::compile("p", &spec_with_checks(&["rbac", "WL-006"], &["RBAC-017"]))
                .unwrap();
        assert!(p.is_enabled(CheckId::Rbac001) && p.is_enabled(CheckId::Wl006));
        assert!(!p.is_enabled(CheckId::Rbac017) && !p.is_enabled(CheckId::Wl001));
        let p = EffectivePolicy::compile("p", &spec_with_checks(&["workload"], &[])).unwrap();
        assert!(p.is_enabled(CheckId::Wl001) && !p.is_enabled(CheckId::Wl009));
        let p = EffectivePolicy::compile("p", &spec_with_checks(&["workload-restricted"], &[]))
            .unwrap();
        assert!(p.is_enabled(CheckId::Wl009) && !p.is_enabled(CheckId::Wl001));
    }

    #[test]
    fn unknown_ids_and_bad_globs_name_their_field() {
        let mut spec = spec_with_checks(&["RBAC-001", "RBAC-999"], &[]);
        spec.namespaces = NamespaceSelection {
            include: vec!["team-[".into()],
            exclude: vec![],
        };
        spec.severity_overrides = vec![SeverityOverride {
            check: "API-999".into(),
            severity: Severity::Low,
        }];
        spec.interval = Some("5s".into());
        let e = EffectivePolicy::compile("p", &spec).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.checks.include[1]",
                "spec.severityOverrides[0].check",
                "spec.namespaces.include[0]",
                "spec.interval"
            ]
        );
        assert!(e.to_string().contains("RBAC-999"));
    }

    #[test]
    fn namespace_globs() {
        let spec = SecurityPolicySpec {
            namespaces: NamespaceSelection {
                include: vec!["team-*".into(), "prod".into()],
                exclude: vec!["team-sandbox".into()],
            },
            ..Default::default()
        };
        let p = EffectivePolicy::compile("p", &spec).unwrap();
        assert!(p.namespaces.contains("team-a") && p.namespaces.contains("prod"));
        assert!(!p.namespaces.contains("team-sandbox") && !p.namespaces.contains("dev"));
    }

    #[test]
    fn intervals_beyond_a_year_are_refused() {
        for (interval, ok) in [
            ("8760h", true),
            ("8761h", false),
            ("10000000000000000000s", false),
        ] {
            let spec = SecurityPolicySpec {
                interval: Some(interval.into()),
                ..Default::default()
            };
            match EffectivePolicy::compile("p", &spec) {
                Ok(p) => assert!(ok && std::time::Instant::now().checked_add(p.interval).is_some()),
                Err(e) => assert!(!ok && e.0[0].field == "spec.interval", "{interval}: {e}"),
            }
        }
    }

    #[test]
    fn globs_too_large_together_are_an_error_not_every_namespace() {
        let spec = SecurityPolicySpec {
            namespaces: NamespaceSelection {
                include: (0..10_000)
                    .map(|i| format!("team-*{i}{}", "[!x]?".repeat(40)))
                    .collect(),
                exclude: vec![],
            },
            ..Default::default()
        };
        let e = EffectivePolicy::compile("p", &spec).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "spec.namespaces.include");
    }

    #[test]
    fn overrides_apply() {
        let spec = SecurityPolicySpec {
            severity_overrides: vec![SeverityOverride {
                check: "API-015".into(),
                severity: Severity::Medium,
            }],
            ..Default::default()
        };
        let p = EffectivePolicy::compile("p", &spec).unwrap();
        assert_eq!(
            p.severity_of(CheckId::Api015, Severity::Low),
            Severity::Medium
        );
        assert_eq!(
            p.severity_of(CheckId::Api016, Severity::High),
            Severity::High
        );
    }
}
