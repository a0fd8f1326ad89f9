//! The Pod Security Standards, baseline and restricted, with their control names (kebab-case)
//! as IDs. Restricted holds every baseline control; where it tightens one (Seccomp,
//! Capabilities) its row keeps the baseline's ID and maps the checks of both levels, so a
//! restricted pod must satisfy both. Severities are our judgment of each control's weight.

use super::Coverage::{Full, Manual, Partial};
use super::{Control, Framework, row};
use crate::catalog::Severity::{Critical, High, Medium};

const DOCUMENT: &str = "Kubernetes Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards)";
const URL: &str = "https://kubernetes.io/docs/concepts/security/pod-security-standards/";

pub static BASELINE: Framework = Framework {
    id: "pss-baseline",
    name: "Pod Security Standards: Baseline",
    version: "1.34",
    document: DOCUMENT,
    url: URL,
    controls: BASELINE_CONTROLS,
};

pub static RESTRICTED: Framework = Framework {
    id: "pss-restricted",
    name: "Pod Security Standards: Restricted",
    version: "1.34",
    document: DOCUMENT,
    url: URL,
    controls: RESTRICTED_CONTROLS,
};

#[rustfmt::skip]
const HOST_PROCESS: Control = row("host-process", "Windows HostProcess containers are not allowed", High, Manual, &[], "Baseline: HostProcess");
#[rustfmt::skip]
const HOST_NAMESPACES: Control = row("host-namespaces", "Sharing the host namespaces (hostNetwork, hostPID, hostIPC) is not allowed", High, Full, &["WL-002"], "Baseline: Host Namespaces");
#[rustfmt::skip]
const PRIVILEGED: Control = row("privileged-containers", "Privileged Pods disable most security mechanisms and are not allowed", Critical, Full, &["WL-001"], "Baseline: Privileged Containers");
// WL-004's allowed set is exactly the baseline's list of capabilities that may be added.
#[rustfmt::skip]
const CAPABILITIES: Control = row("capabilities", "Adding capabilities beyond the default set is not allowed", High, Full, &["WL-004"], "Baseline: Capabilities");
// The baseline forbids every hostPath volume; WL-003 and ETCD-009 fail only sensitive paths,
// so without a finding the control still needs review.
#[rustfmt::skip]
const HOSTPATH: Control = row("hostpath-volumes", "HostPath volumes are not allowed", Critical, Partial, &["WL-003", "ETCD-009"], "Baseline: HostPath Volumes");
// Baseline allows a known list of host ports; WL-011 fails any, the strict reading.
#[rustfmt::skip]
const HOST_PORTS: Control = row("host-ports", "HostPorts are disallowed, or limited to a known list", Medium, Full, &["WL-011"], "Baseline: Host Ports");
// WL-012 reports every baseline escape hatch in one finding; its evidence line names which.
#[rustfmt::skip]
const APPARMOR: Control = row("apparmor", "The default AppArmor profile may not be overridden or disabled", Medium, Full, &["WL-012:apparmor"], "Baseline: AppArmor");
#[rustfmt::skip]
const SELINUX: Control = row("selinux", "Setting a custom SELinux user or role is not allowed", Medium, Manual, &[], "Baseline: SELinux");
#[rustfmt::skip]
const PROC_MOUNT: Control = row("proc-mount-type", "The default /proc masks are required", Medium, Full, &["WL-012:procMount"], "Baseline: /proc Mount Type");
#[rustfmt::skip]
const SECCOMP_BASELINE: Control = row("seccomp", "The seccomp profile must not be explicitly set to Unconfined", Medium, Full, &["WL-012:seccomp"], "Baseline: Seccomp");
#[rustfmt::skip]
const SYSCTLS: Control = row("sysctls", "Sysctls outside the safe subset are not allowed", Medium, Full, &["WL-012:sysctl"], "Baseline: Sysctls");

#[rustfmt::skip]
static BASELINE_CONTROLS: &[Control] = &[
    HOST_PROCESS,
    HOST_NAMESPACES,
    PRIVILEGED,
    CAPABILITIES,
    HOSTPATH,
    HOST_PORTS,
    APPARMOR,
    SELINUX,
    PROC_MOUNT,
    SECCOMP_BASELINE,
    SYSCTLS,
];

#[rustfmt::skip]
static RESTRICTED_CONTROLS: &[Control] = &[
    HOST_PROCESS,
    HOST_NAMESPACES,
    PRIVILEGED,
    // Restricted: drop ALL (WL-007) and add nothing but NET_BIND_SERVICE; WL-004 still allows
    // the baseline's set, so only a failure is conclusive.
    row("capabilities", "Containers must drop ALL capabilities and may add back only NET_BIND_SERVICE", High, Partial, &["WL-004", "WL-007"], "Baseline: Capabilities; Restricted: Capabilities (v1.22+)"),
    HOSTPATH,
    HOST_PORTS,
    APPARMOR,
    SELINUX,
    PROC_MOUNT,
    row("seccomp", "The seccomp profile must be RuntimeDefault or Localhost", Medium, Full, &["WL-008", "WL-012:seccomp"], "Baseline: Seccomp; Restricted: Seccomp (v1.19+)"),
    SYSCTLS,
    // Restricted allows only listed volume types; the hostPath checks see the riskiest
    // violations only.
    row("volume-types", "Only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes are allowed", Medium, Partial, &["WL-003", "ETCD-009"], "Restricted: Volume Types"),
    row("privilege-escalation", "Privilege escalation (allowPrivilegeEscalation) is not allowed", Medium, Full, &["WL-006"], "Restricted: Privilege Escalation (v1.8+)"),
    // WL-005 judges runAsNonRoot and runAsUser: 0 together, so it decides both controls.
    row("running-as-non-root", "Containers must be required to run as non-root users", Medium, Full, &["WL-005"], "Restricted: Running as Non-root"),
    row("running-as-non-root-user", "Containers must not set runAsUser to 0", Medium, Full, &["WL-005"], "Restricted: Running as Non-root user (v1.23+)"),
];
