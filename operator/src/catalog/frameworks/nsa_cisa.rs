//! The NSA/CISA Kubernetes Hardening Guide v1.2 (August 2022). The guide has no numbered
//! controls: each row is one recommendation of a section, with an ID naming the section
//! (`pod-`, `net-`, `auth-`, `log-`, `upgrade-`) and the section and sub-section as its
//! citation. Severities are our judgment of each recommendation's weight.

use super::Coverage::{Full, Manual, Partial};
use super::{Control, Framework, row};
use crate::catalog::Severity::{Critical, High, Low, Medium};

pub static NSA_CISA: Framework = Framework {
    id: "nsa-cisa-1.2",
    name: "NSA/CISA Kubernetes Hardening Guide",
    version: "1.2",
    document: "NSA/CISA Kubernetes Hardening Guide v1.2 (August 2022)",
    url: "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF",
    controls: CONTROLS,
};

#[rustfmt::skip]
static CONTROLS: &[Control] = &[
    // Kubernetes Pod security
    row("pod-non-root", "Run containers and images as non-root users", Medium, Full, &["WL-005", "IMG-001"], "Kubernetes Pod security: Non-root containers and \"rootless\" container engines"),
    row("pod-immutable-fs", "Use immutable (read-only) container file systems", Low, Full, &["WL-009"], "Kubernetes Pod security: Immutable container file systems"),
    // Image scanning and signing are outside kube-posture: its checks only see root images and
    // mutable tags.
    row("pod-secure-images", "Build secure container images: scanned, signed, minimal, pinned", Medium, Partial, &["IMG-001", "IMG-002"], "Kubernetes Pod security: Building secure container images"),
    // As CIS 5.2.1: Pod Security Admission labels are the mechanism kube-posture reads.
    row("pod-security-enforcement", "Enforce Pod security with an admission controller (Pod Security Admission or a policy engine)", Medium, Full, &["WL-013"], "Kubernetes Pod security: Pod security enforcement"),
    // The settings the guide's Pod security enforcement lists: privileged, host namespaces,
    // hostPath, capabilities, privilege escalation, seccomp/AppArmor.
    row("pod-privileges", "Deny privileged containers, host namespaces, host paths, added capabilities and privilege escalation", Critical, Full, &[ "WL-001", "WL-002", "WL-003", "WL-004", "WL-006", "WL-007", "WL-008", "WL-011", "WL-012", "ETCD-009", ], "Kubernetes Pod security: Pod security enforcement"),
    // WL-010 sees tokens of powerful ServiceAccounts only; a token mounted where it is not
    // needed but grants little is not reported.
    row("pod-service-account-tokens", "Do not mount ServiceAccount tokens into Pods that do not need them", High, Partial, &["WL-010", "RBAC-015"], "Kubernetes Pod security: Protecting Pod service account tokens"),
    row("pod-hardened-runtime", "Harden container environments with sandboxed runtimes (hypervisor or kernel isolation)", Medium, Manual, &[], "Kubernetes Pod security: Hardening container environments"),
    // Network separation and hardening
    row("net-namespaces", "Separate resources and teams with namespaces", Low, Manual, &[], "Network separation and hardening: Namespaces"),
    row("net-network-policies", "Restrict Pod traffic with default-deny NetworkPolicies", High, Manual, &[], "Network separation and hardening: Network policies"),
    row("net-resource-policies", "Limit resources with LimitRanges, ResourceQuotas and process ID limits", Medium, Manual, &[], "Network separation and hardening: Resource policies"),
    row("net-control-plane", "Harden the control plane: authorization, no insecure port, components bound to loopback, no profiling", Critical, Full, &[ "API-006", "API-031", "API-015", "CM-002", "CM-007", "SCH-001", "SCH-002", "API-033", ], "Network separation and hardening: Control plane hardening"),
    row("net-etcd", "Protect etcd: TLS with client certificates, reachable only by the API server", Critical, Full, &[ "ETCD-001", "ETCD-002", "ETCD-003", "ETCD-004", "ETCD-005", "ETCD-006", "ETCD-007", "ETCD-008", "ETCD-009", "API-023", "API-026", ], "Network separation and hardening: Control plane hardening: Etcd"),
    row("net-kubeconfig", "Protect kubeconfig files on the nodes", Medium, Manual, &[], "Network separation and hardening: Control plane hardening: Kubeconfig files"),
    row("net-worker-segmentation", "Segment worker nodes from the control plane and the rest of the network", Medium, Manual, &[], "Network separation and hardening: Worker node segmentation"),
    // TLS between components is what the flags show; traffic between applications (a service
    // mesh) is not seen, so no finding still needs review.
    row("net-encryption", "Encrypt traffic between components with TLS", High, Partial, &[ "API-004", "API-005", "API-024", "API-025", "API-029", "API-032", "ETCD-001", "ETCD-004", ], "Network separation and hardening: Encryption"),
    // As CIS 1.2.28: API-027 sees that a provider configuration is given, not what it holds.
    row("net-secrets", "Encrypt Secrets at rest (encryption provider configuration, KMS)", High, Partial, &["API-027"], "Network separation and hardening: Secrets"),
    row("net-cloud-metadata", "Block Pods from the cloud provider's metadata service", High, Manual, &[], "Network separation and hardening: Protecting sensitive cloud infrastructure"),
    // Authentication and authorization
    row("auth-authentication", "Require authentication: no anonymous requests, no static token files", Critical, Full, &["API-001", "API-002", "API-033", "RBAC-002"], "Authentication and authorization: Authentication"),
    row("auth-rbac", "Authorize with RBAC (and Node) and grant least privilege", Critical, Full, &[ "API-006", "API-007", "API-008", "RBAC-001", "RBAC-003", "RBAC-004", "RBAC-005", "RBAC-006", "RBAC-007", "RBAC-008", "RBAC-009", "RBAC-010", "RBAC-011", "RBAC-012", "RBAC-013", "RBAC-014", "RBAC-015", "RBAC-016", "RBAC-017", "RBAC-030", ], "Authentication and authorization: Role-based access control"),
    // Audit logging and threat detection
    // The flags show that the API server audits to a file and keeps it; what the audit
    // policy records needs review.
    row("log-audit", "Enable Kubernetes audit logging and retain the logs", High, Partial, &["API-016", "API-017", "API-018", "API-019"], "Audit logging and threat detection: Kubernetes native audit logging configuration"),
    row("log-node-container", "Collect worker node and container logs", Medium, Manual, &[], "Audit logging and threat detection: Worker node and container logging"),
    row("log-seccomp-audit", "Log system calls with seccomp in audit mode", Low, Manual, &[], "Audit logging and threat detection: Seccomp: audit mode"),
    // The required DaemonSets of a policy are the detection agents it expects on every node;
    // whether they alert on the right things needs review.
    row("log-threat-detection", "Run threat detection and alerting on every node", High, Partial, &["DS-001", "DS-002", "DS-003", "DS-004"], "Audit logging and threat detection: Threat Detection"),
    // Upgrading and application security practices
    // Node and runtime versions are what kube-posture reads; application patching is not.
    row("upgrade-patching", "Apply security patches and upgrades promptly; run supported versions", High, Partial, &["NODE-001", "NODE-002", "NODE-003"], "Upgrading and application security practices"),
];
