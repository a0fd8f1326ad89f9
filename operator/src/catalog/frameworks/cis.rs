//! CIS Kubernetes Benchmark v1.12.0, numbered as kube-bench's `cfg/cis-1.12` numbers it. Every
//! control is listed; those no check of kube-posture can judge (file permissions on the nodes,
//! kubelet flags, audit policy contents…) are `Manual`. Titles are the benchmark's, without its
//! "(Automated)/(Manual)" suffix. Severities of mapped controls are the highest default severity
//! of their checks; those of manual controls are our judgment of their weight.

use super::Coverage::{Full, Manual, Partial};
use super::{Control, Framework};
use crate::catalog::Severity::{Critical, High, Low, Medium};

pub static CIS: Framework = Framework {
    id: "cis-1.12",
    name: "CIS Kubernetes Benchmark",
    version: "1.12.0",
    document: "CIS Kubernetes Benchmark v1.12.0",
    url: "https://www.cisecurity.org/benchmark/kubernetes",
    controls: CONTROLS,
};

const fn row(
    id: &'static str,
    title: &'static str,
    severity: crate::catalog::Severity,
    coverage: super::Coverage,
    checks: &'static [&'static str],
) -> Control {
    // The benchmark's own number is the section to cite.
    super::row(id, title, severity, coverage, checks, id)
}

