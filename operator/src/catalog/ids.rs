//! The typed check ID. `build.rs` generates the enum from the rows of `table.rs`, so check code
//! names checks as `CheckId::Wl001`: a typo does not compile, and a check's catalog row is an
//! index away (no lookup that could fail, no `panic!` on an unknown ID). Strings remain only
//! where users write IDs (policies, `--check`), parsed by [`CheckId::from_str`] or
//! [`super::lookup`].

use super::{CHECKS, CheckMeta, Layer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

include!(concat!(env!("OUT_DIR"), "/check_id.rs"));

impl CheckId {
    /// The check's row of the catalog.
    pub fn meta(self) -> &'static CheckMeta {
        &CHECKS[self as usize]
    }

    /// The family: `WL` for `WL-001`.
    pub fn family(self) -> &'static str {
        let s = self.as_str();
        &s[..s.len() - 4]
    }

    pub fn layer(self) -> Layer {
        super::layer_of(self.as_str())
    }
}

/// IDs sort as their text (`API-001` before `CM-001` before `RBAC-001`), as reports always
/// sorted them, not in the table's order.
impl Ord for CheckId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for CheckId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckId::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown check {s:?} (kube-posture checks lists them)"))
    }
}

impl From<CheckId> for String {
    fn from(c: CheckId) -> String {
        c.as_str().to_string()
    }
}

impl AsRef<str> for CheckId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialEq<str> for CheckId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<CheckId> for str {
    fn eq(&self, other: &CheckId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<CheckId> for &str {
    fn eq(&self, other: &CheckId) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enum_is_the_table() {
        assert_eq!(CheckId::ALL.len(), CHECKS.len());
        for (i, c) in CheckId::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(c.meta().id, *c);
            assert_eq!(c.as_str().parse::<CheckId>(), Ok(*c));
        }
        assert_eq!(CheckId::Kubelet004.as_str(), "KUBELET-004");
        assert_eq!(CheckId::Wl001.to_string(), "WL-001");
        assert!("WL-999".parse::<CheckId>().is_err());
        assert!(CheckId::Api001 < CheckId::Cm001 && CheckId::Cm001 < CheckId::Rbac001);
    }

    /// IDs compare by their generated rank exactly as their text compares.
    #[test]
    fn ids_order_as_their_text() {
        for a in CheckId::ALL {
            for b in CheckId::ALL {
                assert_eq!(a.cmp(b), a.as_str().cmp(b.as_str()), "{a} against {b}");
            }
        }
    }

    #[test]
    fn it_serializes_as_the_catalog_writes_it() {
        assert_eq!(
            serde_json::to_string(&CheckId::Rbac001).unwrap(),
            "\"RBAC-001\""
        );
        let back: CheckId = serde_json::from_str("\"XL-003\"").unwrap();
        assert_eq!(back, CheckId::Xl003);
        assert!(serde_json::from_str::<CheckId>("\"XL-999\"").is_err());
    }
}
