//! Control-plane command lines, read as the components themselves read them (checks.md,
//! "Flags"). The Kubernetes components parse with spf13/pflag, etcd with Go's `flag` package
//! plus `ETCD_*` environment variables; the differences that change a verdict are kept here.

use super::booleans::{KUBE_ACCUMULATING, is_bool};
use super::{Component, ComponentPod};
use std::collections::HashMap;

/// The flags of one control-plane container.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// Every value given to each flag, in command-line order.
    values: HashMap<String, Vec<String>>,
    /// Flags set by an `ETCD_*` variable rather than the command line: flag → variable.
    from_env: HashMap<String, String>,
    accumulating: bool,
}

impl Flags {
    pub fn of(c: &ComponentPod) -> Flags {
        let argv: Vec<&str> = c
            .container
            .command
            .iter()
            .chain(c.container.args.iter())
            .map(String::as_str)
            .collect();
        let env: Vec<(&str, &str)> = c
            .container
            .env
            .iter()
            // A value from a ConfigMap or Secret (valueFrom) cannot be seen: left unset.
            .filter_map(|e| e.value.as_deref().map(|v| (e.name.as_str(), v)))
            .collect();
        // `sh -c "exec kube-apiserver --flag …"`: the flags are words of the script (split on
        // whitespace; shell quoting is not interpreted).
        let script: Vec<&str> = match argv.as_slice() {
            [shell, "-c", script, ..] if SHELLS.contains(&basename(shell)) => {
                script.split_whitespace().collect()
            }
            _ => Vec::new(),
        };
        if !script.is_empty() {
            let program = c.component.program();
            let start = script
                .iter()
                .position(|w| basename(w) == program)
                .map_or(script.len(), |i| i + 1);
            return Flags::parse(c.component, &script[start..], &env);
        }
        Flags::parse(c.component, &argv[program_len(&argv)..], &env)
    }

    /// Parse `args` (the arguments after the program name) and, for etcd, `env`.
    pub fn parse(component: Component, args: &[&str], env: &[(&str, &str)]) -> Flags {
        let mut flags = Flags {
            accumulating: component != Component::Etcd,
            ..Flags::default()
        };
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            if *arg == "--" {
                break;
            }
            let body = match arg.strip_prefix("--") {
                Some(b) => b,
                // Go's flag package takes `-flag` too; pflag reads it as shorthand letters,
                // which the Kubernetes components do not define.
                None if component == Component::Etcd && arg.len() > 1 => {
                    match arg.strip_prefix('-') {
                        Some(b) => b,
                        None => continue,
                    }
                }
                // A stray argument (`false` after a bare boolean flag): skipped.
                None => continue,
            };
            let (raw_name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if raw_name.is_empty() || raw_name.starts_with('-') {
                continue;
            }
            // The Kubernetes components normalise `_` to `-` (cliflag.WordSepNormalizeFunc).
            let name = if component == Component::Etcd {
                raw_name.to_string()
            } else {
                raw_name.replace('_', "-")
            };
            let value = match inline {
                Some(v) => v.to_string(),
                None if is_bool(component, &name) => "true".to_string(),
                // `--flag value`. A next argument that is itself a flag is not taken as the
                // value: the flag is then more likely a boolean this table lacks.
                None => match it.next_if(|next| !next.starts_with("--")) {
                    Some(v) => v.to_string(),
                    None => continue,
                },
            };
            flags.values.entry(name).or_default().push(value);
        }
        if component == Component::Etcd {
            flags.read_etcd_env(env);
        }
        flags
    }

    /// etcd reads `ETCD_<FLAG>` for every flag not given on the command line.
    fn read_etcd_env(&mut self, env: &[(&str, &str)]) {
        for (var, value) in env {
            let Some(rest) = var.strip_prefix("ETCD_") else {
                continue;
            };
            let name = rest.to_ascii_lowercase().replace('_', "-");
            if self.values.contains_key(&name) && !self.from_env.contains_key(&name) {
                continue;
            }
            // Kubernetes keeps the last of duplicate variables.
            self.values.insert(name.clone(), vec![value.to_string()]);
            self.from_env.insert(name, var.to_string());
        }
    }

