use super::bounds;
use crate::catalog::{self, Category, CheckId, Severity};
use crate::outcome::{NamespacedName, SubjectRef};
use crate::snapshot::ObjectKind;
use serde::Serialize;
use std::borrow::Cow;

/// The object a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Static for the kinds the snapshot holds: no allocation per finding.
    pub api_version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: Cow::Borrowed(kind.api_version()),
            kind: Cow::Borrowed(kind.name()),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// A reference by `apiVersion` and `kind` as written (a User, the policy, a Finding
    /// object's target); a kind the snapshot holds is shared, not copied.
    pub fn other(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        let known = ObjectKind::from_name(kind).filter(|k| k.api_version() == api_version);
        let (api_version, kind) = match known {
            Some(k) => (Cow::Borrowed(k.api_version()), Cow::Borrowed(k.name())),
            None => (
                Cow::Owned(api_version.to_string()),
                Cow::Owned(kind.to_string()),
            ),
        };
        ObjectRef {
            api_version,
            kind,
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }
}

/// The `spec.exceptions` entry a policy-hygiene finding (POL-001, POL-002) is about.
///
/// Its identity is what the exception waives, not where it sits: its scope as written
/// (check, resource kind, namespace and name, absent fields included) and, when several
/// exceptions have that same scope, which of them it is in spec order. A security engineer
/// who inserts or removes an exception above others expects the others' findings to stay the
/// same findings (same Finding object, same `firstSeen`, no `FindingResolved` Event and no new
/// Warning) rather than to be resolved and raised again under new names, as an identity by
/// index would make them. Editing an exception's reason or expiry keeps its identity; changing
/// what it waives makes it another exception.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ExceptionRef {
    /// Position in `spec.exceptions`, for people: it orders findings, it is not the identity.
    pub index: usize,
    /// The identity (see the type's documentation).
    #[serde(skip)]
    pub key: String,
}

/// A line of a file the audit read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceLocation {
    pub file: String,
    /// 1-based.
    pub line: u32,
}

/// One thing wrong, as every output (JSON, table, SARIF, Finding objects) reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub check: CheckId,
    pub severity: Severity,
    pub category: Category,
    pub title: &'static str,
    pub message: String,
    /// The catalog's text, borrowed when the finding adds nothing to it: most of the
    /// 100,000 findings of a large cluster then hold no copy of it.
    pub remediation: Cow<'static, str>,
    pub resource: ObjectRef,
    pub subject: Option<SubjectRef>,
    /// Boxed strings, as `reason`: most findings have neither (no room for a capacity).
    pub node: Option<Box<str>>,
    /// Boxed, as the two fields below: rarely set (DaemonSet coverage, POL-*, IMG-001), and
    /// inline they cost each of a large cluster's 100,000 findings a larger allocation.
    pub daemon_set: Option<Box<NamespacedName>>,
    /// The exception a POL-* finding is about: one finding per exception.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<Box<ExceptionRef>>,
    /// The containers concerned, comma-separated (workload checks).
    pub container: Option<String>,
    pub reason: Option<Box<str>>,
    pub evidence: Vec<String>,
    /// Where in a source file the finding is (IMG-001 on a Dockerfile), for SARIF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Box<SourceLocation>>,
    pub suppressed: bool,
    /// The reason of the exception that suppressed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
}

impl Finding {
    /// A finding of `check` (which must be in the catalog) at its default severity.
    pub fn new(check: CheckId, resource: ObjectRef, message: impl Into<String>) -> Finding {
        let meta = check.meta();
        Finding {
            check,
            severity: meta.severity,
            category: meta.category,
            title: meta.title,
            message: message.into(),
            remediation: catalog::fill_remediation(meta.remediation, &[]),
            resource,
            subject: None,
            node: None,
            daemon_set: None,
            exception: None,
            container: None,
            reason: None,
            evidence: Vec::new(),
            location: None,
            suppressed: false,
            suppressed_by: None,
        }
    }

    /// Use the check's reduced severity (namespaced grant, ClusterIP, …).
    pub fn reduced(mut self) -> Finding {
        if let Some(s) = self.check.meta().reduced_severity {
            self.severity = s;
        }
        self
    }

    /// The check's catalog remediation with its `{name}` placeholders filled with this
    /// finding's facts (node, command, target version): the text stays in the catalog.
    pub fn fill(mut self, values: &[(&str, &str)]) -> Finding {
        self.remediation = catalog::fill_remediation(self.check.meta().remediation, values);
        self
    }

    /// Facts appended after the remediation (`" (kubectl edit …)"`): where to act on this
    /// object, never a second text of what to do.
    pub fn then(mut self, more: &str) -> Finding {
        self.remediation.to_mut().push_str(more);
        self
    }

    /// Like [`Finding::then`], continuing the remediation's last sentence: its final period
    /// goes after `more` (`"Set --profiling=false in the kube-apiserver command line"`).
    pub fn clause(mut self, more: &str) -> Finding {
        if let Some(text) = self.remediation.strip_suffix('.') {
            self.remediation = Cow::Owned(text.to_string());
        }
        self.then(more)
    }

    pub fn subject(mut self, s: SubjectRef) -> Finding {
        self.subject = Some(s);
        self
    }

