//! NODE-004: what a `kernelVersion` string says, and which kernel CVEs of the release data
//! affect it (host.md, CheckId::Node004). Pure functions: the classifier first, because distro
//! kernels backport fixes without changing their base version, so the same `5.15.0` is fixed
//! on one node and vulnerable on another.

use super::data::{KernelBackport, KernelCve, Privilege, ReleaseData};
use crate::audit::controlplane::Version;
use crate::catalog::Severity;
use std::cmp::Ordering;

/// How a kernel version string is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelClass {
    /// Exact upstream (kernel.org) versions: Talos, Flatcar, a plain `x.y.z`.
    Upstream {
        version: Version,
        build: &'static str,
    },
    /// Vendor kernels that track a stable branch (COS, Bottlerocket, Amazon Linux, Azure
    /// Linux): judged on a vendor row, else on the upstream table one severity lower.
    Vendor {
        version: Version,
        vendor: &'static str,
        stream: String,
        /// The build as vendor rows compare it (`6.1.115-126.197`).
        build: String,
    },
    /// Distributions that backport fixes under an unchanged base version: only a row for the
    /// exact stream judges them.
    Distro {
        distro: &'static str,
        stream: String,
        build: String,
    },
    /// Not judged, and why.
    Other(&'static str),
}

/// Debian's kernel flavours (`linux-image-6.1.0-13-cloud-amd64`); any other `x.y.0-N-flavour`
/// is Ubuntu's.
const DEBIAN_FLAVOURS: &[&str] = &[
    "amd64",
    "arm64",
    "armmp",
    "armmp-lpae",
    "686",
    "686-pae",
    "cloud-amd64",
    "cloud-arm64",
    "rt-amd64",
    "rt-arm64",
    "powerpc64le",
    "s390x",
];

/// `6.1.0-13-amd64` → (`6.1.0`, `-13-amd64`): the leading dotted numbers and the rest.
fn split_base(kernel: &str) -> Option<(&str, &str)> {
    let end = kernel
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(kernel.len());
    let base = kernel[..end].trim_end_matches('.');
    (base.contains('.') && base.split('.').all(|p| !p.is_empty()))
        .then(|| (base, &kernel[base.len()..]))
}

/// The three leading numbers (`5.15.173.1` → 5.15.173).
fn base_version(base: &str) -> Option<Version> {
    Version::parse(base)
}

