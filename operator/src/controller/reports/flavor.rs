//! Which report API the operator writes: `--reports auto|openreports|wgpolicy|none`, and what
//! `auto` resolves to from what the API server serves. Pure: discovery itself is in
//! [`super::sync`].

use crate::controller::status::ReportsState;
use kube::api::ApiResource;

/// The two report APIs Policy Reporter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `openreports.io/v1alpha1` `Report` / `ClusterReport`.
    OpenReports,
    /// The legacy `wgpolicyk8s.io/v1alpha2` `PolicyReport` / `ClusterPolicyReport`.
    WgPolicy,
}

impl Flavor {
    pub fn group(self) -> &'static str {
        match self {
            Flavor::OpenReports => "openreports.io",
            Flavor::WgPolicy => "wgpolicyk8s.io",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Flavor::OpenReports => "v1alpha1",
            Flavor::WgPolicy => "v1alpha2",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::OpenReports => "openreports.io/v1alpha1",
            Flavor::WgPolicy => "wgpolicyk8s.io/v1alpha2",
        }
    }

    pub fn kind(self, cluster: bool) -> &'static str {
        match (self, cluster) {
            (Flavor::OpenReports, false) => "Report",
            (Flavor::OpenReports, true) => "ClusterReport",
            (Flavor::WgPolicy, false) => "PolicyReport",
            (Flavor::WgPolicy, true) => "ClusterPolicyReport",
        }
    }

    pub fn plural(self, cluster: bool) -> &'static str {
        match (self, cluster) {
            (Flavor::OpenReports, false) => "reports",
            (Flavor::OpenReports, true) => "clusterreports",
            (Flavor::WgPolicy, false) => "policyreports",
            (Flavor::WgPolicy, true) => "clusterpolicyreports",
        }
    }

    pub fn api_resource(self, cluster: bool) -> ApiResource {
        ApiResource {
            group: self.group().to_string(),
            version: self.version().to_string(),
            api_version: self.api_version().to_string(),
            kind: self.kind(cluster).to_string(),
            plural: self.plural(cluster).to_string(),
        }
    }

    /// The other group.
    pub fn other(self) -> Flavor {
        match self {
            Flavor::OpenReports => Flavor::WgPolicy,
            Flavor::WgPolicy => Flavor::OpenReports,
        }
    }

    /// The metric label and the name users see.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::OpenReports => "openreports",
            Flavor::WgPolicy => "wgpolicy",
        }
    }
}

/// `--reports`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportsMode {
    /// OpenReports when served, else the legacy group when served, else none.
    #[default]
    Auto,
    OpenReports,
    WgPolicy,
    None,
}

/// What discovery found: whether each group serves both its kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    pub openreports: bool,
    pub wgpolicy: bool,
}

impl Served {
    pub fn serves(self, flavor: Flavor) -> bool {
        match flavor {
            Flavor::OpenReports => self.openreports,
            Flavor::WgPolicy => self.wgpolicy,
        }
    }
}

/// Why no report is written, for the metric and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    /// `--reports none`.
    Disabled,
    /// The chosen (or, with `auto`, either) API is not served: its CRDs are not installed.
    NotServed,
}

impl Off {
    pub fn as_str(self) -> &'static str {
        match self {
            Off::Disabled => "disabled",
            Off::NotServed => "not_served",
        }
    }
}

/// The API to write to, or why none.
pub fn resolve(mode: ReportsMode, served: Served) -> Result<Flavor, Off> {
    match mode {
        ReportsMode::None => Err(Off::Disabled),
        ReportsMode::OpenReports if served.openreports => Ok(Flavor::OpenReports),
        ReportsMode::WgPolicy if served.wgpolicy => Ok(Flavor::WgPolicy),
        ReportsMode::Auto if served.openreports => Ok(Flavor::OpenReports),
        ReportsMode::Auto if served.wgpolicy => Ok(Flavor::WgPolicy),
        _ => Err(Off::NotServed),
    }
}

/// The SecurityPolicy's `ReportsWritten` condition for where reports go and how the last
/// write pass went.
pub fn condition(output: Result<Flavor, Off>, error: Option<&str>) -> ReportsState {
    match (output, error) {
        (Ok(f), Some(e)) => ReportsState {
            written: false,
            reason: "ReportsNotWritten",
            message: format!("{} policy reports could not be written: {e}", f.as_str()),
        },
        (Ok(f), None) => ReportsState {
            written: true,
            reason: match f {
                Flavor::OpenReports => "OpenReports",
                Flavor::WgPolicy => "PolicyReports",
            },
            message: format!(
                "a {} per audited resource with results ({})",
                f.kind(false),
                f.api_version()
            ),
        },
        (Err(Off::Disabled), _) => ReportsState {
            written: false,
            reason: "ReportsDisabled",
            message: "policy reports are turned off (--reports none)".to_string(),
        },
        (Err(Off::NotServed), _) => ReportsState {
            written: false,
            reason: "ReportsAPINotServed",
            message: "no policy report API is served: install config/openreports/crds.yaml \
                      (OpenReports) to get a report per audited resource"
                .to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_says_where_reports_go_or_why_not() {
        let c = condition(Ok(Flavor::OpenReports), None);
        assert_eq!((c.written, c.reason), (true, "OpenReports"));
        assert!(
            c.message.contains("openreports.io/v1alpha1"),
            "{}",
            c.message
        );
        assert_eq!(
            condition(Ok(Flavor::WgPolicy), None).reason,
            "PolicyReports"
        );
        let c = condition(Ok(Flavor::OpenReports), Some("forbidden"));
        assert_eq!((c.written, c.reason), (false, "ReportsNotWritten"));
        assert!(c.message.ends_with("forbidden"));
        assert_eq!(
            condition(Err(Off::Disabled), None).reason,
            "ReportsDisabled"
        );
        let c = condition(Err(Off::NotServed), None);
        assert_eq!((c.written, c.reason), (false, "ReportsAPINotServed"));
        assert!(c.message.contains("config/openreports/crds.yaml"));
    }

    #[test]
    fn auto_prefers_openreports_then_the_legacy_group() {
        let both = Served {
            openreports: true,
            wgpolicy: true,
        };
        let legacy = Served {
            openreports: false,
            wgpolicy: true,
        };
        assert_eq!(resolve(ReportsMode::Auto, both), Ok(Flavor::OpenReports));
        assert_eq!(resolve(ReportsMode::Auto, legacy), Ok(Flavor::WgPolicy));
        assert_eq!(
            resolve(ReportsMode::Auto, Served::default()),
            Err(Off::NotServed)
        );
        assert_eq!(resolve(ReportsMode::None, both), Err(Off::Disabled));
        assert_eq!(resolve(ReportsMode::WgPolicy, both), Ok(Flavor::WgPolicy));
        assert_eq!(
            resolve(ReportsMode::OpenReports, legacy),
            Err(Off::NotServed),
            "an explicit choice does not fall back"
        );
        assert!(legacy.serves(Flavor::WgPolicy) && !legacy.serves(Flavor::OpenReports));
        assert_eq!(Flavor::WgPolicy.other(), Flavor::OpenReports);
        let ar = Flavor::OpenReports.api_resource(true);
        assert_eq!(
            (
                ar.api_version.as_str(),
                ar.kind.as_str(),
                ar.plural.as_str()
            ),
            ("openreports.io/v1alpha1", "ClusterReport", "clusterreports")
        );
    }
}
