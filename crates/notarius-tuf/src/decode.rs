//! Hand-written `Deserialize` for the objects a large targets file is made of: `FileMeta` and
//! `Targets`.
//!
//! The derived impls keep unknown members with `#[serde(flatten)]`, which makes serde buffer
//! the whole object into its private `Content` tree before it reads one field. For `Targets`
//! that is every target, copied once more before decoding (callgrind: most of a cold `list`'s
//! decoding). These read the members in one pass, keep unknown ones in `extra` as the derived
//! ones do, and give the derived impls' messages for missing, repeated and mistyped fields.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::metadata::{Delegations, Extra, FileMeta, Hashes, Targets};
use crate::time::serde_go_time;

/// A member's name: the index of one of the modelled fields, or another name, kept.
enum Member {
    Known(usize),
    Other(String),
}

/// Reads a member name against the modelled `fields`.
#[derive(Clone, Copy)]
struct Names(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Names {
    type Value = Member;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Names {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Member, E> {
        Ok(match self.0.iter().position(|n| *n == v) {
            Some(i) => Member::Known(i),
            None => Member::Other(v.to_owned()),
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Member, E> {
        Ok(match self.0.iter().position(|n| *n == v) {
            Some(i) => Member::Known(i),
            None => Member::Other(v),
        })
    }
}

/// Which modelled fields have been read: a second one is an error, as in the derived impls.
struct Seen(u32);

impl Seen {
    fn first<E: de::Error>(&mut self, names: &[&'static str], i: usize) -> Result<(), E> {
        let bit = 1u32 << i;
        if self.0 & bit != 0 {
            return Err(E::duplicate_field(names[i]));
        }
        self.0 |= bit;
        Ok(())
    }
}

fn keep<E: de::Error>(extra: &mut Extra, name: String, value: Value) -> Result<(), E> {
    match extra.entry(name) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(value);
            Ok(())
        }
        std::collections::btree_map::Entry::Occupied(dup) => {
            Err(E::custom(format!("duplicate key {:?}", dup.key())))
        }
    }
}

/// A map built in bulk: the members are collected, then sorted (canonical input is sorted
/// already, which costs one comparison a member) and the tree is built bottom-up. Inserting
/// 10,000 names one by one compared each against a dozen others (callgrind). As with
/// inserting, the last of two equal names wins (the strict parser has refused those already).
struct Bulk<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Bulk<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Members<V> {
            type Value = Bulk<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bulk<V>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(member) = map.next_entry::<String, V>()? {
                    members.push(member);
                }
                Ok(Bulk(BTreeMap::from_iter(members)))
            }
        }
        d.deserialize_map(Members(std::marker::PhantomData))
    }
}

/// A Go `time.Time` string, as `serde_go_time` reads it.
struct GoTime(DateTime<FixedOffset>);

impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_go_time::deserialize(d).map(GoTime)
    }
}

