//! Pod controllers: what the audit reads is their pod template (and, for DaemonSets, their
//! selector, update strategy and status for coverage messages).

use super::{PodTemplateSpec, Selector};
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Serialize};

/// A controller spec: selector and pod template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplatedSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
}

macro_rules! templated {
    ($(#[$doc:meta])* $name:ident, $inherit:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Resource)]
        #[resource(inherit = $inherit)]
        pub struct $name {
            #[serde(rename = "apiVersion", default, skip_serializing)]
            pub api_version: super::meta::TypeField,
            #[serde(rename = "kind", default, skip_serializing)]
            pub kind: super::meta::TypeField,
            #[serde(default, deserialize_with = "super::meta::read")]
            pub metadata: ObjectMeta,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub spec: Option<TemplatedSpec>,
        }
    };
}

templated!(Deployment, "apps::Deployment");
templated!(StatefulSet, "apps::StatefulSet");
templated!(ReplicaSet, "apps::ReplicaSet");
templated!(ReplicationController, "core::ReplicationController");
templated!(Job, "batch::Job");

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<apps::DaemonSetUpdateStrategy>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Resource)]
#[resource(inherit = "apps::DaemonSet")]
pub struct DaemonSet {
    #[serde(rename = "apiVersion", default, skip_serializing)]
    pub api_version: super::meta::TypeField,
    #[serde(rename = "kind", default, skip_serializing)]
    pub kind: super::meta::TypeField,
    #[serde(default, deserialize_with = "super::meta::read")]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<DaemonSetSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<apps::DaemonSetStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTemplateSpec {
    #[serde(
        default,
        deserialize_with = "super::meta::read_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<ObjectMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<TemplatedSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CronJobSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_template: Option<JobTemplateSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Resource)]
#[resource(inherit = "batch::CronJob")]
pub struct CronJob {
    #[serde(rename = "apiVersion", default, skip_serializing)]
    pub api_version: super::meta::TypeField,
    #[serde(rename = "kind", default, skip_serializing)]
    pub kind: super::meta::TypeField,
    #[serde(default, deserialize_with = "super::meta::read")]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<CronJobSpec>,
}