/// `…el8_5…` → `el8_5`, `…el9.x86_64` → `el9`.
fn rhel_stream(kernel: &str) -> Option<(String, usize)> {
    let bytes = kernel.as_bytes();
    let mut from = 0;
    while let Some(i) = kernel[from..].find(".el").map(|i| i + from) {
        let rest = &kernel[i + 3..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            let mut end = i + 3 + digits;
            if bytes.get(end) == Some(&b'_') {
                let minor = kernel[end + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .count();
                if minor > 0 {
                    end += 1 + minor;
                }
            }
            return Some((kernel[i + 1..end].to_string(), i));
        }
        from = i + 3;
    }
    None
}

/// Classify `status.nodeInfo.kernelVersion`, with `osImage` for the images whose kernel string
/// looks upstream (Bottlerocket, COS).
pub fn classify(kernel: &str, os_image: &str) -> KernelClass {
    let kernel = kernel.trim();
    let Some((base, rest)) = split_base(kernel) else {
        return KernelClass::Other("the kernel version is not a version number");
    };
    let Some(version) = base_version(base) else {
        return KernelClass::Other("the kernel version is not a version number");
    };
    // `6.8.0-rc3`, `6.8.0-rc3-generic`: a release candidate has no stable fixes to compare.
    if rest.split(['-', '.', '+', '_']).any(|p| {
        p.strip_prefix("rc")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }) {
        return KernelClass::Other("release-candidate kernel");
    }
    let vendor = |vendor: &'static str, stream: &str, build: &str| KernelClass::Vendor {
        version,
        vendor,
        stream: stream.to_string(),
        build: build.to_string(),
    };
    // Oracle's Unbreakable Enterprise Kernel: `5.15.0-209.161.7.2.el8uek.x86_64`.
    if let Some(i) = kernel.find("uek") {
        let build = kernel[..i].split(".el").next().unwrap_or(&kernel[..i]);
        return KernelClass::Distro {
            distro: "Oracle UEK",
            stream: format!("uek-{}.{}", version.major, version.minor),
            build: build.to_string(),
        };
    }
    // Red Hat and its rebuilds: `4.18.0-348.7.1.el8_5.x86_64`.
    if let Some((stream, at)) = rhel_stream(kernel) {
        return KernelClass::Distro {
            distro: "RHEL family",
            stream,
            build: kernel[..at].to_string(),
        };
    }
    for (tag, name) in [
        ("amzn2023", "Amazon Linux 2023"),
        ("amzn2", "Amazon Linux 2"),
        ("cm2", "Azure Linux 2 (CBL-Mariner)"),
        ("azl3", "Azure Linux 3"),
    ] {
        let stream = kernel.split(['.', '-']).any(|p| p == tag).then_some(tag);
        if let Some(stream) = stream {
            let build = kernel.split(&format!(".{tag}")).next().unwrap_or(kernel);
            return vendor(name, stream, build);
        }
    }
    // COS: `5.15.154+`.
    if rest == "+" || os_image.contains("Container-Optimized OS") {
        return vendor("Container-Optimized OS", "cos", base);
    }
    if os_image.starts_with("Bottlerocket") {
        return vendor("Bottlerocket", "bottlerocket", base);
    }
    match rest {
        "" => {
            return KernelClass::Upstream {
                version,
                build: "plain",
            };
        }
        "-talos" => {
            return KernelClass::Upstream {
                version,
                build: "Talos",
            };
        }
        "-flatcar" => {
            return KernelClass::Upstream {
                version,
                build: "Flatcar",
            };
        }
        _ => {}
    }
    // `x.y.0-N-flavour` (Ubuntu, Debian) and `x.y.z-N.M…-flavour` (SUSE).
    if let Some((release, flavour)) = rest
        .strip_prefix('-')
        .and_then(|r| r.split_once('-'))
        .filter(|(r, f)| {
            !r.is_empty()
                && !f.is_empty()
                && r.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && r.bytes().next().is_some_and(|b| b.is_ascii_digit())
        })
    {
        let build = format!("{base}-{release}");
        if release.contains('.') {
            return KernelClass::Distro {
                distro: "SUSE",
                stream: format!("sles-{}.{}-{flavour}", version.major, version.minor),
                build,
            };
        }
        let debian = os_image.starts_with("Debian")
            || (!os_image.starts_with("Ubuntu") && DEBIAN_FLAVOURS.contains(&flavour));
        if debian {
            return KernelClass::Distro {
                distro: "Debian",
                stream: format!("debian-{}.{}", version.major, version.minor),
                build,
            };
        }
        return KernelClass::Distro {
            distro: "Ubuntu",
            stream: format!("ubuntu-{}.{}-{flavour}", version.major, version.minor),
            build,
        };
    }
    KernelClass::Other("unrecognised kernel build")
}

/// Builds compare number by number (`4.18.0-348.7.1` < `4.18.0-348.20.1`).
pub fn compare_builds(a: &str, b: &str) -> Ordering {
    let nums = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(u64::MAX))
            .collect()
    };
    nums(a).cmp(&nums(b))
}

fn branch(v: Version) -> (u32, u32) {
    (v.major, v.minor)
}

/// Whether an upstream kernel `v` has `cve`, and the first fixed release of its branch, if
/// the branch got one. A branch inside the range without a stable fix never got it.
pub fn upstream_affected(cve: &KernelCve, v: Version) -> Option<Option<Version>> {
    let introduced = Version::parse(&cve.introduced)?;
    let mainline = Version::parse(&cve.fixed_mainline)?;
    if v < introduced || v >= mainline {
        return None;
    }
    let stable = cve
        .fixed_stable
        .iter()
        .filter_map(|s| Version::parse(s))
        .find(|s| branch(*s) == branch(v));
    match stable {
        Some(fixed) if v >= fixed => None,
        other => Some(other),
    }
}

