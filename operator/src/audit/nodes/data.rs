use crate::audit::controlplane::Version;
use jiff::civil::Date;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The dated tables the node checks read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseData {
    /// When the tables were last reviewed (shown in messages, so a stale table is visible).
    #[serde(default)]
    pub reviewed: String,
    /// Kubernetes minor releases and their end-of-life dates (NODE-001).
    #[serde(default)]
    pub kubernetes: Vec<KubernetesRelease>,
    /// Supported kubelet → API server skew, in minor versions (NODE-002).
    #[serde(default)]
    pub kubelet_skew: Vec<SkewRule>,
    /// Container runtime releases with known container-escape vulnerabilities (NODE-003).
    #[serde(default)]
    pub runtimes: Vec<RuntimeAdvisory>,
    /// Kernel CVEs on upstream (kernel.org) versions (NODE-004).
    #[serde(default)]
    pub kernel_cves: Vec<KernelCve>,
    /// Fixed builds of distribution and vendor kernel streams, per CVE (NODE-004).
    #[serde(default)]
    pub kernel_backports: Vec<KernelBackport>,
    /// Operating-system releases and their end-of-support dates (NODE-005).
    #[serde(default)]
    pub operating_systems: Vec<OsRelease>,
}

/// What a process in a default container (no added capabilities, the runtime's default
/// capability set, RuntimeDefault seccomp or none) needs before it can use a kernel CVE.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    /// Nothing: any process can.
    #[serde(rename = "none")]
    None,
    /// An unprivileged user namespace (blocked by RuntimeDefault seccomp, which denies
    /// `unshare(CLONE_NEWUSER)` without CAP_SYS_ADMIN).
    #[serde(rename = "userNamespace")]
    UserNamespace,
    /// CAP_NET_RAW, in the default capability set of containerd, CRI-O and Docker.
    #[serde(rename = "CAP_NET_RAW")]
    CapNetRaw,
    /// CAP_NET_ADMIN, not in the default set.
    #[serde(rename = "CAP_NET_ADMIN")]
    CapNetAdmin,
    /// CAP_SYS_ADMIN, not in the default set.
    #[serde(rename = "CAP_SYS_ADMIN")]
    CapSysAdmin,
}

impl Privilege {
    pub fn describe(self) -> &'static str {
        match self {
            Privilege::None => "needs no privilege from a default container",
            Privilege::UserNamespace => "needs a user namespace",
            Privilege::CapNetRaw => "needs CAP_NET_RAW (in the default capability set)",
            Privilege::CapNetAdmin => "needs CAP_NET_ADMIN",
            Privilege::CapSysAdmin => "needs CAP_SYS_ADMIN",
        }
    }

    /// The capability, without `CAP_`, for those that are one.
    pub fn capability(self) -> Option<&'static str> {
        match self {
            Privilege::CapNetRaw => Some("NET_RAW"),
            Privilege::CapNetAdmin => Some("NET_ADMIN"),
            Privilege::CapSysAdmin => Some("SYS_ADMIN"),
            Privilege::None | Privilege::UserNamespace => None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KernelCve {
    pub cve: String,
    /// A common name (`Dirty Pipe`), if it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// The first upstream release with the bug (`5.8`).
    pub introduced: String,
    /// The first mainline release with the fix (`5.17`).
    pub fixed_mainline: String,
    /// The first fixed release of each stable branch that got the fix (`5.10.102`). A branch
    /// between `introduced` and `fixedMainline` that is not listed never got it.
    #[serde(default)]
    pub fixed_stable: Vec<String>,
    pub privilege: Privilege,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    #[serde(default)]
    pub kev: bool,
    pub summary: String,
    /// Where the rows come from.
    pub source: String,
}

/// A distribution or vendor kernel stream's first build with a CVE's fix.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KernelBackport {
    pub cve: String,
    /// The stream, as the kernel classifier names it: `el8_5`, `ubuntu-5.15-generic`, `amzn2023`.
    pub stream: String,
    /// The first fixed build as `kernelVersion` spells it without the stream suffix
    /// (`4.18.0-348.20.1`); builds compare number by number.
    pub fixed: String,
    /// The advisory (`RHSA-2022:0831`, a USN, an ALAS).
    pub source: String,
}