    pub fn evidence(mut self, e: impl IntoIterator<Item = String>) -> Finding {
        self.evidence.extend(e);
        self
    }

    /// The containers concerned, within [`bounds::join_names`]'s bounds.
    pub fn container(mut self, names: &[&str]) -> Finding {
        if !names.is_empty() {
            self.container = Some(bounds::join_names(names, ",", bounds::MAX_MESSAGE));
        }
        self
    }

    pub fn node(mut self, n: &str) -> Finding {
        self.node = Some(n.into());
        self
    }

    pub fn daemon_set(mut self, namespace: &str, name: &str) -> Finding {
        self.daemon_set = Some(Box::new(NamespacedName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }));
        self
    }

    pub fn exception(mut self, e: ExceptionRef) -> Finding {
        self.exception = Some(Box::new(e));
        self
    }

    pub fn location(mut self, file: String, line: u32) -> Finding {
        self.location = Some(Box::new(SourceLocation { file, line }));
        self
    }

    pub fn reason(mut self, r: impl Into<String>) -> Finding {
        self.reason = Some(r.into().into_boxed_str());
        self
    }

    /// The sort key of reports: most severe first, then check, namespace, name, and the
    /// identity fields that tell apart findings on one object.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.check,
            self.resource.namespace.as_deref().unwrap_or(""),
            self.resource.name.as_str(),
            self.resource.kind.as_ref(),
            self.subject.as_ref(),
            self.daemon_set.as_ref(),
            self.node.as_deref(),
            self.exception.as_ref().map(|e| e.index),
        )
    }

    /// Whether two findings have the same identity (see [`Finding::identity`]).
    pub fn same_identity(&self, other: &Finding) -> bool {
        self.check == other.check
            && self.resource.kind == other.resource.kind
            && self.resource.namespace == other.resource.namespace
            && self.resource.name == other.resource.name
            && self.subject == other.subject
            && self.daemon_set == other.daemon_set
            && self.placed_on() == other.placed_on()
            && self.exception.as_ref().map(|e| &e.key) == other.exception.as_ref().map(|e| &e.key)
    }

    /// The node a finding about another object is placed on (XL-001/002: one finding per
    /// workload and node). Findings about a Node itself name it as their target already.
    fn placed_on(&self) -> Option<&str> {
        self.node
            .as_deref()
            .filter(|_| self.resource.kind != "Node")
    }

    /// The identity of a finding: (check, target, subject or DaemonSet, the node a workload
    /// finding is placed on, exception). Two
    /// findings with the same identity are the same finding seen twice. Fields a finding does
    /// not have add nothing, so the identities (and Finding names) of checks without them do
    /// not change when a field is added.
    pub fn identity(&self) -> String {
        let mut id = format!(
            "{}|{}|{}|{}",
            self.check,
            self.resource.kind,
            self.resource.namespace.as_deref().unwrap_or(""),
            self.resource.name,
        );
        if let Some(s) = &self.subject {
            id.push_str(&format!(
                "|subject={}/{}/{}",
                s.kind,
                s.namespace.as_deref().unwrap_or(""),
                s.name
            ));
        }
        if let Some(d) = &self.daemon_set {
            id.push_str(&format!("|daemonset={}/{}", d.namespace, d.name));
        }
        if let Some(n) = self.placed_on() {
            id.push_str(&format!("|node={n}"));
        }
        if let Some(e) = &self.exception {
            id.push_str(&format!("|exception={}", e.key));
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large cluster has 100,000 findings, held by the report, the engine and the
    /// controller: the catalog's text and the kind's names are shared, not copied, unless a
    /// finding adds facts to them.
    #[test]
    fn a_finding_shares_the_catalogs_text_until_it_adds_facts() {
        let f = Finding::new(
            CheckId::Wl001,
            ObjectRef::new(ObjectKind::Deployment, Some("app"), "web"),
            "privileged",
        );
        assert!(matches!(f.remediation, Cow::Borrowed(_)));
        assert!(matches!(f.resource.kind, Cow::Borrowed("Deployment")));
        assert!(matches!(f.resource.api_version, Cow::Borrowed("apps/v1")));
        let read_back = ObjectRef::other("apps/v1", "Deployment", Some("app"), "web");
        assert!(matches!(read_back.kind, Cow::Borrowed(_)));
        assert_eq!(read_back, f.resource);
        let user = ObjectRef::other("rbac.authorization.k8s.io/v1", "User", None, "alice");
        assert_eq!(user.kind, "User");

        let more = f.clone().then(" (kubectl edit deployment -n app web)");
        assert!(matches!(more.remediation, Cow::Owned(_)));
        assert!(
            more.remediation
                .starts_with(CheckId::Wl001.meta().remediation)
        );
        assert!(
            matches!(f.remediation, Cow::Borrowed(_)),
            "the original is untouched"
        );
    }
}

#[cfg(test)]
mod size_tests {
    /// A large cluster has 100,000 findings or more, each in its own allocation: a field
    /// added inline moves every one of them to a larger size class. Rarely set parts are
    /// boxed (BENCHMARKS.md).
    #[test]
    fn a_finding_stays_small_inline() {
        let size = std::mem::size_of::<super::Finding>();
        assert!(
            size <= 368,
            "Finding is {size} bytes inline: box its rarely set parts"
        );
    }
}
