//! What the flag parser must know of each component's flags: which are booleans, and which
//! pflag string slices add up across occurrences.

use super::Component;

/// Boolean flags: a bare `--flag` means true and never consumes the next argument, so
/// `--profiling false` is `true` followed by a stray argument. Every boolean flag the
/// components accept is listed, not only those the checks read: one missing from here would
/// swallow the argument after it.
const KUBE_COMMON_BOOLS: &[&str] = &[
    "add-dir-header",
    "alsologtostderr",
    "authentication-skip-lookup",
    "authentication-tolerate-lookup-failure",
    "contention-profiling",
    "disable-http2-serving",
    "help",
    "leader-elect",
    "log-json-split-stream",
    "log-text-split-stream",
    "logtostderr",
    "one-output",
    "permit-address-sharing",
    "permit-port-sharing",
    "profiling",
    "skip-headers",
    "skip-log-headers",
    "version",
];

const APISERVER_BOOLS: &[&str] = &[
    "aggregator-reject-forwarding-redirect",
    "allow-privileged",
    "anonymous-auth",
    "audit-log-batch-throttle-enable",
    "audit-log-compress",
    "audit-log-truncate-enabled",
    "audit-webhook-batch-throttle-enable",
    "audit-webhook-truncate-enabled",
    "enable-aggregator-routing",
    "enable-bootstrap-token-auth",
    "enable-garbage-collector",
    "enable-logs-handler",
    "enable-priority-and-fairness",
    "enable-swagger-ui",
    "encryption-provider-config-automatic-reload",
    "kubelet-https",
    "service-account-extend-token-expiration",
    "service-account-lookup",
    "shutdown-send-retry-after",
    "watch-cache",
];

const CONTROLLER_MANAGER_BOOLS: &[&str] = &[
    "allocate-node-cidrs",
    "configure-cloud-routes",
    "disable-attach-detach-reconcile-sync",
    "disable-force-detach-on-timeout",
    "enable-dynamic-provisioning",
    "enable-garbage-collector",
    "enable-hostpath-provisioner",
    "enable-leader-migration",
    "enable-taint-manager",
    "use-service-account-credentials",
];

const ETCD_BOOLS: &[&str] = &[
    "auto-tls",
    "client-cert-auth",
    "debug",
    "enable-grpc-gateway",
    "enable-log-rotation",
    "enable-pprof",
    "enable-v2",
    "experimental-compact-hash-check-enabled",
    "experimental-enable-distributed-tracing",
    "experimental-enable-lease-checkpoint",
    "experimental-enable-lease-checkpoint-persist",
    "experimental-initial-corrupt-check",
    "experimental-memory-mlock",
    "experimental-peer-skip-client-san-verification",
    "experimental-stop-grpc-service-on-defrag",
    "experimental-txn-mode-write-with-shared-buffer",
    "force-new-cluster",
    "initial-corrupt-check",
    "peer-auto-tls",
    "peer-client-cert-auth",
    "pre-vote",
    "socket-reuse-address",
    "socket-reuse-port",
    "strict-reconfig-check",
    "unsafe-no-fsync",
    "version",
];

/// pflag's string-slice flags append on every occurrence after the first instead of replacing
/// (`--authorization-mode=AlwaysAllow --authorization-mode=Node,RBAC` runs AlwaysAllow first):
/// taking only the last occurrence would hide the AlwaysAllow.
pub const KUBE_ACCUMULATING: &[&str] = &[
    "admission-control",
    "authorization-mode",
    "disable-admission-plugins",
    "enable-admission-plugins",
    "tls-cipher-suites",
];

pub fn is_bool(component: Component, name: &str) -> bool {
    match component {
        Component::Etcd => ETCD_BOOLS.contains(&name),
        Component::ApiServer => {
            APISERVER_BOOLS.contains(&name) || KUBE_COMMON_BOOLS.contains(&name)
        }
        Component::ControllerManager => {
            CONTROLLER_MANAGER_BOOLS.contains(&name) || KUBE_COMMON_BOOLS.contains(&name)
        }
        Component::Scheduler => KUBE_COMMON_BOOLS.contains(&name),
    }
}