/// One CVE that affects a node's kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelHit<'a> {
    pub cve: &'a KernelCve,
    /// The vendor or distro row that judged it; `None` for the upstream table.
    pub row: Option<&'a KernelBackport>,
    /// Judged on the upstream table for a vendor kernel: the vendor may have backported it.
    pub inferred: bool,
    /// The first fixed release of the node's branch (upstream), if the branch got one.
    pub branch_fix: Option<Version>,
}

impl KernelHit<'_> {
    /// Critical when it needs no privilege and is known exploited, else high; one lower when
    /// inferred from the upstream table for a vendor kernel.
    pub fn severity(&self) -> Severity {
        let s = if self.cve.privilege == Privilege::None && self.cve.kev {
            Severity::Critical
        } else {
            Severity::High
        };
        if self.inferred { lower(s) } else { s }
    }

    pub fn label(&self) -> String {
        match &self.cve.name {
            Some(n) => format!("{} ({n})", self.cve.cve),
            None => self.cve.cve.clone(),
        }
    }
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// What NODE-004 concludes about one kernel.
#[derive(Clone, Debug, PartialEq)]
pub enum KernelVerdict<'a> {
    /// Judged; the CVEs that affect it (possibly none). `partial` names the table CVEs a
    /// distro stream has no row for (those were not judged).
    Judged {
        class: KernelClass,
        hits: Vec<KernelHit<'a>>,
        partial: Vec<&'a str>,
    },
    /// Not judged, and why (the not-assessed reason).
    NotAssessed(String),
}

/// The CVEs of `data` that affect `kernel` (classified with `os_image`).
pub fn assess<'a>(data: &'a ReleaseData, kernel: &str, os_image: &str) -> KernelVerdict<'a> {
    let class = classify(kernel, os_image);
    let rows = |stream: &str| -> Vec<&'a KernelBackport> {
        data.kernel_backports
            .iter()
            .filter(|b| b.stream == stream)
            .collect()
    };
    let mut hits = Vec::new();
    let mut partial = Vec::new();
    match &class {
        KernelClass::Other(why) => {
            return KernelVerdict::NotAssessed(format!("{why}: no fix data applies"));
        }
        KernelClass::Upstream { version, .. } => {
            for cve in &data.kernel_cves {
                if let Some(branch_fix) = upstream_affected(cve, *version) {
                    hits.push(KernelHit {
                        cve,
                        row: None,
                        inferred: false,
                        branch_fix,
                    });
                }
            }
        }
        KernelClass::Vendor {
            version,
            stream,
            build,
            ..
        } => {
            let rows = rows(stream);
            for cve in &data.kernel_cves {
                if let Some(row) = rows.iter().find(|r| r.cve == cve.cve) {
                    if compare_builds(build, &row.fixed) == Ordering::Less {
                        hits.push(KernelHit {
                            cve,
                            row: Some(row),
                            inferred: false,
                            branch_fix: None,
                        });
                    }
                } else if let Some(branch_fix) = upstream_affected(cve, *version) {
                    hits.push(KernelHit {
                        cve,
                        row: None,
                        inferred: true,
                        branch_fix,
                    });
                }
            }
        }
        KernelClass::Distro { stream, build, .. } => {
            let rows = rows(stream);
            if rows.is_empty() {
                return KernelVerdict::NotAssessed(
                    "distro kernel carries backports; no fix data".to_string(),
                );
            }
            for cve in &data.kernel_cves {
                match rows.iter().find(|r| r.cve == cve.cve) {
                    Some(row) => {
                        if compare_builds(build, &row.fixed) == Ordering::Less {
                            hits.push(KernelHit {
                                cve,
                                row: Some(row),
                                inferred: false,
                                branch_fix: None,
                            });
                        }
                    }
                    None => partial.push(cve.cve.as_str()),
                }
            }
        }
    }
    KernelVerdict::Judged {
        class,
        hits,
        partial,
    }
}

#[cfg(test)]
#[path = "kernel_tests.rs"]
mod tests;
