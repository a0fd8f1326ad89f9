//! Test vectors for every class of host.md's NODE-004 table, and the upstream range logic.

use super::*;
use crate::audit::nodes::ReleaseData;

fn v(s: &str) -> Version {
    Version::parse(s).expect("version")
}

/// `(class name, stream)` for compact assertions.
fn class(kernel: &str, os: &str) -> (String, String) {
    match classify(kernel, os) {
        KernelClass::Upstream { build, .. } => ("upstream".into(), build.to_string()),
        KernelClass::Vendor { vendor, stream, .. } => (format!("vendor {vendor}"), stream),
        KernelClass::Distro { distro, stream, .. } => (format!("distro {distro}"), stream),
        KernelClass::Other(why) => ("other".into(), why.to_string()),
    }
}

fn is(kernel: &str, os: &str, want: (&str, &str)) {
    assert_eq!(
        class(kernel, os),
        (want.0.to_string(), want.1.to_string()),
        "{kernel} / {os}"
    );
}

#[test]
fn exact_upstream_kernels() {
    is("6.6.43-talos", "Talos (v1.8.0)", ("upstream", "Talos"));
    is(
        "6.6.60-flatcar",
        "Flatcar Container Linux by Kinvolk 4081.2.0 (Oklo)",
        ("upstream", "Flatcar"),
    );
    is("5.10.50", "Some Linux", ("upstream", "plain"));
    is("6.1", "", ("upstream", "plain"));
    match classify("5.10.50", "") {
        KernelClass::Upstream { version, .. } => assert_eq!(version, v("5.10.50")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn vendor_kernels_that_track_stable() {
    is(
        "5.15.154+",
        "Container-Optimized OS from Google",
        ("vendor Container-Optimized OS", "cos"),
    );
    is("6.1.100+", "", ("vendor Container-Optimized OS", "cos"));
    // Bottlerocket's kernel string is plain: only osImage tells.
    is(
        "6.1.102",
        "Bottlerocket OS 1.22.0 (aws-k8s-1.30)",
        ("vendor Bottlerocket", "bottlerocket"),
    );
    is(
        "5.10.228-219.884.amzn2.x86_64",
        "Amazon Linux 2",
        ("vendor Amazon Linux 2", "amzn2"),
    );
    is(
        "6.1.115-126.197.amzn2023.x86_64",
        "Amazon Linux 2023.6.20241111",
        ("vendor Amazon Linux 2023", "amzn2023"),
    );
    is(
        "5.15.173.1-1.cm2",
        "CBL-Mariner/Linux",
        ("vendor Azure Linux 2 (CBL-Mariner)", "cm2"),
    );
    is(
        "6.6.57.1-6.azl3",
        "Microsoft Azure Linux 3.0",
        ("vendor Azure Linux 3", "azl3"),
    );
    match classify("5.15.173.1-1.cm2", "") {
        KernelClass::Vendor { version, build, .. } => {
            assert_eq!(version, v("5.15.173"));
            assert_eq!(build, "5.15.173.1-1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn backporting_distro_kernels() {
    for flavour in ["generic", "aws", "gke", "azure"] {
        is(
            &format!("5.15.0-1057-{flavour}"),
            "Ubuntu 22.04.4 LTS",
            ("distro Ubuntu", &format!("ubuntu-5.15-{flavour}")),
        );
    }
    is(
        "5.15.0-23-generic",
        "",
        ("distro Ubuntu", "ubuntu-5.15-generic"),
    );
    for flavour in ["amd64", "cloud-amd64", "arm64"] {
        is(
            &format!("6.1.0-13-{flavour}"),
            "Debian GNU/Linux 12 (bookworm)",
            ("distro Debian", "debian-6.1"),
        );
        // Recognised by the flavour alone too.
        is(
            &format!("6.1.0-13-{flavour}"),
            "",
            ("distro Debian", "debian-6.1"),
        );
    }
    is(
        "4.18.0-348.7.1.el8_5.x86_64",
        "Red Hat Enterprise Linux 8.5 (Ootpa)",
        ("distro RHEL family", "el8_5"),
    );
    is(
        "5.14.0-503.11.1.el9_5.x86_64",
        "Rocky Linux 9.5 (Blue Onyx)",
        ("distro RHEL family", "el9_5"),
    );
    is(
        "5.14.0-503.el9.x86_64",
        "CentOS Stream 9",
        ("distro RHEL family", "el9"),
    );
    is(
        "5.15.0-209.161.7.2.el8uek.x86_64",
        "Oracle Linux Server 8.10",
        ("distro Oracle UEK", "uek-5.15"),
    );
    is(
        "5.14.21-150500.55.19-default",
        "SUSE Linux Enterprise Server 15 SP5",
        ("distro SUSE", "sles-5.14-default"),
    );
    match classify("4.18.0-348.7.1.el8_5.x86_64", "") {
        KernelClass::Distro { build, .. } => assert_eq!(build, "4.18.0-348.7.1"),
        other => panic!("{other:?}"),
    }
    match classify("5.15.0-209.161.7.2.el8uek.x86_64", "") {
        KernelClass::Distro { build, .. } => assert_eq!(build, "5.15.0-209.161.7.2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn release_candidates_and_unknown_builds_are_not_judged() {
    is("6.8.0-rc3", "", ("other", "release-candidate kernel"));
    is(
        "6.8.0-rc3-generic",
        "Ubuntu 24.04 LTS",
        ("other", "release-candidate kernel"),
    );
    is("6.6.30-custom", "", ("other", "unrecognised kernel build"));
    is(
        "",
        "",
        ("other", "the kernel version is not a version number"),
    );
    is(
        "garbage",
        "",
        ("other", "the kernel version is not a version number"),
    );
}

#[test]
fn builds_compare_number_by_number() {
    assert_eq!(
        compare_builds("4.18.0-348.7.1", "4.18.0-348.20.1"),
        Ordering::Less
    );
    assert_eq!(
        compare_builds("4.18.0-348.20.1", "4.18.0-348.20.1"),
        Ordering::Equal
    );
    assert_eq!(
        compare_builds("4.18.0-372.9.1", "4.18.0-348.20.1"),
        Ordering::Greater
    );
}

fn cve<'a>(data: &'a ReleaseData, id: &str) -> &'a KernelCve {
    data.kernel_cves.iter().find(|c| c.cve == id).expect("row")
}

#[test]
fn upstream_ranges_follow_the_stable_branches() {
    let data = ReleaseData::builtin();
    let pipe = cve(data, "CVE-2022-0847");
    // Before introduction, at or after mainline fix: not affected.
    assert_eq!(upstream_affected(pipe, v("5.4.300")), None);
    assert_eq!(upstream_affected(pipe, v("5.17.0")), None);
    // A branch with a stable fix: affected before it, with the fix named.
    assert_eq!(
        upstream_affected(pipe, v("5.10.101")),
        Some(Some(v("5.10.102")))
    );
    assert_eq!(upstream_affected(pipe, v("5.10.102")), None);
    // A branch in the range that never got the fix (5.11-5.14): affected, no branch fix.
    assert_eq!(upstream_affected(pipe, v("5.13.19")), Some(None));
    let cow = cve(data, "CVE-2016-5195");
    assert_eq!(upstream_affected(cow, v("4.4.25")), Some(Some(v("4.4.26"))));
    assert_eq!(upstream_affected(cow, v("4.4.26")), None);
}

fn hits(data: &ReleaseData, kernel: &str, os: &str) -> Vec<(String, bool, Severity)> {
    match assess(data, kernel, os) {
        KernelVerdict::Judged { hits, .. } => hits
            .iter()
            .map(|h| (h.cve.cve.clone(), h.inferred, h.severity()))
            .collect(),
        KernelVerdict::NotAssessed(why) => panic!("not assessed: {why}"),
    }
}

#[test]
fn an_old_upstream_kernel_has_every_cve_of_its_range() {
    let data = ReleaseData::builtin();
    let h = hits(data, "5.10.50-talos", "Talos (v0.12.0)");
    let ids: Vec<&str> = h.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(
        ids,
        [
            "CVE-2022-0185",
            "CVE-2022-0492",
            "CVE-2022-0847",
            "CVE-2022-2588",
            "CVE-2023-32233",
            "CVE-2024-1086"
        ]
    );
    let pipe = h
        .iter()
        .find(|(c, _, _)| c == "CVE-2022-0847")
        .expect("pipe");
    assert_eq!(pipe.2, Severity::Critical);
    let nft = h
        .iter()
        .find(|(c, _, _)| c == "CVE-2024-1086")
        .expect("nft");
    // KEV but needs a user namespace: high.
    assert_eq!(nft.2, Severity::High);
    // A current stable kernel has none.
    assert!(hits(data, "6.6.60-flatcar", "").is_empty());
}

#[test]
fn vendor_kernels_without_a_row_are_judged_one_severity_lower() {
    let data = ReleaseData::builtin();
    let h = hits(data, "5.10.93-84.183.amzn2.x86_64", "Amazon Linux 2");
    let pipe = h
        .iter()
        .find(|(c, _, _)| c == "CVE-2022-0847")
        .expect("pipe");
    assert_eq!(pipe, &("CVE-2022-0847".to_string(), true, Severity::High));
    assert!(h.iter().all(|(_, inferred, _)| *inferred));
}

#[test]
fn distro_kernels_need_a_row_for_their_stream() {
    let data = ReleaseData::builtin();
    // host.md: 4.18.0-348.7.1.el8_5 has Dirty Pipe, fixed in 348.20.1.
    match assess(data, "4.18.0-348.7.1.el8_5.x86_64", "") {
        KernelVerdict::Judged { hits, partial, .. } => {
            let ids: Vec<&str> = hits.iter().map(|h| h.cve.cve.as_str()).collect();
            assert_eq!(ids, ["CVE-2022-0847"]);
            assert_eq!(hits[0].severity(), Severity::Critical);
            assert!(hits[0].row.is_some());
            // Every other CVE of the table has no el8_5 row: named as not judged.
            assert_eq!(partial.len(), data.kernel_cves.len() - 1);
        }
        other => panic!("{other:?}"),
    }
    match assess(data, "4.18.0-348.20.1.el8_5.x86_64", "") {
        KernelVerdict::Judged { hits, .. } => assert!(hits.is_empty()),
        other => panic!("{other:?}"),
    }
    // Another stream of the same family is not compared with el8_5's builds.
    assert_eq!(
        assess(data, "4.18.0-305.3.1.el8_4.x86_64", ""),
        KernelVerdict::NotAssessed("distro kernel carries backports; no fix data".into())
    );
    // host.md: Ubuntu 22.04's 5.15.0-23 is not affected by Dirty Pipe, although 5.15.0 < 5.15.25.
    assert_eq!(
        assess(data, "5.15.0-23-generic", "Ubuntu 22.04 LTS"),
        KernelVerdict::NotAssessed("distro kernel carries backports; no fix data".into())
    );
    assert_eq!(
        assess(data, "6.8.0-rc3", ""),
        KernelVerdict::NotAssessed("release-candidate kernel: no fix data applies".into())
    );
}
