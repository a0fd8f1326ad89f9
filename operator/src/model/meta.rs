//! `ObjectMeta` read as k8s-openapi reads it (the same fields, the last of a repeated key
//! wins, unknown keys skipped), but for `managedFields`, which are skipped rather than built:
//! each entry is a tree of values that the trim dropped right after (about 7 % of reading a
//! JSON snapshot, and as much of every list and watch event of the controller). The model's
//! own types read their metadata through here.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

const FIELDS: &[&str] = &[
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];

/// `apiVersion` or `kind` of one of the model's objects: not kept (each type has one), but a
/// field serde knows, so that an object naming it twice is refused, as k8s-openapi's types
/// refuse a second, different one. The JSON loader reads an item's type before its typed form
/// and stops there (`snapshot::files`); a repeated `kind` after that must not pass unseen,
/// since the same item read as values takes the last one. Zero bytes in each object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeField;

impl<'de> Deserialize<'de> for TypeField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TypeField, D::Error> {
        IgnoredAny::deserialize(d).map(|_| TypeField)
    }
}

/// For `#[serde(deserialize_with)]` on an `ObjectMeta` field.
pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    d.deserialize_struct("ObjectMeta", FIELDS, MetaVisitor)
}

/// For an `Option<ObjectMeta>` field.
pub fn read_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectMeta>, D::Error> {
    Ok(Option::<Meta>::deserialize(d)?.map(|m| m.0))
}

/// For an `Option<Box<ObjectMeta>>` field.
pub fn read_option_box<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<ObjectMeta>>, D::Error> {
    Ok(Option::<Meta>::deserialize(d)?.map(|m| Box::new(m.0)))
}

struct Meta(ObjectMeta);

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Meta, D::Error> {
        read(d).map(Meta)
    }
}

struct MetaVisitor;

impl<'de> Visitor<'de> for MetaVisitor {
    type Value = ObjectMeta;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObjectMeta")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectMeta, A::Error> {
        let mut m = ObjectMeta::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "annotations" => m.annotations = map.next_value()?,
                "creationTimestamp" => m.creation_timestamp = map.next_value()?,
                "deletionGracePeriodSeconds" => {
                    m.deletion_grace_period_seconds = map.next_value()?
                }
                "deletionTimestamp" => m.deletion_timestamp = map.next_value()?,
                "finalizers" => m.finalizers = map.next_value()?,
                "generateName" => m.generate_name = map.next_value()?,
                "generation" => m.generation = map.next_value()?,
                "labels" => m.labels = map.next_value()?,
                "name" => m.name = map.next_value()?,
                "namespace" => m.namespace = map.next_value()?,
                "ownerReferences" => m.owner_references = map.next_value()?,
                "resourceVersion" => m.resource_version = map.next_value()?,
                "selfLink" => m.self_link = map.next_value()?,
                "uid" => m.uid = map.next_value()?,
                // managedFields, and keys ObjectMeta does not have.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Slim {
        #[serde(deserialize_with = "read")]
        metadata: ObjectMeta,
    }

    #[derive(Deserialize)]
    struct Full {
        metadata: ObjectMeta,
    }

    /// The same as k8s-openapi's reading, from text and from values, managedFields aside.
    #[test]
    fn reads_as_k8s_openapi_reads_without_managed_fields() {
        let texts = [
            r#"{"metadata":{"name":"a","namespace":"n","uid":"u","generateName":"a-","generation":3,"resourceVersion":"9","selfLink":"/x","creationTimestamp":"2026-01-01T00:00:00Z","deletionTimestamp":"2026-01-02T00:00:00Z","deletionGracePeriodSeconds":30,"labels":{"k":"v"},"annotations":{"a":"b"},"finalizers":["f"],"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"ru","controller":true}],"managedFields":[{"manager":"m","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{}}}],"unknown":{"x":[1]}}}"#,
            r#"{"metadata":{"name":"a","name":"b"}}"#,
            r#"{"metadata":{}}"#,
        ];
        for text in texts {
            let full: Full = serde_json::from_str(text).unwrap();
            let mut expected = full.metadata;
            assert!(text.contains("managedFields") == expected.managed_fields.is_some());
            expected.managed_fields = None;
            let slim: Slim = serde_json::from_str(text).unwrap();
            assert_eq!(slim.metadata, expected, "{text}");
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            let slim: Slim = serde_json::from_value(value).unwrap();
            assert_eq!(slim.metadata, expected, "{text}");
        }
        // The same refusals, with the same message.
        for bad in [
            r#"{"metadata":null}"#,
            r#"{"metadata":{"name":7}}"#,
            r#"{"metadata":[1]}"#,
        ] {
            let full = serde_json::from_str::<Full>(bad)
                .err()
                .map(|e| e.to_string());
            let slim = serde_json::from_str::<Slim>(bad)
                .err()
                .map(|e| e.to_string());
            assert!(full.is_some(), "{bad}");
            assert_eq!(slim, full, "{bad}");
        }
    }
}
