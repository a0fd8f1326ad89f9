use crate::model::SecurityContext;
use crate::model::{Container, PodSpec};
use k8s_openapi::api::core::v1::{ContainerPort, EnvVar, VolumeMount};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

/// What the checks read of a container, whichever list it is in.
#[derive(Clone, Copy, Debug)]
pub struct ContainerRef<'a> {
    pub kind: ContainerKind,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub security_context: Option<&'a SecurityContext>,
    pub ports: &'a [ContainerPort],
    pub command: &'a [String],
    pub args: &'a [String],
    pub env: &'a [EnvVar],
    pub volume_mounts: &'a [VolumeMount],
}

fn regular(kind: ContainerKind, c: &Container) -> ContainerRef<'_> {
    ContainerRef {
        kind,
        name: &c.name,
        image: c.image.as_deref(),
        security_context: c.security_context.as_deref(),
        ports: c.ports.as_deref().unwrap_or_default(),
        command: c.command.as_deref().unwrap_or_default(),
        args: c.args.as_deref().unwrap_or_default(),
        env: c.env.as_deref().unwrap_or_default(),
        volume_mounts: c.volume_mounts.as_deref().unwrap_or_default(),
    }
}

/// Every container of a pod spec: init containers, containers, then ephemeral containers.
pub fn containers(spec: &PodSpec) -> impl Iterator<Item = ContainerRef<'_>> {
    spec.init_containers
        .iter()
        .flatten()
        .map(|c| regular(ContainerKind::Init, c))
        .chain(
            spec.containers
                .iter()
                .map(|c| regular(ContainerKind::Regular, c)),
        )
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| regular(ContainerKind::Ephemeral, c)),
        )
}