#[rustfmt::skip]
static CONTROLS: &[Control] = &[
    // 1.1 Control Plane Node Configuration Files
    row("1.1.1", "Ensure that the API server pod specification file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.2", "Ensure that the API server pod specification file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.3", "Ensure that the controller manager pod specification file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.4", "Ensure that the controller manager pod specification file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.5", "Ensure that the scheduler pod specification file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.6", "Ensure that the scheduler pod specification file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.7", "Ensure that the etcd pod specification file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.8", "Ensure that the etcd pod specification file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.9", "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.10", "Ensure that the Container Network Interface file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.11", "Ensure that the etcd data directory permissions are set to 700 or more restrictive", Medium, Manual, &[]),
    row("1.1.12", "Ensure that the etcd data directory ownership is set to etcd:etcd", Medium, Manual, &[]),
    row("1.1.13", "Ensure that the default administrative credential file permissions are set to 600", High, Manual, &[]),
    row("1.1.14", "Ensure that the default administrative credential file ownership is set to root:root", High, Manual, &[]),
    row("1.1.15", "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.16", "Ensure that the scheduler.conf file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.17", "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("1.1.18", "Ensure that the controller-manager.conf file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.19", "Ensure that the Kubernetes PKI directory and file ownership is set to root:root", Medium, Manual, &[]),
    row("1.1.20", "Ensure that the Kubernetes PKI certificate file permissions are set to 644 or more restrictive", Medium, Manual, &[]),
    row("1.1.21", "Ensure that the Kubernetes PKI key file permissions are set to 600", High, Manual, &[]),
    // 1.2 API Server
    row("1.2.1", "Ensure that the --anonymous-auth argument is set to false", High, Full, &["API-001"]),
    row("1.2.2", "Ensure that the --token-auth-file parameter is not set", High, Full, &["API-002"]),
    row("1.2.3", "Ensure that the --DenyServiceExternalIPs is set", Medium, Full, &["API-003"]),
    row("1.2.4", "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set as appropriate", High, Full, &["API-004"]),
    row("1.2.5", "Ensure that the --kubelet-certificate-authority argument is set as appropriate", High, Full, &["API-005"]),
    row("1.2.6", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", Critical, Full, &["API-006"]),
    row("1.2.7", "Ensure that the --authorization-mode argument includes Node", Medium, Full, &["API-007"]),
    row("1.2.8", "Ensure that the --authorization-mode argument includes RBAC", High, Full, &["API-008"]),
    row("1.2.9", "Ensure that the admission control plugin EventRateLimit is set", Low, Full, &["API-009"]),
    row("1.2.10", "Ensure that the admission control plugin AlwaysAdmit is not set", High, Full, &["API-010"]),
    row("1.2.11", "Ensure that the admission control plugin AlwaysPullImages is set", Low, Full, &["API-011"]),
    row("1.2.12", "Ensure that the admission control plugin ServiceAccount is set", Medium, Full, &["API-012"]),
    row("1.2.13", "Ensure that the admission control plugin NamespaceLifecycle is set", Medium, Full, &["API-013"]),
    row("1.2.14", "Ensure that the admission control plugin NodeRestriction is set", Medium, Full, &["API-014"]),
    row("1.2.15", "Ensure that the --profiling argument is set to false", Low, Full, &["API-015"]),
    row("1.2.16", "Ensure that the --audit-log-path argument is set", High, Full, &["API-016"]),
    row("1.2.17", "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate", Low, Full, &["API-017"]),
    row("1.2.18", "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate", Low, Full, &["API-018"]),
    row("1.2.19", "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate", Low, Full, &["API-019"]),
    row("1.2.20", "Ensure that the --request-timeout argument is set as appropriate", Low, Manual, &[]),
    row("1.2.21", "Ensure that the --service-account-lookup argument is set to true", Medium, Full, &["API-021"]),
    row("1.2.22", "Ensure that the --service-account-key-file argument is set as appropriate", Medium, Full, &["API-022"]),
    row("1.2.23", "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate", High, Full, &["API-023"]),
    row("1.2.24", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate", High, Full, &["API-024"]),
    row("1.2.25", "Ensure that the --client-ca-file argument is set as appropriate", High, Full, &["API-025"]),
    row("1.2.26", "Ensure that the --etcd-cafile argument is set as appropriate", High, Full, &["API-026"]),
    row("1.2.27", "Ensure that the --encryption-provider-config argument is set as appropriate", High, Full, &["API-027"]),
    // API-027 sees that a provider config is given, not which providers it lists (aescbc, kms v2 vs identity): a missing config fails the control, a present one needs review.
    row("1.2.28", "Ensure that encryption providers are appropriately configured", High, Partial, &["API-027"]),
    row("1.2.29", "Ensure that the API Server only makes use of Strong Cryptographic Ciphers", Medium, Full, &["API-029"]),
    row("1.2.30", "Ensure that the --service-account-extend-token-expiration parameter is set to false", Medium, Full, &["API-030"]),
    // 1.3 Controller Manager
    row("1.3.1", "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate", Low, Full, &["CM-001"]),
    row("1.3.2", "Ensure that the --profiling argument is set to false", Low, Full, &["CM-002"]),
    row("1.3.3", "Ensure that the --use-service-account-credentials argument is set to true", Medium, Full, &["CM-003"]),
    row("1.3.4", "Ensure that the --service-account-private-key-file argument is set as appropriate", Medium, Full, &["CM-004"]),
    row("1.3.5", "Ensure that the --root-ca-file argument is set as appropriate", Medium, Full, &["CM-005"]),
    row("1.3.6", "Ensure that the RotateKubeletServerCertificate argument is set to true", Medium, Full, &["CM-006"]),
    row("1.3.7", "Ensure that the --bind-address argument is set to 127.0.0.1", Medium, Full, &["CM-007"]),
    // 1.4 Scheduler
    row("1.4.1", "Ensure that the --profiling argument is set to false", Low, Full, &["SCH-001"]),
    row("1.4.2", "Ensure that the --bind-address argument is set to 127.0.0.1", Medium, Full, &["SCH-002"]),
    // 2 Etcd Node Configuration
    row("2.1", "Ensure that the --cert-file and --key-file arguments are set as appropriate", Critical, Full, &["ETCD-001"]),
    row("2.2", "Ensure that the --client-cert-auth argument is set to true", Critical, Full, &["ETCD-002"]),
    row("2.3", "Ensure that the --auto-tls argument is not set to true", High, Full, &["ETCD-003"]),
    row("2.4", "Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate", High, Full, &["ETCD-004"]),
    row("2.5", "Ensure that the --peer-client-cert-auth argument is set to true", High, Full, &["ETCD-005"]),
    row("2.6", "Ensure that the --peer-auto-tls argument is not set to true", Medium, Full, &["ETCD-006"]),
    // ETCD-007 compares file paths: a distinct path holding the same CA passes, so the control is only partly covered.
    row("2.7", "Ensure that a unique Certificate Authority is used for etcd", Medium, Partial, &["ETCD-007"]),
    // 3.1 Authentication and Authorization
    row("3.1.1", "Client certificate authentication should not be used for users", Medium, Manual, &[]),
    row("3.1.2", "Service account token authentication should not be used for users", Medium, Manual, &[]),
    row("3.1.3", "Bootstrap token authentication should not be used for users", Medium, Manual, &[]),
    // 3.2 Logging
    row("3.2.1", "Ensure that a minimal audit policy is created", High, Manual, &[]),
    row("3.2.2", "Ensure that the audit policy covers key security concerns", Medium, Manual, &[]),
    // 4.1 Worker Node Configuration Files
    row("4.1.1", "Ensure that the kubelet service file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("4.1.2", "Ensure that the kubelet service file ownership is set to root:root", Medium, Manual, &[]),
    row("4.1.3", "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("4.1.4", "If proxy kubeconfig file exists ensure ownership is set to root:root", Medium, Manual, &[]),
    row("4.1.5", "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive", Medium, Manual, &[]),
    row("4.1.6", "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root", Medium, Manual, &[]),
    row("4.1.7", "Ensure that the certificate authorities file permissions are set to 644 or more restrictive", Medium, Manual, &[]),
    row("4.1.8", "Ensure that the client certificate authorities file ownership is set to root:root", Medium, Manual, &[]),
    row("4.1.9", "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive", Medium, Manual, &[]),
    row("4.1.10", "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root", Medium, Manual, &[]),
    // 4.2 Kubelet. Partial: KUBELET-* read configz where a policy opts in, else the kubeadm
    // baseline or k3s overrides (what nodes were given, not always what they run): a finding
    // fails the control, its absence still wants a look at the nodes.
    row("4.2.1", "Ensure that the --anonymous-auth argument is set to false", Critical, Partial, &["KUBELET-001", "KUBELET-101"]),
    row("4.2.2", "Ensure that the --authorization-mode argument is not set to AlwaysAllow", Critical, Partial, &["KUBELET-002"]),
    row("4.2.3", "Ensure that the --client-ca-file argument is set as appropriate", Medium, Partial, &["KUBELET-003"]),
    row("4.2.4", "Verify that if defined, the --read-only-port argument is set to 0", High, Partial, &["KUBELET-004", "KUBELET-102"]),
    row("4.2.5", "Ensure that the --streaming-connection-idle-timeout argument is not set to 0", Low, Partial, &["KUBELET-005"]),
    row("4.2.6", "Ensure that the --make-iptables-util-chains argument is set to true", Low, Partial, &["KUBELET-006"]),
    row("4.2.7", "Ensure that the --hostname-override argument is not set", Low, Manual, &[]),
    row("4.2.8", "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture", Low, Manual, &[]),
    row("4.2.9", "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate", Medium, Partial, &["KUBELET-007"]),
    row("4.2.10", "Ensure that the --rotate-certificates argument is not set to false", Medium, Partial, &["KUBELET-008"]),
    row("4.2.11", "Verify that the RotateKubeletServerCertificate argument is set to true", Medium, Partial, &["KUBELET-009"]),
    row("4.2.12", "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers", Medium, Partial, &["KUBELET-010"]),
    row("4.2.13", "Ensure that a limit is set on pod PIDs", Low, Partial, &["KUBELET-011"]),
    row("4.2.14", "Ensure that the --seccomp-default parameter is set to true", Low, Partial, &["KUBELET-012"]),
    // 4.3 kube-proxy
    row("4.3.1", "Ensure that the kube-proxy metrics service is bound to localhost", Medium, Manual, &[]),
    // 5.1 RBAC and Service Accounts
    // Strict reading: every non-built-in binding to cluster-admin power fails; waive the ones that are required with a policy exception.
    row("5.1.1", "Ensure that the cluster-admin role is only used where required", Critical, Full, &["RBAC-001"]),
    row("5.1.2", "Minimize access to secrets", High, Full, &["RBAC-005"]),
    row("5.1.3", "Minimize wildcard use in Roles and ClusterRoles", High, Full, &["RBAC-004"]),
    // RBAC-007 also covers pod controllers (Deployments, Jobs…), which create pods as well.
    row("5.1.4", "Minimize access to create pods", High, Full, &["RBAC-007"]),
    // RBAC-015 finds permissions granted to default ServiceAccounts; whether pods use them is not judged.
    row("5.1.5", "Ensure that default service accounts are not actively used", Medium, Full, &["RBAC-015"]),
    // WL-010 flags mounted tokens of powerful ServiceAccounts only; a token mounted where it is not needed but grants little is not seen.
    row("5.1.6", "Ensure that Service Account Tokens are only mounted where necessary", High, Partial, &["WL-010"]),
    row("5.1.7", "Avoid use of system:masters group", High, Manual, &[]),
    row("5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster", Critical, Full, &["RBAC-008"]),
    row("5.1.9", "Minimize access to create persistent volumes", Medium, Full, &["RBAC-013"]),
    row("5.1.10", "Minimize access to the proxy sub-resource of nodes", High, Full, &["RBAC-009"]),
    row("5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects", High, Full, &["RBAC-011"]),
    row("5.1.12", "Minimize access to webhook configuration objects", High, Full, &["RBAC-012"]),
    row("5.1.13", "Minimize access to the service account token creation", High, Full, &["RBAC-010"]),
    // 5.2 Pod Security Standards
    // Pod Security Admission labels are the mechanism checked; a cluster enforcing through Kyverno or Gatekeeper fails WL-013 and should waive it.
    row("5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place", Medium, Full, &["WL-013"]),
    row("5.2.2", "Minimize the admission of privileged containers", Critical, Full, &["WL-001"]),
    // WL-002 reports the three host namespaces in one finding: its evidence line says which.
    row("5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace", High, Full, &["WL-002:hostPID"]),
    row("5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace", High, Full, &["WL-002:hostIPC"]),
    row("5.2.5", "Minimize the admission of containers wishing to share the host network namespace", High, Full, &["WL-002:hostNetwork"]),
    row("5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation", Low, Full, &["WL-006"]),
    row("5.2.7", "Minimize the admission of root containers", Medium, Full, &["WL-005"]),
    // WL-007 fails containers that do not drop ALL, which includes NET_RAW; dropping only NET_RAW is compliant with 5.2.8 yet fails WL-007.
    row("5.2.8", "Minimize the admission of containers with the NET_RAW capability", Low, Partial, &["WL-007"]),
    // WL-004 fails capabilities outside the Pod Security baseline set; CIS asks to minimise any added capability, which needs review.
    row("5.2.9", "Minimize the admission of containers with capabilities assigned", High, Partial, &["WL-004"]),
    row("5.2.10", "Minimize the admission of Windows HostProcess containers", High, Manual, &[]),
    // WL-003 and ETCD-009 fail sensitive host paths only; other hostPath volumes need review.
    row("5.2.11", "Minimize the admission of HostPath volumes", Critical, Partial, &["WL-003", "ETCD-009"]),
    row("5.2.12", "Minimize the admission of containers which use HostPorts", Medium, Full, &["WL-011"]),
    // 5.3 Network Policies and CNI
    row("5.3.1", "Ensure that the CNI in use supports NetworkPolicies", High, Manual, &[]),
    row("5.3.2", "Ensure that all Namespaces have NetworkPolicies defined", Medium, Manual, &[]),
    // 5.4 Secrets Management
    row("5.4.1", "Prefer using Secrets as files over Secrets as environment variables", Medium, Manual, &[]),
    row("5.4.2", "Consider external secret storage", Medium, Manual, &[]),
    // 5.5 Extensible Admission Control
    row("5.5.1", "Configure Image Provenance using ImagePolicyWebhook admission controller", Medium, Manual, &[]),
    // 5.6 General Policies
    row("5.6.1", "Create administrative boundaries between resources using namespaces", Low, Manual, &[]),
    // RuntimeDefault or Localhost counts as the docker/default profile the benchmark names; an explicit Unconfined (WL-012) fails it too.
    row("5.6.2", "Ensure that the seccomp profile is set to docker/default in your Pod definitions", Medium, Full, &["WL-008", "WL-012:seccomp"]),
    // The restricted security-context checks; what a suitable SecurityContext is for an application needs review.
    row("5.6.3", "Apply SecurityContext to your Pods and Containers", Medium, Partial, &["WL-005", "WL-006", "WL-007", "WL-009"]),
    row("5.6.4", "The default namespace should not be used", Low, Manual, &[]),
];
