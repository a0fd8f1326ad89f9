//! NODE-005: which operating-system release an `osImage` (the OS's `PRETTY_NAME`) names, and
//! where the audit day falls in its support (host.md, CheckId::Node005).

use super::data::{OsRelease, ReleaseData};
use jiff::civil::Date;

/// An operating-system release as the end-of-life table keys it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsId {
    /// `ubuntu`, `debian`, `rhel`, `rocky`, `almalinux`, `oracle-linux`, `centos`,
    /// `centos-stream`, `amazon-linux`, `sles`, `cbl-mariner`, `azure-linux`, `flatcar`,
    /// `windows-server`.
    pub os: &'static str,
    /// `18.04`, `12`, `8`, `15 SP5`, `2019`.
    pub version: String,
}

/// The first whitespace-separated word after `prefix` that starts with a digit.
fn number_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(prefix)?;
    rest.split_whitespace()
        .next()
        .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
}

/// `8.6` → `8`.
fn major(v: &str) -> String {
    v.split('.').next().unwrap_or(v).to_string()
}

/// Parse `osImage`; `Err` says why the release cannot be named (an image without published
/// per-version dates, or an unknown string).
pub fn parse(os_image: &str) -> Result<OsId, String> {
    let s = os_image.trim();
    let id = |os: &'static str, version: String| Ok(OsId { os, version });
    if let Some(v) = number_after(s, "Ubuntu ") {
        // `18.04.6` is a point release of 18.04.
        let mut parts = v.split('.');
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            return Err(format!("unrecognised Ubuntu release {v:?}"));
        };
        return id("ubuntu", format!("{a}.{b}"));
    }
    if let Some(v) = number_after(s, "Debian GNU/Linux ") {
        return id("debian", major(v));
    }
    if let Some(v) = number_after(s, "Red Hat Enterprise Linux CoreOS ") {
        // RHCOS follows its OpenShift release, not a RHEL lifecycle of its own.
        return Err(format!(
            "Red Hat Enterprise Linux CoreOS {v} is supported with its OpenShift release: no date of its own"
        ));
    }
    // RHEL's minor releases share the major release's lifecycle (EUS aside).
    if let Some(v) = number_after(s, "Red Hat Enterprise Linux ")
        .or_else(|| number_after(s, "Red Hat Enterprise Linux Server release "))
    {
        return id("rhel", major(v));
    }
    if let Some(v) = number_after(s, "Rocky Linux ") {
        return id("rocky", major(v));
    }
    if let Some(v) = number_after(s, "AlmaLinux ") {
        return id("almalinux", major(v));
    }
    if let Some(v) = number_after(s, "Oracle Linux Server ") {
        return id("oracle-linux", major(v));
    }
    if let Some(v) = number_after(s, "CentOS Linux ") {
        return id("centos", major(v));
    }
    if let Some(v) = number_after(s, "CentOS Stream ") {
        return id("centos-stream", major(v));
    }
    if let Some(v) = number_after(s, "Amazon Linux ") {
        // `Amazon Linux 2023.6.20241111`: the release is the year.
        return id("amazon-linux", major(v));
    }
    if let Some(rest) = s
        .strip_prefix("SUSE Linux Enterprise Server ")
        .or_else(|| s.strip_prefix("SLES "))
    {
        // `15 SP5`, `15-SP5`, `15.5`.
        let rest = rest.replace('-', " ");
        let mut words = rest.split_whitespace();
        let Some(first) = words.next() else {
            return Err("unrecognised SUSE release".to_string());
        };
        let (major_v, sp) = match first.split_once('.') {
            Some((m, sp)) => (m.to_string(), Some(sp.to_string())),
            None => (
                first.to_string(),
                words
                    .next()
                    .and_then(|w| w.strip_prefix("SP"))
                    .map(str::to_string),
            ),
        };
        return id(
            "sles",
            match sp.filter(|sp| sp != "0") {
                Some(sp) => format!("{major_v} SP{sp}"),
                None => major_v,
            },
        );
    }
    if s.starts_with("CBL-Mariner") {
        // AKS nodes say `CBL-Mariner/Linux` without the release; 2.0 ended last, so a date
        // that has passed for 2.0 has passed for every CBL-Mariner.
        return id("cbl-mariner", "2.0".to_string());
    }
    if let Some(v) = number_after(s, "Microsoft Azure Linux ") {
        return id("azure-linux", v.to_string());
    }
    if let Some(rest) = s.strip_prefix("Flatcar Container Linux by Kinvolk ") {
        let v = rest.split_whitespace().next().unwrap_or("");
        return id("flatcar", major(v));
    }
    if let Some(v) = number_after(s, "Windows Server ") {
        return id("windows-server", v.to_string());
    }
    for (prefix, name) in [
        ("Container-Optimized OS", "Container-Optimized OS"),
        ("Bottlerocket", "Bottlerocket"),
        ("Talos", "Talos"),
    ] {
        if s.starts_with(prefix) {
            return Err(format!(
                "{name} publishes no end-of-life date per version (its releases follow the platform's)"
            ));
        }
    }
    Err("unrecognised osImage".to_string())
}