/// An operating-system release's end of support.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OsRelease {
    /// The distribution as the `osImage` parser names it (`ubuntu`, `rhel`, `windows-server`).
    pub os: String,
    /// The release (`18.04`, `8`, `15 SP5`, `2019`).
    pub version: String,
    /// The last day of standard (free) security updates.
    pub standard_end: String,
    /// The last day of paid extended support (`extendedName`), if there is one.
    #[serde(default)]
    pub extended_end: Option<String>,
    #[serde(default)]
    pub extended_name: Option<String>,
    /// The vendor's page the dates come from.
    pub source: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesRelease {
    /// `1.30`
    pub minor: String,
    /// End of life (RFC 3339 date, `2025-06-28`).
    pub end_of_life: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkewRule {
    /// API server minor versions from which this rule applies (`1.28`).
    pub since: String,
    /// How many minor versions older the kubelet may be.
    pub kubelet_older: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeAdvisory {
    /// The runtime as `containerRuntimeVersion` names it: `containerd`, `cri-o`, `docker`.
    pub runtime: String,
    /// Affected: versions at or above `from` (inclusive) and below `fixed` (exclusive).
    pub from: String,
    pub fixed: String,
    pub cve: String,
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseDataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

static BUILTIN: LazyLock<ReleaseData> = LazyLock::new(|| {
    let data: ReleaseData = crate::yaml::from_str(include_str!("../../../data/release-data.yaml"))
        .expect("embedded release data parses");
    data.validate().expect("embedded release data is valid");
    data
});

/// When a kubelet's minor release reached (or reaches) end of life.
#[derive(Clone, Debug, PartialEq)]
pub struct EndOfLife {
    /// The table row the date comes from (`1.24`).
    pub release: String,
    pub date: Date,
    /// False when the kubelet's own minor is not in the table and `release` is the oldest
    /// newer one: older releases reached end of life no later than it did.
    pub exact: bool,
}

fn version(s: &str) -> Option<Version> {
    Version::parse(s)
}

impl ReleaseData {
    /// The tables shipped with this build.
    pub fn builtin() -> &'static ReleaseData {
        &BUILTIN
    }

    /// Tables from a file (same format as `operator/data/release-data.yaml`). Sections the
    /// file leaves out keep the built-in rows.
    pub fn from_file(path: &Path) -> Result<ReleaseData, ReleaseDataError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReleaseDataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut data: ReleaseData =
            crate::yaml::from_str(&text).map_err(|message| ReleaseDataError::Parse {
                path: path.to_path_buf(),
                message,
            })?;
        let builtin = ReleaseData::builtin();
        if data.kubernetes.is_empty() {
            data.kubernetes = builtin.kubernetes.clone();
        }
        if data.kubelet_skew.is_empty() {
            data.kubelet_skew = builtin.kubelet_skew.clone();
        }
        if data.runtimes.is_empty() {
            data.runtimes = builtin.runtimes.clone();
        }
        if data.kernel_cves.is_empty() {
            data.kernel_cves = builtin.kernel_cves.clone();
        }
        if data.kernel_backports.is_empty() {
            data.kernel_backports = builtin.kernel_backports.clone();
        }
        if data.operating_systems.is_empty() {
            data.operating_systems = builtin.operating_systems.clone();
        }
        data.validate().map_err(|message| ReleaseDataError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(data)
    }

    /// Every version and date parses: a typo in a replacement table is an input error, not a
    /// check that silently never fires.
    pub fn validate(&self) -> Result<(), String> {
        for (i, k) in self.kubernetes.iter().enumerate() {
            version(&k.minor).ok_or(format!(
                "kubernetes[{i}].minor: {:?} is not a version",
                k.minor
            ))?;
            k.end_of_life
                .parse::<Date>()
                .map_err(|e| format!("kubernetes[{i}].endOfLife: {:?}: {e}", k.end_of_life))?;
        }
        for (i, r) in self.kubelet_skew.iter().enumerate() {
            version(&r.since).ok_or(format!(
                "kubeletSkew[{i}].since: {:?} is not a version",
                r.since
            ))?;
        }
        for (i, r) in self.runtimes.iter().enumerate() {
            for (field, v) in [("from", &r.from), ("fixed", &r.fixed)] {
                version(v).ok_or(format!("runtimes[{i}].{field}: {v:?} is not a version"))?;
            }
            if r.runtime.is_empty() || r.cve.is_empty() {
                return Err(format!("runtimes[{i}]: runtime and cve are required"));
            }
        }
        for (i, k) in self.kernel_cves.iter().enumerate() {
            for (field, v) in [
                ("introduced", &k.introduced),
                ("fixedMainline", &k.fixed_mainline),
            ]
            .into_iter()
            .chain(k.fixed_stable.iter().map(|v| ("fixedStable", v)))
            {
                version(v).ok_or(format!("kernelCves[{i}].{field}: {v:?} is not a version"))?;
            }
            if k.cve.is_empty() || k.source.is_empty() {
                return Err(format!("kernelCves[{i}]: cve and source are required"));
            }
        }
        for (i, b) in self.kernel_backports.iter().enumerate() {
            version(&b.fixed).ok_or(format!(
                "kernelBackports[{i}].fixed: {:?} is not a version",
                b.fixed
            ))?;
            if b.cve.is_empty() || b.stream.is_empty() || b.source.is_empty() {
                return Err(format!(
                    "kernelBackports[{i}]: cve, stream and source are required"
                ));
            }
        }
        for (i, o) in self.operating_systems.iter().enumerate() {
            for (field, d) in [
                ("standardEnd", Some(&o.standard_end)),
                ("extendedEnd", o.extended_end.as_ref()),
            ] {
                if let Some(d) = d {
                    d.parse::<Date>()
                        .map_err(|e| format!("operatingSystems[{i}].{field}: {d:?}: {e}"))?;
                }
            }
            if o.os.is_empty() || o.version.is_empty() || o.source.is_empty() {
                return Err(format!(
                    "operatingSystems[{i}]: os, version and source are required"
                ));
            }
        }
        Ok(())
    }

    /// The end of life of the kubelet's minor release: its own row, or else the oldest newer
    /// release's (an upper bound). `None` when the table knows no release as new.
    pub fn end_of_life(&self, kubelet: Version) -> Option<EndOfLife> {
        let rows = self.kubernetes.iter().filter_map(|k| {
            let v = version(&k.minor)?;
            let date = k.end_of_life.parse::<Date>().ok()?;
            Some(((v.major, v.minor), k.minor.clone(), date))
        });
        let wanted = (kubelet.major, kubelet.minor);
        rows.filter(|(v, _, _)| *v >= wanted)
            .min_by_key(|(v, _, _)| *v)
            .map(|(v, release, date)| EndOfLife {
                release,
                date,
                exact: v == wanted,
            })
    }

    /// How many minor versions older than an API server of version `apiserver` a kubelet may be.
    pub fn kubelet_older(&self, apiserver: Version) -> Option<u32> {
        self.kubelet_skew
            .iter()
            .filter_map(|r| Some((version(&r.since)?, r.kubelet_older)))
            .filter(|(since, _)| (since.major, since.minor) <= (apiserver.major, apiserver.minor))
            .max_by_key(|(since, _)| *since)
            .map(|(_, older)| older)
    }

    /// The advisories that affect `runtime` (as `containerRuntimeVersion` names it) at `v`.
    pub fn advisories(&self, runtime: &str, v: Version) -> Vec<&RuntimeAdvisory> {
        self.runtimes
            .iter()
            .filter(|a| a.runtime.eq_ignore_ascii_case(runtime))
            .filter(|a| match (version(&a.from), version(&a.fixed)) {
                (Some(from), Some(fixed)) => from <= v && v < fixed,
                _ => false,
            })
            .collect()
    }
}
