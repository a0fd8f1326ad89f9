use super::PolicyError;
use crate::api::PolicyException;
use crate::catalog::CheckId;
use globset::{Glob, GlobMatcher};
use jiff::Timestamp;

/// An exception ready to match findings.
#[derive(Clone, Debug)]
pub struct CompiledException {
    /// Position in `spec.exceptions`, for messages.
    pub index: usize,
    /// `None` for `*`.
    pub check: Option<CheckId>,
    pub kind: Option<String>,
    namespace: Option<NameMatcher>,
    name: Option<NameMatcher>,
    pub reason: String,
    pub expires: Option<Timestamp>,
    /// The exception as written, for POL findings.
    pub source: PolicyException,
}

#[derive(Clone, Debug)]
enum NameMatcher {
    Exact(String),
    Glob(GlobMatcher),
}

impl NameMatcher {
    fn new(pattern: &str) -> Result<NameMatcher, globset::Error> {
        if pattern.contains(['*', '?', '[', '{']) {
            Ok(NameMatcher::Glob(Glob::new(pattern)?.compile_matcher()))
        } else {
            Ok(NameMatcher::Exact(pattern.to_string()))
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            NameMatcher::Exact(e) => e == s,
            NameMatcher::Glob(g) => g.is_match(s),
        }
    }
}

impl CompiledException {
    pub fn compile(
        index: usize,
        e: &PolicyException,
    ) -> Result<CompiledException, Vec<PolicyError>> {
        let field = |f: &str| format!("spec.exceptions[{index}].{f}");
        let mut errors = Vec::new();
        let check = if e.check == "*" {
            None
        } else {
            match crate::catalog::lookup(&e.check) {
                Some(meta) => Some(meta.id),
                None => {
                    errors.push(PolicyError {
                        field: field("check"),
                        message: format!("unknown check ID {:?}", e.check),
                    });
                    None
                }
            }
        };
        let mut matcher = |f: &str, pattern: &Option<String>| {
            pattern.as_deref().and_then(|p| match NameMatcher::new(p) {
                Ok(m) => Some(m),
                Err(err) => {
                    errors.push(PolicyError {
                        field: field(f),
                        message: format!("bad glob {p:?}: {}", err.kind()),
                    });
                    None
                }
            })
        };
        let namespace = matcher("resource.namespace", &e.resource.namespace);
        let name = matcher("resource.name", &e.resource.name);
        if e.reason.trim().is_empty() {
            errors.push(PolicyError {
                field: field("reason"),
                message: "an exception needs a reason".to_string(),
            });
        }
        let expires = match e.expires.as_deref().map(parse_expiry) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(msg)) => {
                errors.push(PolicyError {
                    field: field("expires"),
                    message: msg,
                });
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CompiledException {
            index,
            check,
            kind: e.resource.kind.clone(),
            namespace,
            name,
            reason: e.reason.clone(),
            expires,
            source: e.clone(),
        })
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }

    /// Whether this exception waives a finding of `check` on the given target. `*` does not
    /// waive policy-hygiene findings (POL-*), which are about the exceptions themselves.
    pub fn matches(&self, check: &str, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        let check_ok = match self.check {
            Some(id) => id == check,
            None => !check.starts_with("POL-"),
        };
        check_ok
            && self
                .kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(kind))
            && self
                .namespace
                .as_ref()
                .is_none_or(|m| m.is_match(namespace.unwrap_or("")))
            && self.name.as_ref().is_none_or(|m| m.is_match(name))
    }
}

/// RFC 3339 (`2027-03-31T00:00:00Z`) or a plain date (`2027-03-31`, meaning its start in UTC).
fn parse_expiry(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time such as 2027-03-31T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ExceptionResource;

    fn exception(
        check: &str,
        ns: Option<&str>,
        name: Option<&str>,
        expires: Option<&str>,
    ) -> PolicyException {
        PolicyException {
            check: check.into(),
            resource: ExceptionResource {
                kind: Some("ClusterRoleBinding".into()),
                namespace: ns.map(Into::into),
                name: name.map(Into::into),
            },
            reason: "reviewed".into(),
            expires: expires.map(Into::into),
        }
    }

    #[test]
    fn glob_names_and_cluster_scope() {
        let e = CompiledException::compile(
            0,
            &exception("RBAC-001", Some(""), Some("break-glass-*"), None),
        )
        .unwrap();
        assert!(e.matches("RBAC-001", "ClusterRoleBinding", None, "break-glass-ops"));
        assert!(e.matches("RBAC-001", "clusterrolebinding", None, "break-glass-ops"));
        assert!(!e.matches("RBAC-001", "ClusterRoleBinding", None, "ci-admin"));
        assert!(!e.matches("RBAC-004", "ClusterRoleBinding", None, "break-glass-ops"));
        assert!(!e.matches(
            "RBAC-001",
            "ClusterRoleBinding",
            Some("ns"),
            "break-glass-ops"
        ));
    }

    #[test]
    fn star_matches_every_check_but_policy_hygiene() {
        let e = CompiledException::compile(0, &exception("*", None, None, None)).unwrap();
        assert!(e.matches("RBAC-004", "ClusterRoleBinding", None, "x"));
        assert!(!e.matches("POL-002", "ClusterRoleBinding", None, "x"));
    }

    #[test]
    fn expiry_forms() {
        let now: Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        let e =
            CompiledException::compile(0, &exception("*", None, None, Some("2026-11-28"))).unwrap();
        assert!(e.is_expired(now));
        let e = CompiledException::compile(
            0,
            &exception("*", None, None, Some("2027-03-31T00:00:00Z")),
        )
        .unwrap();
        assert!(!e.is_expired(now));
        let err = CompiledException::compile(3, &exception("*", None, None, Some("next year")))
            .unwrap_err();
        assert_eq!(err[0].field, "spec.exceptions[3].expires");
    }

    #[test]
    fn bad_glob_and_unknown_check() {
        let err = CompiledException::compile(1, &exception("RBAC-404", None, Some("a[b"), None))
            .unwrap_err();
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.exceptions[1].check",
                "spec.exceptions[1].resource.name"
            ]
        );
    }
}