/// Where the audit day falls in a release's support.
#[derive(Clone, Debug, PartialEq)]
pub enum Support<'a> {
    Supported,
    /// Past standard support, inside the paid extended window.
    Extended(&'a OsRelease, Date),
    /// Past every support.
    Ended(&'a OsRelease, Date),
}

/// The row of `id`, or why there is none.
pub fn row<'a>(data: &'a ReleaseData, id: &OsId) -> Option<&'a OsRelease> {
    data.operating_systems
        .iter()
        .find(|r| r.os == id.os && r.version == id.version)
}

/// The table's dates are the last day of support: a node is past it the day after.
pub fn support(row: &OsRelease, today: Date) -> Support<'_> {
    let date = |d: &str| d.parse::<Date>().ok();
    let Some(standard) = date(&row.standard_end) else {
        return Support::Supported;
    };
    if today <= standard {
        return Support::Supported;
    }
    match row.extended_end.as_deref().and_then(date) {
        Some(extended) if today <= extended => Support::Extended(row, extended),
        Some(extended) => Support::Ended(row, extended),
        None => Support::Ended(row, standard),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String) {
        match parse(s) {
            Ok(id) => (id.os.to_string(), id.version),
            Err(e) => ("-".to_string(), e),
        }
    }

    fn ok(s: &str, os: &str, version: &str) {
        assert_eq!(p(s), (os.to_string(), version.to_string()), "{s}");
    }

    #[test]
    fn pretty_names_of_each_family() {
        ok("Ubuntu 18.04.6 LTS", "ubuntu", "18.04");
        ok("Ubuntu 22.04 LTS", "ubuntu", "22.04");
        ok("Debian GNU/Linux 12 (bookworm)", "debian", "12");
        ok("Red Hat Enterprise Linux 8.6 (Ootpa)", "rhel", "8");
        ok("Rocky Linux 9.3 (Blue Onyx)", "rocky", "9");
        ok("AlmaLinux 8.9 (Midnight Oncilla)", "almalinux", "8");
        ok("Oracle Linux Server 7.9", "oracle-linux", "7");
        ok("CentOS Linux 7 (Core)", "centos", "7");
        ok("CentOS Stream 9", "centos-stream", "9");
        ok("Amazon Linux 2", "amazon-linux", "2");
        ok("Amazon Linux 2023.6.20241111", "amazon-linux", "2023");
        ok("SUSE Linux Enterprise Server 15 SP5", "sles", "15 SP5");
        ok("SUSE Linux Enterprise Server 12 SP5", "sles", "12 SP5");
        ok("CBL-Mariner/Linux", "cbl-mariner", "2.0");
        ok("Microsoft Azure Linux 3.0", "azure-linux", "3.0");
        ok(
            "Flatcar Container Linux by Kinvolk 3975.2.0 (Oklo)",
            "flatcar",
            "3975",
        );
        ok("Windows Server 2019 Datacenter", "windows-server", "2019");
    }

    #[test]
    fn images_without_dates_are_not_parsed() {
        for s in [
            "Container-Optimized OS from Google",
            "Bottlerocket OS 1.22.0 (aws-k8s-1.30)",
            "Talos (v1.8.0)",
            "Red Hat Enterprise Linux CoreOS 415.92.202402201450-0 (Plow)",
            "Some Linux",
            "",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    fn day(s: &str) -> Date {
        s.parse().expect("date")
    }

    #[test]
    fn host_md_examples() {
        let data = ReleaseData::builtin();
        let today = day("2026-12-05");
        let centos = row(data, &parse("CentOS Linux 7 (Core)").expect("id")).expect("row");
        assert_eq!(
            support(centos, today),
            Support::Ended(centos, day("2024-06-30"))
        );
        let ubuntu = row(data, &parse("Ubuntu 18.04.6 LTS").expect("id")).expect("row");
        assert_eq!(ubuntu.standard_end, "2023-05-31");
        assert!(matches!(support(ubuntu, today), Support::Extended(..)));
        // The end date is the last supported day.
        assert_eq!(support(centos, day("2024-06-30")), Support::Supported);
        assert!(matches!(
            support(centos, day("2024-07-01")),
            Support::Ended(..)
        ));
        // Past the end of ESM too: ended.
        assert!(matches!(
            support(ubuntu, day("2028-05-01")),
            Support::Ended(..)
        ));
    }
}
