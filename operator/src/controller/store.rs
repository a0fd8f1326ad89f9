//! The controller's cache of one kind: its watched objects, by namespace and name.
//!
//! kube's reflector store keys each object by an `ObjectRef` holding copies of its name,
//! namespace and UID (about 300 bytes an object with the table's slot: 18 MB at S in a heap
//! profile of the operator, five times that at M). Here the table holds only the objects'
//! pointers and finds an object by hashing the name and namespace the object itself holds:
//! about 10 bytes an object. It applies watch events as kube's reflector does (a list
//! replaces the whole content when it completes, so objects deleted while the watch was
//! down are gone), and only the controller's own code reads it.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use kube::Resource;
use kube::runtime::watcher;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

/// The objects of one kind; clones share them.
pub struct Cache<K> {
    inner: Arc<RwLock<Inner<K>>>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K> {
    objects: HashTable<Arc<K>>,
    /// A list under way (between `Init` and `InitDone`): what it has read so far.
    listing: Option<HashTable<Arc<K>>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache {
            inner: Arc::new(RwLock::new(Inner {
                objects: HashTable::new(),
                listing: None,
            })),
        }
    }
}

fn key<K: Resource>(o: &K) -> (&str, &str) {
    let m = o.meta();
    (
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or(""),
    )
}

fn hash<K: Resource>(o: &K) -> u64 {
    FixedState::default().hash_one(key(o))
}

/// Whether a held object has `o`'s name and namespace (the table's equality).
fn same_key<'a, K: Resource>(o: &'a K) -> impl Fn(&Arc<K>) -> bool + 'a {
    move |x| key(&**x) == key(o)
}

/// Insert `o`, replacing the object of its name and namespace.
fn put<K: Resource>(table: &mut HashTable<Arc<K>>, o: Arc<K>) {
    let h = hash(&*o);
    match table.find_entry(h, same_key(&*o)) {
        Ok(mut found) => *found.get_mut() = o,
        Err(_) => {
            table.insert_unique(h, o, |x| hash(&**x));
        }
    }
}

impl<K: Resource + Clone> Cache<K> {
    pub fn new() -> Cache<K> {
        Cache::default()
    }

    /// Every object held (shared, not copied), in the table's order: the same order while
    /// nothing changes.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.read(|objects| objects.iter().cloned().collect())
    }

    pub fn len(&self) -> usize {
        self.read(|objects| objects.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an object of `o`'s name and namespace is held and equal to it.
    pub fn holds_equal(&self, o: &K) -> bool
    where
        K: PartialEq,
    {
        self.read(|objects| {
            objects
                .find(hash(o), same_key(o))
                .is_some_and(|x| **x == *o)
        })
    }

    fn read<T>(&self, f: impl FnOnce(&HashTable<Arc<K>>) -> T) -> T {
        f(&self.inner.read().unwrap_or_else(|e| e.into_inner()).objects)
    }

    /// Apply a watch event as kube's reflector does (taking its object: no copy).
    pub fn apply(&self, event: watcher::Event<K>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        match event {
            watcher::Event::Apply(o) => put(&mut inner.objects, Arc::new(o)),
            watcher::Event::Delete(o) => {
                if let Ok(found) = inner.objects.find_entry(hash(&o), same_key(&o)) {
                    found.remove();
                }
            }
            watcher::Event::Init => inner.listing = Some(HashTable::new()),
            watcher::Event::InitApply(o) => {
                put(
                    inner.listing.get_or_insert_with(HashTable::new),
                    Arc::new(o),
                );
            }
            watcher::Event::InitDone => {
                let listed = inner.listing.take().unwrap_or_default();
                inner.objects = listed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector;

    fn cm(ns: &str, name: &str, value: &str) -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": ns},
            "data": {"v": value}
        }))
        .unwrap()
    }

    fn contents(c: &Cache<ConfigMap>) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = c
            .state()
            .iter()
            .map(|o| {
                let (ns, name) = key(&**o);
                let value = o.data.as_ref().unwrap()["v"].clone();
                (ns.to_string(), name.to_string(), value)
            })
            .collect();
        v.sort();
        v
    }

    /// The same contents as kube's reflector store after every event of a sequence: a list
    /// replacing what was held, objects of one name in two namespaces, updates, deletes (of
    /// held objects and of unknown ones), a second list while objects are held.
    #[test]
    fn holds_what_kubes_reflector_holds() {
        use watcher::Event::*;
        let events = vec![
            Init,
            InitApply(cm("a", "x", "1")),
            InitApply(cm("b", "x", "2")),
            InitApply(cm("a", "x", "3")),
            InitDone,
            Apply(cm("a", "y", "4")),
            Apply(cm("b", "x", "5")),
            Delete(cm("a", "x", "")),
            Delete(cm("c", "gone", "")),
            Apply(cm("", "cluster", "6")),
            Init,
            InitApply(cm("a", "y", "7")),
            InitApply(cm("d", "z", "8")),
            InitDone,
            Apply(cm("d", "z", "9")),
        ];
        let ours = Cache::<ConfigMap>::new();
        let (theirs, mut writer) = reflector::store::<ConfigMap>();
        for (i, ev) in events.iter().enumerate() {
            ours.apply(ev.clone());
            writer.apply_watcher_event(ev);
            let mut expected: Vec<_> = theirs
                .state()
                .iter()
                .map(|o| {
                    let m = &o.metadata;
                    (
                        m.namespace.clone().unwrap_or_default(),
                        m.name.clone().unwrap_or_default(),
                        o.data.as_ref().unwrap()["v"].clone(),
                    )
                })
                .collect();
            expected.sort();
            assert_eq!(contents(&ours), expected, "after event {i}: {ev:?}");
            assert_eq!(ours.len(), expected.len());
        }
        assert!(ours.holds_equal(&cm("d", "z", "9")));
        assert!(!ours.holds_equal(&cm("d", "z", "8")), "an older version");
        assert!(!ours.holds_equal(&cm("e", "z", "9")), "another namespace");
    }

    /// While a list is under way, the objects held before it stay (an audit meanwhile reads
    /// them); and the table's order does not move while nothing changes.
    #[test]
    fn a_list_under_way_replaces_nothing_until_done() {
        let c = Cache::<ConfigMap>::new();
        c.apply(watcher::Event::Apply(cm("a", "x", "1")));
        c.apply(watcher::Event::Apply(cm("a", "y", "2")));
        let before = c.state();
        c.apply(watcher::Event::Init);
        c.apply(watcher::Event::InitApply(cm("a", "z", "3")));
        let during = c.state();
        assert_eq!(during.len(), 2);
        assert!(during.iter().zip(&before).all(|(a, b)| Arc::ptr_eq(a, b)));
        c.apply(watcher::Event::InitDone);
        assert_eq!(contents(&c), [("a".into(), "z".into(), "3".into())]);
    }
}
