//! Image inspection's pure half (`spec.images.inspect`): which images to look up (those of the
//! containers WL-005 reports), and what their configs say. The controller and the CLI fetch the
//! configs from registries (`crate::registry`) into an [`ImageConfigs`] the audit reads, as they
//! do for the API-033 probe; the audit itself never touches the network.

use crate::audit::Ctx;
use crate::audit::workloads::{ContainerRef, Workload, containers, root_reason};
use crate::policy::EffectivePolicy;
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, HashMap};

/// One image to look up, for one platform.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRequest {
    /// `repo@sha256:…` from the Pod's `imageID` when there is one, else the spec's reference.
    pub reference: String,
    pub os: String,
    pub architecture: String,
}

impl ImageRequest {
    /// Whether the reference names a digest: its config can be cached for good.
    pub fn is_digest(&self) -> bool {
        crate::audit::images::tags::is_pinned(&self.reference)
    }
}

/// What a registry said about an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageConfig {
    /// `config.User` (empty when the image sets none).
    User(String),
    /// The config could not be read, and why.
    Unavailable(String),
}

impl ImageConfig {
    /// Whether the image runs as root by default (`Some(false)` for a non-root USER).
    pub fn runs_as_root(&self) -> Option<bool> {
        match self {
            ImageConfig::User(u) => Some(user_is_root(u)),
            ImageConfig::Unavailable(_) => None,
        }
    }
}

/// An image config's `User`: empty (the runtime's default, root), `root`, `0`, `root:…`, `0:…`.
pub fn user_is_root(user: &str) -> bool {
    user.trim().is_empty() || super::dockerfile::is_root(user)
}

/// Configs fetched for an audit, by request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageConfigs {
    pub configs: BTreeMap<ImageRequest, ImageConfig>,
}

/// Where the Pods of a namespace ran an image: `imageID` and node, by (namespace, container
/// name, spec image). A Deployment's template is matched with its Pods this way.
pub struct RunningImages<'a> {
    ids: HashMap<(&'a str, &'a str, &'a str), (&'a str, Option<&'a str>)>,
    platforms: HashMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> RunningImages<'a> {
    pub fn new(s: &'a Snapshot) -> RunningImages<'a> {
        let mut ids = HashMap::new();
        for p in &s.pods {
            let (Some(spec), Some(status)) = (p.spec.as_ref(), p.status.as_ref()) else {
                continue;
            };
            let ns = p.metadata.namespace.as_deref().unwrap_or("default");
            let statuses = status
                .container_statuses
                .iter()
                .flatten()
                .chain(status.init_container_statuses.iter().flatten());
            for st in statuses {
                let Some(id) = st.image_id.as_deref().filter(|i| !i.is_empty()) else {
                    continue;
                };
                if let Some(image) = containers(spec)
                    .find(|c| c.name == st.name)
                    .and_then(|c| c.image)
                {
                    ids.insert(
                        (ns, st.name.as_str(), image),
                        (id, spec.node_name.as_deref()),
                    );
                }
            }
        }
        let platforms = s
            .nodes
            .iter()
            .filter_map(|n| {
                let info = n.status.as_ref()?.node_info.as_ref()?;
                Some((
                    n.metadata.name.as_deref()?,
                    (info.operating_system.as_str(), info.architecture.as_str()),
                ))
            })
            .collect();
        RunningImages { ids, platforms }
    }

    /// The request for a container's image: by the digest its Pod runs when known, for the
    /// platform of that Pod's node (linux/amd64 when unknown).
    pub fn request(&self, w: &Workload, c: &ContainerRef) -> Option<ImageRequest> {
        let image = c.image.filter(|i| !i.is_empty())?;
        let running = self.ids.get(&(w.namespace, c.name, image));
        let reference = running
            .and_then(|(id, _)| digest_reference(id))
            .unwrap_or_else(|| image.to_string());
        let node = running
            .and_then(|(_, n)| *n)
            .or(w.spec.node_name.as_deref());
        let (os, arch) = node
            .and_then(|n| self.platforms.get(n))
            .copied()
            .unwrap_or(("linux", "amd64"));
        Some(ImageRequest {
            reference,
            os: os.to_string(),
            architecture: arch.to_string(),
        })
    }
}

/// `repo@sha256:…` from an `imageID` (`docker-pullable://repo@sha256:…` and the like). A bare
/// `sha256:…` may be a config digest rather than a manifest's: not usable.
fn digest_reference(image_id: &str) -> Option<String> {
    let id = image_id
        .split_once("://")
        .map_or(image_id, |(_, rest)| rest);
    let (repo, digest) = id.split_once('@')?;
    (!repo.is_empty() && digest.starts_with("sha256:")).then(|| id.to_string())
}

/// The images to inspect for an audit: one per distinct (reference, platform) among the
/// containers WL-005 reports, in the policy's namespaces.
pub fn requests(s: &Snapshot, policy: &EffectivePolicy) -> Vec<ImageRequest> {
    let running = RunningImages::new(s);
    // Control-plane Pods are exempt from WL-005, so not inspected either.
    let components = crate::audit::controlplane::component_pods(s);
    let is_control_plane = |w: &Workload| {
        w.pod
            .is_some_and(|p| components.iter().any(|c| std::ptr::eq(c.pod, p)))
    };
    let mut out: Vec<ImageRequest> = crate::audit::workloads::top_level(s)
        .iter()
        .filter(|w| policy.namespaces.contains(w.namespace))
        .filter(|w| !is_control_plane(w) && !w.spec.is_windows())
        .flat_map(|w| {
            containers(w.spec)
                .filter(|c| root_reason(w, c).is_some())
                .filter_map(|c| running.request(w, &c))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The config of a container's image, when inspection ran.
pub fn inspected<'c>(ctx: &'c Ctx, w: &Workload, c: &ContainerRef) -> Option<&'c ImageConfig> {
    let (configs, running) = ctx.images.as_ref()?;
    configs.configs.get(&running.request(w, c)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids() {
        assert_eq!(
            digest_reference("docker-pullable://nginx@sha256:ab").as_deref(),
            Some("nginx@sha256:ab")
        );
        assert_eq!(
            digest_reference("127.0.0.1:5000/a/b@sha256:ab").as_deref(),
            Some("127.0.0.1:5000/a/b@sha256:ab")
        );
        assert_eq!(digest_reference("sha256:ab"), None);
        assert_eq!(digest_reference("docker://sha256:ab"), None);
    }
}