    /// The value in effect: the last occurrence.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// The value, when it is set to something: a flag given an empty value (`--client-ca-file=`)
    /// is as good as missing.
    pub fn nonempty(&self, name: &str) -> Option<&str> {
        self.value(name).filter(|v| !v.trim().is_empty())
    }

    /// A comma-separated list flag's entries; `None` when it is absent. Repeated occurrences of
    /// the Kubernetes components' list flags add up, as pflag's string slices do.
    pub fn list(&self, name: &str) -> Option<Vec<&str>> {
        let occurrences = self.values.get(name)?;
        let used: &[String] = if self.accumulating && KUBE_ACCUMULATING.contains(&name) {
            occurrences
        } else {
            occurrences
                .last()
                .map(std::slice::from_ref)
                .unwrap_or_default()
        };
        Some(
            used.iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    /// A boolean flag's value: `default` when absent, `None` when the value is not a boolean
    /// (the component would refuse to start; checks treat it as not the safe value).
    pub fn boolean(&self, name: &str, default: bool) -> Option<bool> {
        match self.value(name) {
            None => Some(default),
            Some(v) => parse_bool(v),
        }
    }

    /// `--feature-gates` entries merge across occurrences, later keys winning.
    pub fn feature_gate(&self, gate: &str) -> Option<(bool, String)> {
        let mut found = None;
        for occurrence in self.values.get("feature-gates").into_iter().flatten() {
            for entry in occurrence.split(',') {
                if let Some((k, v)) = entry.split_once('=')
                    && k.trim() == gate
                {
                    found = parse_bool(v.trim()).map(|b| (b, entry.trim().to_string()));
                }
            }
        }
        found
    }

    /// How a flag was seen, for evidence: `--profiling=true`, `ETCD_CLIENT_CERT_AUTH=false`
    /// (environment), or `--anonymous-auth: (unset, default true)`.
    pub fn show(&self, name: &str, default: Option<&str>) -> String {
        match (self.values.get(name), self.from_env.get(name)) {
            (Some(v), Some(var)) => format!("{var}={} (environment)", v.join(",")),
            (Some(v), None) if self.accumulating && KUBE_ACCUMULATING.contains(&name) => v
                .iter()
                .map(|v| format!("--{name}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            (Some(v), None) => format!("--{name}={}", v.last().map_or("", String::as_str)),
            (None, _) => match default {
                Some(d) => format!("--{name}: (unset, default {d})"),
                None => format!("--{name}: (unset)"),
            },
        }
    }
}

const SHELLS: [&str; 4] = ["sh", "bash", "ash", "dash"];

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How many leading arguments name the program (`kube-apiserver`, `/hyperkube kube-apiserver`):
/// none when the image's entrypoint is used and the arguments start with a flag.
fn program_len(argv: &[&str]) -> usize {
    match argv.first() {
        None => 0,
        Some(first) if first.starts_with('-') => 0,
        Some(first) if basename(first) == "hyperkube" => argv.len().min(2),
        Some(_) => 1,
    }
}

/// Go's `strconv.ParseBool`, which both flag packages use.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn kube(args: &[&str]) -> Flags {
        Flags::parse(Component::ApiServer, args, &[])
    }

    #[test]
    fn equals_and_space_both_set_values() {
        let f = kube(&[
            "--client-ca-file=/pki/ca.crt",
            "--token-auth-file",
            "/t.csv",
        ]);
        assert_eq!(f.value("client-ca-file"), Some("/pki/ca.crt"));
        assert_eq!(f.value("token-auth-file"), Some("/t.csv"));
    }

    #[test]
    fn a_boolean_takes_its_value_only_after_equals() {
        let f = kube(&[
            "--profiling",
            "false",
            "--anonymous-auth",
            "--service-account-lookup=false",
        ]);
        assert_eq!(
            f.boolean("profiling", true),
            Some(true),
            "`false` is a stray argument"
        );
        assert_eq!(f.boolean("anonymous-auth", false), Some(true));
        assert_eq!(f.boolean("service-account-lookup", true), Some(false));
        assert_eq!(f.boolean("unset", true), Some(true), "absent: the default");
        assert_eq!(
            kube(&["--profiling=False"]).boolean("profiling", true),
            Some(false)
        );
        assert_eq!(kube(&["--profiling=no"]).boolean("profiling", true), None);
    }

    #[test]
    fn the_last_occurrence_wins_and_names_are_normalised() {
        let f = kube(&["--anonymous-auth=false", "--anonymous_auth=true"]);
        assert_eq!(f.value("anonymous-auth"), Some("true"));
        assert_eq!(
            f.show("anonymous-auth", Some("true")),
            "--anonymous-auth=true"
        );
        assert_eq!(
            f.show("profiling", Some("true")),
            "--profiling: (unset, default true)"
        );
    }

    #[test]
    fn list_flags_split_on_commas_and_kube_slices_accumulate() {
        let f = kube(&[
            "--authorization-mode=AlwaysAllow",
            "--authorization-mode=Node, RBAC",
            "--tls-min-version=VersionTLS10",
            "--tls-min-version=VersionTLS12",
        ]);
        assert_eq!(
            f.list("authorization-mode"),
            Some(vec!["AlwaysAllow", "Node", "RBAC"])
        );
        assert_eq!(f.value("tls-min-version"), Some("VersionTLS12"));
        assert_eq!(f.list("enable-admission-plugins"), None);
    }

    #[test]
    fn a_flag_is_not_taken_as_the_value_of_the_one_before() {
        let f = kube(&[
            "--unknown-switch",
            "--anonymous-auth=false",
            "--",
            "--profiling=false",
        ]);
        assert_eq!(f.value("anonymous-auth"), Some("false"));
        assert_eq!(f.value("profiling"), None, "parsing stops at --");
    }

    #[test]
    fn etcd_reads_single_dash_flags_and_its_environment_command_line_first() {
        let f = Flags::parse(
            Component::Etcd,
            &["-cert-file=/c.crt", "--client-cert-auth=false"],
            &[
                ("ETCD_CLIENT_CERT_AUTH", "true"),
                ("ETCD_KEY_FILE", "/k.key"),
                ("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379"),
            ],
        );
        assert_eq!(f.value("cert-file"), Some("/c.crt"));
        assert_eq!(
            f.boolean("client-cert-auth", false),
            Some(false),
            "flag wins"
        );
        assert_eq!(f.value("key-file"), Some("/k.key"));
        assert_eq!(
            f.show("key-file", None),
            "ETCD_KEY_FILE=/k.key (environment)"
        );
        assert_eq!(
            f.list("listen-client-urls"),
            Some(vec!["http://0.0.0.0:2379"])
        );
        let twice = Flags::parse(
            Component::Etcd,
            &[
                "--listen-client-urls=http://0.0.0.0:2379",
                "--listen-client-urls=https://127.0.0.1:2379",
            ],
            &[],
        );
        assert_eq!(
            twice.list("listen-client-urls"),
            Some(vec!["https://127.0.0.1:2379"])
        );
    }

    #[test]
    fn feature_gates_merge_across_occurrences() {
        let f = Flags::parse(
            Component::ControllerManager,
            &[
                "--feature-gates=RotateKubeletServerCertificate=false",
                "--feature-gates=Other=true",
            ],
            &[],
        );
        assert_eq!(
            f.feature_gate("RotateKubeletServerCertificate")
                .map(|g| g.0),
            Some(false)
        );
        assert_eq!(f.feature_gate("Missing"), None);
    }
}
