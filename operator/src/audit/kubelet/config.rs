//! The kubelet configuration as KUBELET-001…014 read it: the fields they need, each an
//! `Option` so that "absent" stays distinct from a value until the source's default rule is
//! applied ([`KubeletConfig::with_defaults`]). Parsed from a KubeletConfiguration document
//! (configz, the kubeadm ConfigMap) or from kubelet flags (k3s/RKE2 `--kubelet-arg`).

use serde::Deserialize;
use std::collections::BTreeMap;

/// The fields the checks read (KubeletConfiguration `kubelet.config.k8s.io/v1beta1` names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeletConfig {
    /// `authentication.anonymous.enabled` (`--anonymous-auth`).
    pub anonymous_auth: Option<bool>,
    /// `authentication.webhook.enabled` (`--authentication-token-webhook`).
    pub webhook_authn: Option<bool>,
    /// `authentication.x509.clientCAFile` (`--client-ca-file`).
    pub client_ca_file: Option<String>,
    /// `authorization.mode` (`--authorization-mode`).
    pub authorization_mode: Option<String>,
    /// `readOnlyPort` (`--read-only-port`).
    pub read_only_port: Option<i64>,
    /// `streamingConnectionIdleTimeout`, a Go duration.
    pub streaming_connection_idle_timeout: Option<String>,
    /// `makeIPTablesUtilChains`.
    pub make_iptables_util_chains: Option<bool>,
    pub tls_cert_file: Option<String>,
    pub tls_private_key_file: Option<String>,
    /// `serverTLSBootstrap` (`--rotate-server-certificates`).
    pub server_tls_bootstrap: Option<bool>,
    pub rotate_certificates: Option<bool>,
    /// `featureGates`: the gates set explicitly (an absent gate has its release default).
    pub feature_gates: Option<BTreeMap<String, bool>>,
    /// `tlsCipherSuites`: empty means Go's default suites.
    pub tls_cipher_suites: Option<Vec<String>>,
    /// `tlsMinVersion`: empty means Go's default.
    pub tls_min_version: Option<String>,
    /// `podPidsLimit` (`--pod-max-pids`).
    pub pod_pids_limit: Option<i64>,
    pub seccomp_default: Option<bool>,
    pub protect_kernel_defaults: Option<bool>,
    pub enable_system_log_query: Option<bool>,
}

/// How the fields a source leaves out are read (host.md, "Defaults differ by how the kubelet
/// was configured").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defaults {
    /// A KubeletConfiguration file (the kubeadm ConfigMap): the v1beta1 defaults,
    /// `SetDefaults_KubeletConfiguration` in kubernetes/kubernetes
    /// `pkg/kubelet/apis/config/v1beta1/defaults.go` (anonymous off, webhook authentication on,
    /// `Webhook` authorization, no read-only port, a 4h streaming timeout, iptables util
    /// chains on, `podPidsLimit` -1; rotateCertificates, seccompDefault,
    /// protectKernelDefaults and enableSystemLogQuery are left false).
    ConfigFile,
    /// The `configz` document, serialised from the running configuration: a key that is
    /// absent has the Go zero value (host.md).
    GoZero,
    /// A kubelet started from flags alone: the config-file defaults overwritten by the legacy
    /// flag defaults (`applyLegacyDefaults` in `cmd/kubelet/app/options/options.go`):
    /// anonymous on, webhook authentication off, `AlwaysAllow`, read-only port 10255.
    FlagsOnly,
    /// Overrides only (k3s/RKE2 `--kubelet-arg`): what they do not set stays unknown.
    Unknown,
}

