use super::Labels;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A container, init container or ephemeral container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Program and flags: read for control-plane Pods (trimmed elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<core::EnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<core::ContainerPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Box<SecurityContext>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<core::VolumeMount>>,
}

/// A container's `securityContext`: the fields some check reads. k8s-openapi's also holds the
/// SELinux and Windows options and the group, which no check reads: 384 bytes for each
/// container that sets a context (most do), against 192 here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_privilege_escalation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_armor_profile: Option<core::AppArmorProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<core::Capabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_mount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<core::SeccompProfile>,
}

/// A volume: its name, and its source when it is a hostPath (the only source a check reads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<core::HostPathVolumeSource>,
}

/// A Pod's `securityContext`: the fields some check reads (the seccomp and AppArmor profiles,
/// the user, sysctls). k8s-openapi's also holds groups, SELinux and Windows options: 448 bytes
/// for every Pod and template that sets one, against 144 here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_armor_profile: Option<core::AppArmorProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<core::SeccompProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<Vec<core::Sysctl>>,
}

/// Large optional parts are boxed: most Pods leave them out, and inline they would cost every
/// Pod and pod template of a 150,000-Pod cluster about a kilobyte.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<Container>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_containers: Option<Vec<Container>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<bool>,
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Box<PodSecurityContext>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The deprecated alias of `serviceAccountName`. Boxed, as `os` and the status's reason
    /// and message: rarely set, and these 40 bytes inline keep an `Arc<Pod>` in a 768-byte
    /// block rather than an 896-byte one (see `size_tests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Box<core::Affinity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<core::Toleration>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Box<core::PodOS>>,
}

/// The well-known node label naming a node's operating system.
pub const OS_LABEL: &str = "kubernetes.io/os";

impl PodSpec {
    /// Whether the pod can only run on Windows nodes: `spec.os.name: windows` (the PodOS field)
    /// or a `kubernetes.io/os: windows` nodeSelector, compared case-insensitively (WL-005 skips
    /// such pods, checks.md). The loaders' trim keeps exactly what this reads (issue 12).
    pub fn is_windows(&self) -> bool {
        let windows = |v: &str| v.eq_ignore_ascii_case("windows");
        self.os.as_ref().is_some_and(|o| windows(&o.name))
            || self
                .node_selector
                .as_ref()
                .and_then(|n| n.get(OS_LABEL))
                .is_some_and(|v| windows(v))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    /// Boxed: after trimming a template's metadata holds at most a seccomp or AppArmor
    /// annotation, and inline it would cost each Deployment and ReplicaSet 360 bytes.
    #[serde(
        default,
        deserialize_with = "super::meta::read_option_box",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Box<ObjectMeta>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

/// What a container's status says of its state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub restart_count: i32,
    /// Boxed, as the two states are 416 bytes inline and every Pod that is not a DaemonSet's
    /// keeps its containers' statuses without them (for their imageIDs): inline, they cost
    /// each of a 150,000-Pod cluster's Pods most of a kilobyte for nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<core::ContainerState>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<Box<core::ContainerState>>,
    /// The image the kubelet runs (`repo@sha256:…`): its digest keys image inspection.
    #[serde(rename = "imageID", default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<core::PodCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_container_statuses: Option<Vec<ContainerStatus>>,
}

/// A Pod. Its labels are held in [`Pod::labels`], compactly (`metadata.labels` is always
/// `None`); it reads and writes them in `metadata`, as the Kubernetes API has them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Resource)]
#[resource(inherit = "core::Pod")]
#[serde(from = "PodFields", into = "PodFields")]
pub struct Pod {
    pub metadata: ObjectMeta,
    pub labels: Labels,
    pub spec: Option<PodSpec>,
    pub status: Option<PodStatus>,
}

/// A Pod as the API has it (its labels in its metadata).
#[derive(Clone, Default, Serialize, Deserialize)]
struct PodFields {
    #[serde(rename = "apiVersion", default, skip_serializing)]
    _api_version: super::meta::TypeField,
    #[serde(rename = "kind", default, skip_serializing)]
    _kind: super::meta::TypeField,
    #[serde(default, deserialize_with = "super::meta::read")]
    metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spec: Option<PodSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<PodStatus>,
}

impl From<PodFields> for Pod {
    fn from(mut p: PodFields) -> Pod {
        let labels = Labels::from_map(p.metadata.labels.take());
        Pod {
            metadata: p.metadata,
            labels,
            spec: p.spec,
            status: p.status,
        }
    }
}

impl From<Pod> for PodFields {
    fn from(mut p: Pod) -> PodFields {
        p.metadata.labels = p.labels.to_map();
        PodFields {
            metadata: p.metadata,
            spec: p.spec,
            status: p.status,
            ..PodFields::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_checks_need_and_skips_the_rest() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"hostPID": true, "hostIPC": false, "hostNetwork": true,
                     "containers": [{"name": "c", "image": "i", "livenessProbe": {"exec": {"command": ["x"]}},
                                     "securityContext": {"privileged": true}, "resources": {"limits": {"cpu": "1"}}}],
                     "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "cm", "configMap": {"name": "x"}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "containerStatuses": [{"name": "c", "ready": true, "restartCount": 2, "image": "i", "imageID": "x",
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }))
        .unwrap();
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(
            (spec.host_pid, spec.host_ipc, spec.host_network),
            (Some(true), Some(false), Some(true))
        );
        assert_eq!(
            spec.volumes.as_ref().unwrap()[0]
                .host_path
                .as_ref()
                .unwrap()
                .path,
            "/"
        );
        assert!(spec.volumes.as_ref().unwrap()[1].host_path.is_none());
        let cs = &p
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()[0];
        assert_eq!(cs.restart_count, 2);
        assert_eq!(Pod::kind(&()), "Pod");
        assert!(
            std::mem::size_of::<Container>() < 600,
            "slim: {}",
            std::mem::size_of::<Container>()
        );
    }
}
#[cfg(test)]
mod labels_tests {
    use super::*;

