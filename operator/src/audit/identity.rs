//! Object identity across audits, for what an incremental audit keeps
//! ([`super::incremental`], [`super::rbac::keep`]): while a kept snapshot holds an object, no
//! other object can have its address, so "the same object" is a pointer comparison.

use foldhash::HashMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;

/// An object's identity while its snapshot holds it: the address of its metadata.
pub fn address(meta: &ObjectMeta) -> usize {
    std::ptr::from_ref(meta) as usize
}

/// The same objects, in the same order: the same pointers, or equal values (a watch replaces
/// an object whose trimmed form did not change, a Node's status update say, by an equal one).
pub fn same<T: PartialEq>(a: &[Arc<T>], b: &[Arc<T>]) -> bool {
    same_by(a, b, |x, y| x == y)
}

/// The same objects (pointers), in the same order.
pub fn identical<T>(a: &[Arc<T>], b: &[Arc<T>]) -> bool {
    same_by(a, b, |_, _| false)
}

/// The same objects by name, in the same order: what the RBAC analysis reads of Namespaces
/// (each has a `default` ServiceAccount). A label change (Pod Security enforcement) leaves
/// RBAC kept; XL-003 and WL-013, which read labels, compare them themselves.
pub fn same_names<K: kube::Resource>(a: &[Arc<K>], b: &[Arc<K>]) -> bool {
    same_by(a, b, |x, y| x.meta().name == y.meta().name)
}

/// The same objects in the same order: each the same pointer or `equal` to its counterpart.
fn same_by<T>(a: &[Arc<T>], b: &[Arc<T>], equal: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| Arc::ptr_eq(x, y) || equal(x, y))
}

/// A result per object of `now`, kept by place: the object at a place of `then` (a list still
/// held, whose results are `kept`) that is the same object or an equal one keeps its result;
/// any other, or every object when the lists differ in length, is `compute`d. For results
/// that depend on their object alone.
pub fn by_place<T: PartialEq, R: Clone>(
    now: &[Arc<T>],
    then: Option<(&[Arc<T>], &[R])>,
    mut compute: impl FnMut(&T) -> R,
) -> Vec<R> {
    match then.filter(|(then, kept)| then.len() == now.len() && kept.len() == now.len()) {
        Some((then, kept)) => now
            .iter()
            .zip(then)
            .zip(kept)
            .map(|((x, y), r)| {
                if Arc::ptr_eq(x, y) || x == y {
                    r.clone()
                } else {
                    compute(x)
                }
            })
            .collect(),
        None => now.iter().map(|x| compute(x)).collect(),
    }
}

/// Parts kept by the address of their object (a workload's, a binding's, a Node's), in the
/// order the audit asked for them. The next audit asks for its objects' parts in its own
/// order, mostly the same objects in the same order: a part is found at the place of the
/// question by comparing the address, and only after a first miss by an index built then.
/// Addresses are valid only while the snapshot they are of is held.
#[derive(Debug)]
pub struct ByPlace<T> {
    items: Vec<(usize, Option<T>)>,
    /// Address → place, once a part was not at its place.
    index: Option<HashMap<usize, usize>>,
    /// How many parts were asked for: the place where the next one is expected.
    asked: usize,
}

impl<T> Default for ByPlace<T> {
    fn default() -> Self {
        ByPlace::with_capacity(0)
    }
}

impl<T> ByPlace<T> {
    pub fn with_capacity(n: usize) -> Self {
        ByPlace {
            items: Vec::with_capacity(n),
            index: None,
            asked: 0,
        }
    }

    /// The part of the object at `address`, asked for next (expected at the place of the
    /// question).
    pub fn take_next(&mut self, address: usize) -> Option<T> {
        let at = self.asked;
        self.asked += 1;
        if let Some((a, part)) = self.items.get_mut(at)
            && *a == address
        {
            return part.take();
        }
        let items = &self.items;
        let index = self.index.get_or_insert_with(|| {
            items
                .iter()
                .enumerate()
                .map(|(i, (a, _))| (*a, i))
                .collect()
        });
        let i = *index.get(&address)?;
        self.items[i].1.take()
    }

    /// The part of the object at `address`, asked for next: the kept one if there is one
    /// (then `true`), else `compute`'s. With `keep`, a copy of it is pushed there for the
    /// next audit.
    pub fn take_next_or(
        &mut self,
        address: usize,
        keep: Option<&mut ByPlace<T>>,
        compute: impl FnOnce() -> T,
    ) -> (T, bool)
    where
        T: Clone,
    {
        let (part, kept) = match self.take_next(address) {
            Some(part) => (part, true),
            None => (compute(), false),
        };
        if let Some(keep) = keep {
            keep.push(address, part.clone());
        }
        (part, kept)
    }

    /// Keep the part of the next object in order.
    pub fn push(&mut self, address: usize, part: T) {
        self.items.push((address, Some(part)));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