impl KubeletConfig {
    /// Fill the absent fields by `d`'s rule.
    pub fn with_defaults(&self, d: Defaults) -> KubeletConfig {
        let base = match d {
            Defaults::Unknown => return self.clone(),
            Defaults::ConfigFile => config_file_defaults(),
            Defaults::GoZero => KubeletConfig {
                anonymous_auth: Some(false),
                webhook_authn: Some(false),
                client_ca_file: Some(String::new()),
                authorization_mode: Some(String::new()),
                read_only_port: Some(0),
                streaming_connection_idle_timeout: Some("0s".into()),
                make_iptables_util_chains: Some(false),
                tls_cert_file: Some(String::new()),
                tls_private_key_file: Some(String::new()),
                server_tls_bootstrap: Some(false),
                rotate_certificates: Some(false),
                feature_gates: Some(BTreeMap::new()),
                tls_cipher_suites: Some(Vec::new()),
                tls_min_version: Some(String::new()),
                pod_pids_limit: Some(0),
                seccomp_default: Some(false),
                protect_kernel_defaults: Some(false),
                enable_system_log_query: Some(false),
            },
            Defaults::FlagsOnly => KubeletConfig {
                anonymous_auth: Some(true),
                webhook_authn: Some(false),
                authorization_mode: Some("AlwaysAllow".into()),
                read_only_port: Some(10255),
                ..config_file_defaults()
            },
        };
        let mut s = self.clone();
        if d == Defaults::ConfigFile {
            // `SetDefaults_KubeletConfiguration` replaces a zero duration read from the file
            // with the default: kubeadm writes `streamingConnectionIdleTimeout: 0s` and the
            // kubelet runs with 4h.
            s.streaming_connection_idle_timeout = s
                .streaming_connection_idle_timeout
                .filter(|t| !is_zero_duration(t));
        }
        KubeletConfig {
            anonymous_auth: s.anonymous_auth.or(base.anonymous_auth),
            webhook_authn: s.webhook_authn.or(base.webhook_authn),
            client_ca_file: s.client_ca_file.or(base.client_ca_file),
            authorization_mode: s.authorization_mode.or(base.authorization_mode),
            read_only_port: s.read_only_port.or(base.read_only_port),
            streaming_connection_idle_timeout: s
                .streaming_connection_idle_timeout
                .or(base.streaming_connection_idle_timeout),
            make_iptables_util_chains: s
                .make_iptables_util_chains
                .or(base.make_iptables_util_chains),
            tls_cert_file: s.tls_cert_file.or(base.tls_cert_file),
            tls_private_key_file: s.tls_private_key_file.or(base.tls_private_key_file),
            server_tls_bootstrap: s.server_tls_bootstrap.or(base.server_tls_bootstrap),
            rotate_certificates: s.rotate_certificates.or(base.rotate_certificates),
            feature_gates: s.feature_gates.or(base.feature_gates),
            tls_cipher_suites: s.tls_cipher_suites.or(base.tls_cipher_suites),
            tls_min_version: s.tls_min_version.or(base.tls_min_version),
            pod_pids_limit: s.pod_pids_limit.or(base.pod_pids_limit),
            seccomp_default: s.seccomp_default.or(base.seccomp_default),
            protect_kernel_defaults: s.protect_kernel_defaults.or(base.protect_kernel_defaults),
            enable_system_log_query: s.enable_system_log_query.or(base.enable_system_log_query),
        }
    }

    /// The fields of a KubeletConfiguration document (YAML or JSON already parsed). A field
    /// of the wrong type makes the whole document unreadable: guessing would be a silent pass.
    pub fn from_document(doc: &serde_json::Value) -> Result<KubeletConfig, String> {
        let d = Doc::deserialize(doc).map_err(|e| e.to_string())?;
        let authn = d.authentication.unwrap_or_default();
        Ok(KubeletConfig {
            anonymous_auth: authn.anonymous.and_then(|a| a.enabled),
            webhook_authn: authn.webhook.and_then(|w| w.enabled),
            client_ca_file: authn.x509.and_then(|x| x.client_ca_file),
            authorization_mode: d.authorization.and_then(|a| a.mode),
            read_only_port: d.read_only_port,
            streaming_connection_idle_timeout: d.streaming_connection_idle_timeout,
            make_iptables_util_chains: d.make_iptables_util_chains,
            tls_cert_file: d.tls_cert_file,
            tls_private_key_file: d.tls_private_key_file,
            server_tls_bootstrap: d.server_tls_bootstrap,
            rotate_certificates: d.rotate_certificates,
            feature_gates: d.feature_gates,
            tls_cipher_suites: d.tls_cipher_suites,
            tls_min_version: d.tls_min_version,
            pod_pids_limit: d.pod_pids_limit,
            seccomp_default: d.seccomp_default,
            protect_kernel_defaults: d.protect_kernel_defaults,
            enable_system_log_query: d.enable_system_log_query,
        })
    }