impl<'de> Deserialize<'de> for FileMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["custom", "hashes", "length"];
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FileMeta;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct FileMeta")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileMeta, A::Error> {
                let mut seen = Seen(0);
                let mut custom = None;
                let mut hashes = Hashes::new();
                let mut length = None;
                let mut extra = Extra::new();
                while let Some(m) = map.next_key_seed(Names(NAMES))? {
                    match m {
                        Member::Known(i) => {
                            seen.first::<A::Error>(NAMES, i)?;
                            match i {
                                0 => custom = map.next_value::<Option<Value>>()?,
                                1 => {
                                    hashes = map.next_value::<Option<Hashes>>()?.unwrap_or_default()
                                }
                                _ => length = Some(map.next_value::<i64>()?),
                            }
                        }
                        Member::Other(name) => keep(&mut extra, name, map.next_value()?)?,
                    }
                }
                Ok(FileMeta {
                    custom,
                    hashes,
                    length: length.ok_or_else(|| de::Error::missing_field("length"))?,
                    extra,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The same names, in the same order, as `<Targets as SignedPart>::FIELDS`.
        const NAMES: &[&str] = &["_type", "delegations", "expires", "targets", "version"];
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Targets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct Targets")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Targets, A::Error> {
                let mut seen = Seen(0);
                let mut typ = String::new();
                let mut delegations = Delegations::default();
                let mut expires = None;
                let mut targets = BTreeMap::new();
                let mut version = None;
                let mut extra = Extra::new();
                while let Some(m) = map.next_key_seed(Names(NAMES))? {
                    match m {
                        Member::Known(i) => {
                            seen.first::<A::Error>(NAMES, i)?;
                            match i {
                                0 => typ = map.next_value()?,
                                1 => {
                                    delegations =
                                        map.next_value::<Option<Delegations>>()?.unwrap_or_default()
                                }
                                2 => expires = Some(map.next_value::<GoTime>()?.0),
                                3 => {
                                    targets = map
                                        .next_value::<Option<Bulk<FileMeta>>>()?
                                        .map(|b| b.0)
                                        .unwrap_or_default()
                                }
                                _ => version = Some(map.next_value::<i64>()?),
                            }
                        }
                        Member::Other(name) => keep(&mut extra, name, map.next_value()?)?,
                    }
                }
                Ok(Targets {
                    typ,
                    delegations,
                    expires: expires.ok_or_else(|| de::Error::missing_field("expires"))?,
                    targets,
                    version: version.ok_or_else(|| de::Error::missing_field("version"))?,
                    extra,
                })
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the derived impls (with `#[serde(flatten)]`) did, kept here to compare against.
    mod derived {
        use super::super::*;
        use serde::Deserialize;

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct FileMeta {
            #[serde(default)]
            pub custom: Option<Value>,
            #[serde(default, deserialize_with = "nullable")]
            pub hashes: Hashes,
            pub length: i64,
            #[serde(flatten)]
            pub extra: Extra,
        }

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct Targets {
            #[serde(rename = "_type", default)]
            pub typ: String,
            #[serde(default, deserialize_with = "nullable")]
            pub delegations: Delegations,
            #[serde(with = "serde_go_time")]
            pub expires: DateTime<FixedOffset>,
            #[serde(default, deserialize_with = "nullable")]
            pub targets: BTreeMap<String, FileMeta>,
            pub version: i64,
            #[serde(flatten)]
            pub extra: Extra,
        }

        fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
        where
            D: serde::Deserializer<'de>,
            T: Deserialize<'de> + Default,
        {
            Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
        }
    }

    fn same_as_derived(v: Value) {
        let text = v.to_string();
        let ours = Targets::deserialize(&v).map_err(|e| e.to_string());
        let ours_text = serde_json::from_str::<Targets>(&text).map_err(|e| e.to_string());
        let theirs = derived::Targets::deserialize(&v).map_err(|e| e.to_string());
        match (&ours, &theirs) {
            (Ok(o), Ok(t)) => {
                assert_eq!(o.typ, t.typ);
                assert_eq!(o.delegations, t.delegations);
                assert_eq!(o.expires, t.expires);
                assert_eq!(o.version, t.version);
                assert_eq!(o.extra, t.extra);
                assert_eq!(o.targets.len(), t.targets.len());
                for ((on, om), (tn, tm)) in o.targets.iter().zip(&t.targets) {
                    assert_eq!(on, tn);
                    assert_eq!(om.custom, tm.custom);
                    assert_eq!(om.hashes, tm.hashes);
                    assert_eq!(om.length, tm.length);
                    assert_eq!(om.extra, tm.extra);
                }
                assert_eq!(ours_text.as_ref().ok(), Some(o), "{text}");
            }
            (Err(o), Err(t)) => {
                assert_eq!(o, t, "{text}");
                assert!(ours_text.is_err(), "{text}");
            }
            _ => panic!("{text}: ours {ours:?}, derived {theirs:?}"),
        }
    }

    #[test]
    fn decodes_as_the_derived_impls_did() {
        let good = json!({
            "_type": "Targets",
            "delegations": {"keys": {}, "roles": []},
            "expires": "2027-01-01T00:00:00Z",
            "targets": {
                "a": {"hashes": {"sha256": "AAEC"}, "length": 3},
                "b": {"custom": {"x": [1, true]}, "hashes": null, "length": 0, "zz": "kept"},
                "c": {"custom": null, "length": 9}
            },
            "version": 4,
            "x-extra": {"b": 1}
        });
        same_as_derived(good.clone());
        for (path, bad) in [
            ("/version", json!("4")),
            ("/version", json!(1.5)),
            ("/expires", json!("yesterday")),
            ("/expires", json!(7)),
            ("/targets", json!([])),
            ("/targets", json!(null)),
            ("/delegations", json!(null)),
            ("/delegations", json!(5)),
            ("/targets/a", json!(5)),
            ("/targets/a/length", json!(null)),
            ("/targets/a/length", json!(-1)),
            ("/targets/a/hashes", json!("x")),
            ("/targets/a/hashes/sha256", json!("not base64!")),
            ("/targets/a/custom", json!("plain")),
            ("/_type", json!(null)),
            ("/_type", json!(3)),
        ] {
            let mut v = good.clone();
            let (parent, member) = path.rsplit_once('/').unwrap();
            v.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(member.to_owned(), bad);
            same_as_derived(v);
        }
        for (parent, member) in [
            ("", "version"),
            ("", "expires"),
            ("", "_type"),
            ("", "targets"),
            ("/targets/a", "length"),
            ("/targets/a", "hashes"),
        ] {
            let mut v = good.clone();
            v.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(member);
            same_as_derived(v);
        }
        same_as_derived(json!([1, 2]));
        same_as_derived(json!("Targets"));
    }

    #[test]
    fn repeated_members_are_refused() {
        for text in [
            r#"{"expires":"2027-01-01T00:00:00Z","version":1,"version":2}"#,
            r#"{"expires":"2027-01-01T00:00:00Z","version":1,"x":1,"x":2}"#,
            r#"{"expires":"2027-01-01T00:00:00Z","version":1,"targets":{"a":{"length":1,"length":2}}}"#,
        ] {
            assert!(serde_json::from_str::<Targets>(text).is_err(), "{text}");
        }
    }
}