    /// A Pod's labels are read from its metadata into [`Pod::labels`] and written back there:
    /// what a snapshot written by `kube-posture snapshot` holds is what the API server gave.
    #[test]
    fn labels_are_held_apart_and_written_in_metadata() {
        let text = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n","labels":{"b":"2","a":"1"}},"spec":{"containers":[{"name":"c"}]}}"#;
        let p: Pod = serde_json::from_str(text).unwrap();
        assert_eq!(p.metadata.labels, None);
        assert_eq!(p.labels.get("a"), Some("1"));
        assert_eq!(p.labels.len(), 2);
        let written = serde_json::to_value(&p).unwrap();
        assert_eq!(
            written["metadata"]["labels"],
            serde_json::json!({"a": "1", "b": "2"})
        );
        let again: Pod = serde_json::from_value(written).unwrap();
        assert_eq!(again, p);
        // No labels: none written.
        let bare: Pod = serde_json::from_str(r#"{"metadata":{"name":"q"}}"#).unwrap();
        assert!(bare.labels.is_empty());
        let written = serde_json::to_value(&bare).unwrap();
        assert!(written["metadata"].get("labels").is_none());
        // k8s-openapi's reading and ours agree on what is refused.
        let bad = r#"{"metadata":{"labels":{"a":1}}}"#;
        assert!(serde_json::from_str::<core::Pod>(bad).is_err());
        assert!(serde_json::from_str::<Pod>(bad).is_err());
    }
}

#[cfg(test)]
mod security_context_tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use std::fmt;

    /// Each text read as k8s-openapi's type `F`, projected on the fields kept, equals the
    /// model's reading.
    fn reads_as<F: DeserializeOwned, S: DeserializeOwned + PartialEq + fmt::Debug>(
        texts: &[&str],
        project: impl Fn(F) -> S,
    ) {
        for text in texts {
            let full: F = serde_json::from_str(text).unwrap();
            let slim: S = serde_json::from_str(text).unwrap();
            assert_eq!(slim, project(full), "{text}");
        }
    }