    /// The fields set by kubelet flags, each `name=value` (or a bare boolean `name`), with or
    /// without leading dashes, in command-line order: for a scalar the last one wins, feature
    /// gates accumulate. Flags the checks do not read are ignored; a malformed value of one
    /// they read is an error.
    pub fn from_flags<S: AsRef<str>>(flags: &[S]) -> Result<KubeletConfig, String> {
        let mut c = KubeletConfig::default();
        for f in flags {
            let f = f.as_ref().trim_start_matches('-');
            let (name, value) = match f.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (f, None),
            };
            let text = || value.unwrap_or("").to_string();
            let flag = |v: Option<&str>| -> Result<bool, String> {
                match v {
                    None => Ok(true),
                    Some(v) => {
                        parse_go_bool(v).ok_or_else(|| format!("--{name}={v}: not a boolean"))
                    }
                }
            };
            let int = |v: Option<&str>| -> Result<i64, String> {
                v.unwrap_or("")
                    .parse()
                    .map_err(|_| format!("--{name}={}: not an integer", v.unwrap_or("")))
            };
            match name {
                "anonymous-auth" => c.anonymous_auth = Some(flag(value)?),
                "authentication-token-webhook" => c.webhook_authn = Some(flag(value)?),
                "client-ca-file" => c.client_ca_file = Some(text()),
                "authorization-mode" => c.authorization_mode = Some(text()),
                "read-only-port" => c.read_only_port = Some(int(value)?),
                "streaming-connection-idle-timeout" => {
                    c.streaming_connection_idle_timeout = Some(text())
                }
                "make-iptables-util-chains" => c.make_iptables_util_chains = Some(flag(value)?),
                "tls-cert-file" => c.tls_cert_file = Some(text()),
                "tls-private-key-file" => c.tls_private_key_file = Some(text()),
                "rotate-server-certificates" => c.server_tls_bootstrap = Some(flag(value)?),
                "rotate-certificates" => c.rotate_certificates = Some(flag(value)?),
                "feature-gates" => {
                    let gates = c.feature_gates.get_or_insert_with(BTreeMap::new);
                    for g in text().split(',').filter(|g| !g.trim().is_empty()) {
                        let (k, v) = g
                            .split_once('=')
                            .ok_or_else(|| format!("--feature-gates: {g:?} is not Gate=bool"))?;
                        let v = parse_go_bool(v.trim())
                            .ok_or_else(|| format!("--feature-gates: {g:?} is not Gate=bool"))?;
                        gates.insert(k.trim().to_string(), v);
                    }
                }
                "tls-cipher-suites" => {
                    c.tls_cipher_suites = Some(
                        text()
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect(),
                    )
                }
                "tls-min-version" => c.tls_min_version = Some(text()),
                "pod-max-pids" => c.pod_pids_limit = Some(int(value)?),
                "seccomp-default" => c.seccomp_default = Some(flag(value)?),
                "protect-kernel-defaults" => c.protect_kernel_defaults = Some(flag(value)?),
                _ => {}
            }
        }
        Ok(c)
    }
}

fn config_file_defaults() -> KubeletConfig {
    KubeletConfig {
        anonymous_auth: Some(false),
        webhook_authn: Some(true),
        client_ca_file: Some(String::new()),
        authorization_mode: Some("Webhook".into()),
        read_only_port: Some(0),
        streaming_connection_idle_timeout: Some("4h0m0s".into()),
        make_iptables_util_chains: Some(true),
        tls_cert_file: Some(String::new()),
        tls_private_key_file: Some(String::new()),
        server_tls_bootstrap: Some(false),
        rotate_certificates: Some(false),
        feature_gates: Some(BTreeMap::new()),
        tls_cipher_suites: Some(Vec::new()),
        tls_min_version: Some(String::new()),
        pod_pids_limit: Some(-1),
        seccomp_default: Some(false),
        protect_kernel_defaults: Some(false),
        enable_system_log_query: Some(false),
    }
}

/// Go's `strconv.ParseBool`, which pflag uses for boolean flags.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The `--kubelet-arg` values of a k3s/RKE2 `node-args` annotation (a JSON array of the
/// command line): `--kubelet-arg=key=value` or `--kubelet-arg` followed by `key=value`.
pub fn kubelet_args(node_args: &str) -> Result<Vec<String>, String> {
    let args: Vec<String> = serde_json::from_str(node_args)
        .map_err(|_| "the node-args annotation is not a JSON array of strings".to_string())?;
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--kubelet-arg" {
            out.extend(it.next());
        } else if let Some(v) = a.strip_prefix("--kubelet-arg=") {
            out.push(v.to_string());
        }
    }
    Ok(out)
}

/// A Go duration that is zero (`0`, `0s`, `0h0m0s`): no non-zero digit.
pub fn is_zero_duration(d: &str) -> bool {
    !d.trim().is_empty() && !d.chars().any(|c| ('1'..='9').contains(&c))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Doc {
    authentication: Option<Authn>,
    authorization: Option<Authz>,
    read_only_port: Option<i64>,
    streaming_connection_idle_timeout: Option<String>,
    #[serde(rename = "makeIPTablesUtilChains")]
    make_iptables_util_chains: Option<bool>,
    tls_cert_file: Option<String>,
    tls_private_key_file: Option<String>,
    #[serde(rename = "serverTLSBootstrap")]
    server_tls_bootstrap: Option<bool>,
    rotate_certificates: Option<bool>,
    feature_gates: Option<BTreeMap<String, bool>>,
    tls_cipher_suites: Option<Vec<String>>,
    tls_min_version: Option<String>,
    pod_pids_limit: Option<i64>,
    seccomp_default: Option<bool>,
    protect_kernel_defaults: Option<bool>,
    enable_system_log_query: Option<bool>,
}

#[derive(Deserialize, Default)]
struct Authn {
    anonymous: Option<Enabled>,
    webhook: Option<Enabled>,
    x509: Option<X509>,
}

#[derive(Deserialize, Default)]
struct Enabled {
    enabled: Option<bool>,
}

#[derive(Deserialize, Default)]
struct X509 {
    #[serde(rename = "clientCAFile")]
    client_ca_file: Option<String>,
}

#[derive(Deserialize, Default)]
struct Authz {
    mode: Option<String>,
}