    /// The fields kept read as k8s-openapi reads them (nulls, the nested types), the others
    /// are skipped, and the types stay a half and a third of k8s-openapi's.
    #[test]
    fn reads_its_fields_as_k8s_openapi_does() {
        reads_as(
            &[
                r#"{"allowPrivilegeEscalation":false,"appArmorProfile":{"type":"Localhost","localhostProfile":"p"},"capabilities":{"add":["NET_ADMIN"],"drop":["ALL"]},"privileged":true,"procMount":"Unmasked","readOnlyRootFilesystem":true,"runAsGroup":3,"runAsNonRoot":false,"runAsUser":0,"seLinuxOptions":{"level":"s0"},"seccompProfile":{"type":"Unconfined"},"windowsOptions":{"hostProcess":true}}"#,
                r#"{"privileged":null,"runAsUser":null,"capabilities":null}"#,
                r#"{}"#,
            ],
            |full: core::SecurityContext| SecurityContext {
                allow_privilege_escalation: full.allow_privilege_escalation,
                app_armor_profile: full.app_armor_profile,
                capabilities: full.capabilities,
                privileged: full.privileged,
                proc_mount: full.proc_mount,
                read_only_root_filesystem: full.read_only_root_filesystem,
                run_as_non_root: full.run_as_non_root,
                run_as_user: full.run_as_user,
                seccomp_profile: full.seccomp_profile,
            },
        );
        assert!(serde_json::from_str::<SecurityContext>(r#"{"privileged":"yes"}"#).is_err());
        reads_as(
            &[
                r#"{"appArmorProfile":{"type":"Unconfined"},"fsGroup":2,"runAsGroup":3,"runAsNonRoot":true,"runAsUser":1000,"seLinuxOptions":{"level":"s0"},"seccompProfile":{"type":"RuntimeDefault"},"supplementalGroups":[4],"sysctls":[{"name":"kernel.msgmax","value":"1"}],"windowsOptions":{"hostProcess":true}}"#,
                r#"{"runAsUser":null,"sysctls":null}"#,
                r#"{}"#,
            ],
            |full: core::PodSecurityContext| PodSecurityContext {
                app_armor_profile: full.app_armor_profile,
                run_as_non_root: full.run_as_non_root,
                run_as_user: full.run_as_user,
                seccomp_profile: full.seccomp_profile,
                sysctls: full.sysctls,
            },
        );
        let size = std::mem::size_of::<PodSecurityContext>();
        assert!(
            size * 3 <= std::mem::size_of::<core::PodSecurityContext>(),
            "{size} bytes"
        );
        let size = std::mem::size_of::<SecurityContext>();
        assert!(
            size * 2 <= std::mem::size_of::<core::SecurityContext>(),
            "{size} bytes"
        );
    }
}

#[cfg(test)]
mod size_tests {
    /// mimalloc's size classes near a Pod: 640, 768, 896 bytes; an Arc adds 16 bytes.
    #[test]
    fn a_pod_fits_a_768_byte_block() {
        let size = std::mem::size_of::<super::Pod>() + 16;
        assert!(
            size <= 768,
            "an Arc<Pod> is {size} bytes: 150,000 Pods each take a larger block; box a rarely set field"
        );
    }

    /// Every Pod of a 150,000-Pod cluster holds its containers' statuses (their imageIDs):
    /// a field added inline there costs the controller megabytes. Boxing the two states took
    /// a Pod of the synthetic S cluster from 4,388 to 2,975 bytes held (BENCHMARKS.md).
    #[test]
    fn a_container_status_stays_small_inline() {
        assert!(
            std::mem::size_of::<super::ContainerStatus>() <= 96,
            "ContainerStatus is {} bytes inline: box its large optional parts",
            std::mem::size_of::<super::ContainerStatus>()
        );
    }
}
