//! Atoms and datums in RFC 7047 JSON notation, plus the RFC 7047 error
//! object ([`OvsdbError`]) shared by the transaction engine.
//!
//! Contract:
//! * [`Atom`] is totally ordered (reals by `f64::total_cmp`), so a
//!   [`Datum`] is a canonical sorted set of atoms or a sorted map with unique
//!   keys; two datums are equal iff they hold the same elements.
//! * JSON: a set with exactly one element is written as the bare atom,
//!   other sets as `["set",[...]]`, maps always as `["map",[[k,v],...]]`,
//!   uuids as `["uuid","..."]`. [`Datum::from_json`] accepts every RFC 7047
//!   spelling for the given [`Type`] and type-checks it; `["named-uuid",n]`
//!   is resolved through a caller-provided [`SymbolTable`] (an unknown name
//!   gets a fresh random uuid, so forward references work as in
//!   ovsdb-server), and is a syntax error without one.
//! * Parsing does work linear in the input size and never panics.
//! * [`Datum::check_constraints`] checks element counts and base-type
//!   constraints and fails with `constraint violation`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde_json::{Value, json};

use crate::schema::{AtomicType, BaseType, Type, enum_list};

/// An RFC 7047 error: `{"error": ..., "details": ..., "syntax": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct OvsdbError {
    /// The error kind, e.g. `"syntax error"`, `"constraint violation"`.
    pub error: String,
    pub details: Option<String>,
    /// The offending JSON, for syntax-type errors (as ovsdb-server adds).
    pub syntax: Option<Value>,
}

impl OvsdbError {
    pub fn new(error: &str, details: impl Into<String>) -> Self {
        OvsdbError {
            error: error.into(),
            details: Some(details.into()),
            syntax: None,
        }
    }

    /// A `syntax error` quoting the offending JSON.
    pub fn syntax(json: &Value, details: impl Into<String>) -> Self {
        Self::new("syntax error", details).with_syntax(json)
    }

    /// Attaches the offending JSON.
    pub fn with_syntax(mut self, json: &Value) -> Self {
        self.syntax = Some(Value::String(json.to_string()));
        self
    }

    pub fn constraint(details: impl Into<String>) -> Self {
        Self::new("constraint violation", details)
    }

    /// The details if any, else the error kind.
    pub fn details_or_error(&self) -> &str {
        self.details.as_deref().unwrap_or(&self.error)
    }

    /// The RFC 7047 error object.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("error".into(), self.error.clone().into());
        if let Some(d) = &self.details {
            m.insert("details".into(), d.clone().into());
        }
        if let Some(s) = &self.syntax {
            m.insert("syntax".into(), s.clone());
        }
        Value::Object(m)
    }
}

impl fmt::Display for OvsdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.details {
            Some(d) => write!(f, "{}: {}", self.error, d),
            None => f.write_str(&self.error),
        }
    }
}

impl std::error::Error for OvsdbError {}

/// A 128-bit UUID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(pub uuid::Uuid);

impl Uuid {
    /// A fresh random (v4) uuid.
    ///
    /// Not one `getrandom` system call per uuid (a transaction makes at
    /// least one, for the new `_version`): the bits are a keyed hash
    /// (SipHash, with a key the standard library draws from the operating
    /// system once per thread) of a per-thread counter, which is as unique
    /// as random bits (a pseudorandom function of distinct inputs), though
    /// not meant to be unguessable, as Open vSwitch's own generator.
    pub fn random() -> Self {
        use std::cell::Cell;
        use std::hash::{BuildHasher, RandomState};
        thread_local! {
            static GEN: (RandomState, Cell<u64>) = (RandomState::new(), Cell::new(0));
        }
        let (hi, lo) = GEN.with(|(key, counter)| {
            let n = counter.get();
            counter.set(n.wrapping_add(1));
            (key.hash_one((n, 0u8)), key.hash_one((n, 1u8)))
        });
        let bits = (u128::from(hi) << 64) | u128::from(lo);
        Uuid(uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid())
    }

    /// The all-zero uuid.
    pub fn nil() -> Self {
        Uuid(uuid::Uuid::nil())
    }

    /// `["uuid","..."]`.
    pub fn to_json(&self) -> Value {
        json!(["uuid", self.to_string()])
    }

    /// Parses the canonical 36-character hyphenated form only.
    pub fn parse_strict(s: &str) -> Option<Self> {
        if s.len() != 36 {
            return None;
        }
        let ok = s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        if !ok {
            return None;
        }
        uuid::Uuid::parse_str(s).ok().map(Uuid)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl FromStr for Uuid {
    type Err = OvsdbError;
    fn from_str(s: &str) -> Result<Self, OvsdbError> {
        Uuid::parse_strict(s).ok_or_else(|| OvsdbError::new("syntax error", "bad uuid"))
    }
}

/// `uuid-name` symbols of one transaction.
#[derive(Debug, Default, Clone)]
pub struct SymbolTable {
    syms: HashMap<String, Symbol>,
}

/// One `uuid-name` symbol.
#[derive(Debug, Clone, Copy)]
pub struct Symbol {
    pub uuid: Uuid,
    /// Set once an `insert` with this `uuid-name` ran.
    pub created: bool,
}

impl SymbolTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// The uuid for `name`, creating an (uncreated) symbol if needed.
    pub fn resolve(&mut self, name: &str) -> Uuid {
        self.syms
            .entry(name.to_owned())
            .or_insert_with(|| Symbol {
                uuid: Uuid::random(),
                created: false,
            })
            .uuid
    }

    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.syms.get(name)
    }

    /// Records an insert under `name`; returns the uuid to use.
    pub fn create(&mut self, name: &str, uuid: Uuid) -> Uuid {
        let sym = self.syms.entry(name.to_owned()).or_insert(Symbol {
            uuid,
            created: false,
        });
        sym.created = true;
        sym.uuid
    }
}

/// One atomic value.
#[derive(Debug, Clone)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(String),
    Uuid(Uuid),
}

impl Atom {
    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
        }
    }

    /// The atomic type of this atom.
    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) => AtomicType::Uuid,
        }
    }

    /// The default atom of a type: 0, 0.0, false, "", all-zero uuid.
    pub fn default_for(t: AtomicType) -> Atom {
        match t {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(Uuid::nil()),
        }
    }

    /// RFC 7047 JSON for the atom.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => serde_json::Number::from_f64(*r)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => u.to_json(),
        }
    }

    /// Unquoted text form, as used in error messages.
    pub fn to_plain_string(&self) -> String {
        match self {
            Atom::Integer(i) => i.to_string(),
            Atom::Real(r) => r.to_string(),
            Atom::Boolean(b) => b.to_string(),
            Atom::String(s) => s.clone(),
            Atom::Uuid(u) => u.to_string(),
        }
    }

    /// Parses an atom of `base`'s atomic type (no constraint checks).
    pub fn from_json(
        v: &Value,
        base: &BaseType,
        symtab: Option<&mut SymbolTable>,
    ) -> Result<Atom, OvsdbError> {
        let bad = |what: &str| OvsdbError::syntax(v, format!("expected {what}"));
        Ok(match base.atomic {
            AtomicType::Integer => match v.as_i64() {
                Some(i) if !v.is_f64() => Atom::Integer(i),
                _ => return Err(bad("integer")),
            },
            AtomicType::Real => match v.as_f64() {
                Some(r) if r.is_finite() => Atom::Real(r),
                _ => return Err(bad("real")),
            },
            AtomicType::Boolean => Atom::Boolean(v.as_bool().ok_or_else(|| bad("boolean"))?),
            AtomicType::String => Atom::String(v.as_str().ok_or_else(|| bad("string"))?.to_owned()),
            AtomicType::Uuid => {
                let expected = || bad("[\"uuid\", <string>]");
                let Some([tag, Value::String(s)]) = v.as_array().map(Vec::as_slice) else {
                    return Err(expected());
                };
                match tag.as_str() {
                    Some("uuid") => Atom::Uuid(
                        Uuid::parse_strict(s).ok_or_else(|| OvsdbError::syntax(v, "bad uuid"))?,
                    ),
                    Some("named-uuid") => match symtab {
                        Some(st) => Atom::Uuid(st.resolve(s)),
                        None => {
                            return Err(OvsdbError::syntax(
                                v,
                                "named-uuid is not allowed in this context",
                            ));
                        }
                    },
                    _ => return Err(expected()),
                }
            }
        })
    }

    /// Checks `base`'s enum/range/length constraints.
    pub fn check_constraints(&self, base: &BaseType) -> Result<(), OvsdbError> {
        if let Some(e) = &base.enum_ {
            if !e.contains_key(self) {
                return Err(OvsdbError::constraint(format!(
                    "{} is not one of the allowed values ({})",
                    self.to_plain_string(),
                    enum_list(e)
                )));
            }
            return Ok(());
        }
        match self {
            Atom::Integer(i) => {
                let lo = base.min_integer.unwrap_or(i64::MIN);
                let hi = base.max_integer.unwrap_or(i64::MAX);
                if *i < lo || *i > hi {
                    let msg = match (base.min_integer, base.max_integer) {
                        (Some(lo), Some(hi)) => {
                            format!("{i} is not in the valid range {lo} to {hi} (inclusive)")
                        }
                        (Some(lo), None) => format!("{i} is less than minimum allowed value {lo}"),
                        _ => format!("{i} is greater than maximum allowed value {hi}"),
                    };
                    return Err(OvsdbError::constraint(msg));
                }
            }
            Atom::Real(r) => {
                let below = base.min_real.is_some_and(|lo| *r < lo);
                let above = base.max_real.is_some_and(|hi| *r > hi);
                if below || above {
                    let msg = match (base.min_real, base.max_real) {
                        (Some(lo), Some(hi)) => {
                            format!("{r} is not in the valid range {lo} to {hi} (inclusive)")
                        }
                        (Some(lo), None) => format!("{r} is less than minimum allowed value {lo}"),
                        (_, hi) => format!(
                            "{r} is greater than maximum allowed value {}",
                            hi.unwrap_or(f64::MAX)
                        ),
                    };
                    return Err(OvsdbError::constraint(msg));
                }
            }
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                if let Some(lo) = base.min_length
                    && n < lo
                {
                    return Err(OvsdbError::constraint(format!(
                        "\"{s}\" length {n} is less than minimum allowed length {lo}"
                    )));
                }
                if let Some(hi) = base.max_length
                    && n > hi
                {
                    return Err(OvsdbError::constraint(format!(
                        "\"{s}\" length {n} is greater than maximum allowed length {hi}"
                    )));
                }
            }
            Atom::Boolean(_) | Atom::Uuid(_) => {}
        }
        Ok(())
    }

    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Atom {}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Atom::Integer(i) => i.hash(state),
            Atom::Real(r) => r.to_bits().hash(state),
            Atom::Boolean(b) => b.hash(state),
            Atom::String(s) => s.hash(state),
            Atom::Uuid(u) => u.hash(state),
        }
    }
}

/// A column value: a set of atoms or a map from atoms to atoms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datum {
    Set(BTreeSet<Atom>),
    Map(BTreeMap<Atom, Atom>),
}

impl Datum {
    /// A one-element set.
    pub fn scalar(a: Atom) -> Datum {
        Datum::Set(BTreeSet::from([a]))
    }

    /// An empty set (or map, if `ty` is a map type).
    pub fn empty_for(ty: &Type) -> Datum {
        if ty.is_map() {
            Datum::Map(BTreeMap::new())
        } else {
            Datum::Set(BTreeSet::new())
        }
    }

    /// RFC 7047 default: the default atom when `min == 1`, else empty.
    pub fn default_for(ty: &Type) -> Datum {
        if ty.min == 0 {
            return Datum::empty_for(ty);
        }
        let k = Atom::default_for(ty.key.atomic);
        match &ty.value {
            Some(v) => Datum::Map(BTreeMap::from([(k, Atom::default_for(v.atomic))])),
            None => Datum::scalar(k),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set elements, or map keys.
    pub fn keys(&self) -> Box<dyn Iterator<Item = &Atom> + '_> {
        match self {
            Datum::Set(s) => Box::new(s.iter()),
            Datum::Map(m) => Box::new(m.keys()),
        }
    }

    /// Map values (empty for a set).
    pub fn values(&self) -> Box<dyn Iterator<Item = &Atom> + '_> {
        match self {
            Datum::Set(_) => Box::new(std::iter::empty()),
            Datum::Map(m) => Box::new(m.values()),
        }
    }

    /// True if `a` is a set element or map key.
    pub fn contains_key(&self, a: &Atom) -> bool {
        match self {
            Datum::Set(s) => s.contains(a),
            Datum::Map(m) => m.contains_key(a),
        }
    }

    /// The only element of a one-element set.
    pub fn as_scalar(&self) -> Option<&Atom> {
        match self {
            Datum::Set(s) if s.len() == 1 => s.iter().next(),
            _ => None,
        }
    }

    /// Every uuid (keys and values) in the datum.
    pub fn uuids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.keys().chain(self.values()).filter_map(Atom::as_uuid)
    }

    /// RFC 7047 JSON notation.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(s) if s.len() == 1 => s.iter().next().map_or(Value::Null, Atom::to_json),
            Datum::Set(s) => json!(["set", s.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Datum::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// Parses RFC 7047 JSON as a datum of type `ty`: type-checks atoms and
    /// the element count, rejects duplicates. Does not check enum/range
    /// constraints (see [`Datum::check_constraints`]).
    pub fn from_json(
        v: &Value,
        ty: &Type,
        mut symtab: Option<&mut SymbolTable>,
    ) -> Result<Datum, OvsdbError> {
        let tagged = |tag: &str| -> Option<&Vec<Value>> {
            match v.as_array().map(Vec::as_slice) {
                Some([Value::String(t), Value::Array(elems)]) if t == tag => Some(elems),
                _ => None,
            }
        };
        let datum = if let Some(vt) = &ty.value {
            let Some(pairs) = tagged("map") else {
                return Err(OvsdbError::syntax(v, "expected [\"map\", <pairs>]"));
            };
            let mut m = BTreeMap::new();
            for p in pairs {
                let Some([k, val]) = p.as_array().map(Vec::as_slice) else {
                    return Err(OvsdbError::syntax(p, "expected <key>, <value> pair"));
                };
                let k = Atom::from_json(k, &ty.key, symtab.as_deref_mut())?;
                let val = Atom::from_json(val, vt, symtab.as_deref_mut())?;
                if m.insert(k, val).is_some() {
                    return Err(OvsdbError::syntax(v, "map contains duplicate key"));
                }
            }
            Datum::Map(m)
        } else if let Some(elems) = tagged("set") {
            let mut s = BTreeSet::new();
            for e in elems {
                if !s.insert(Atom::from_json(e, &ty.key, symtab.as_deref_mut())?) {
                    return Err(OvsdbError::syntax(v, "set contains duplicate value"));
                }
            }
            Datum::Set(s)
        } else {
            Datum::scalar(Atom::from_json(v, &ty.key, symtab)?)
        };
        let n = datum.len();
        if n < ty.min || !ty.max.allows(n) {
            return Err(OvsdbError::syntax(
                v,
                format!(
                    "{} must have {} to {} members but {n} are present",
                    if ty.is_map() { "map" } else { "set" },
                    ty.min,
                    ty.max
                ),
            ));
        }
        Ok(datum)
    }

    /// Checks the element count and every atom against `ty`.
    pub fn check_constraints(&self, ty: &Type) -> Result<(), OvsdbError> {
        let n = self.len();
        if n < ty.min || !ty.max.allows(n) {
            return Err(OvsdbError::constraint(format!(
                "{n} values when type requires between {} and {}",
                ty.min, ty.max
            )));
        }
        if ty.is_map() != matches!(self, Datum::Map(_)) {
            return Err(OvsdbError::constraint(
                "datum has the wrong shape for its type",
            ));
        }
        for k in self.keys() {
            if k.atomic_type() != ty.key.atomic {
                return Err(OvsdbError::constraint("atom has the wrong type"));
            }
            k.check_constraints(&ty.key)?;
        }
        if let Some(vt) = &ty.value {
            for v in self.values() {
                if v.atomic_type() != vt.atomic {
                    return Err(OvsdbError::constraint("atom has the wrong type"));
                }
                v.check_constraints(vt)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Max;
    use proptest::prelude::*;

    fn ty(v: Value) -> Type {
        Type::from_json(&v).unwrap()
    }

    #[test]
    fn random_uuids_are_distinct_version_4_on_every_thread() {
        let batch = || (0..20_000).map(|_| Uuid::random()).collect::<Vec<_>>();
        let mut all = batch();
        let other = std::thread::spawn(batch).join().unwrap();
        all.extend(other);
        for u in &all {
            assert_eq!(u.0.get_version_num(), 4, "{u}");
            assert_eq!(u.0.get_variant(), uuid::Variant::RFC4122, "{u}");
        }
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        // Not a counter in disguise: consecutive uuids differ in about
        // half of their bits.
        let flips: u32 = all
            .windows(2)
            .take(1000)
            .map(|w| (w[0].0.as_u128() ^ w[1].0.as_u128()).count_ones())
            .sum();
        assert!((50_000..72_000).contains(&flips), "{flips}");
    }

    #[test]
    fn json_notation() {
        let t = ty(json!({"key":"string","min":0,"max":"unlimited"}));
        let d = Datum::from_json(&json!("a"), &t, None).unwrap();
        assert_eq!(d.to_json(), json!("a"));
        let d = Datum::from_json(&json!(["set", ["b", "a"]]), &t, None).unwrap();
        assert_eq!(d.to_json(), json!(["set", ["a", "b"]]));
        let d = Datum::from_json(&json!(["set", []]), &t, None).unwrap();
        assert_eq!(d.to_json(), json!(["set", []]));
        let d = Datum::from_json(&json!(["set", ["x"]]), &t, None).unwrap();
        assert_eq!(d.to_json(), json!("x"));
        let m = ty(json!({"key":"string","value":"integer","min":0,"max":"unlimited"}));
        let d = Datum::from_json(&json!(["map", [["b", 2], ["a", 1]]]), &m, None).unwrap();
        assert_eq!(d.to_json(), json!(["map", [["a", 1], ["b", 2]]]));
        let d = Datum::from_json(&json!(["map", [["a", 1]]]), &m, None).unwrap();
        assert_eq!(d.to_json(), json!(["map", [["a", 1]]]));
        assert_eq!(Datum::default_for(&m).to_json(), json!(["map", []]));
        let u = ty(json!("uuid"));
        let s = "8f731435-e22b-4722-9dd7-456f7fbbf1df";
        let d = Datum::from_json(&json!(["uuid", s]), &u, None).unwrap();
        assert_eq!(d.to_json(), json!(["uuid", s]));
    }

    #[test]
    fn parse_errors() {
        let t = ty(json!({"key":"string","min":0,"max":1}));
        let e = Datum::from_json(&json!(1), &t, None).unwrap_err();
        assert_eq!(e.error, "syntax error");
        assert_eq!(e.details.as_deref(), Some("expected string"));
        let e = Datum::from_json(&json!(["set", ["a", "b"]]), &t, None).unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some("set must have 0 to 1 members but 2 are present")
        );
        let t1 = ty(json!({"key":"string","min":1,"max":"unlimited"}));
        let e = Datum::from_json(&json!(["set", []]), &t1, None).unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some("set must have 1 to 4294967295 members but 0 are present")
        );
        assert!(Datum::from_json(&json!(["set", ["a", "a"]]), &t1, None).is_err());
        let i = ty(json!("integer"));
        assert!(Datum::from_json(&json!(1.5), &i, None).is_err());
        assert!(Datum::from_json(&json!(u64::MAX), &i, None).is_err());
        let u = ty(json!("uuid"));
        let e = Datum::from_json(&json!("abc"), &u, None).unwrap_err();
        assert_eq!(e.details.as_deref(), Some("expected [\"uuid\", <string>]"));
        assert!(Datum::from_json(&json!(["uuid", "zz"]), &u, None).is_err());
        assert!(Datum::from_json(&json!(["named-uuid", "a"]), &u, None).is_err());
        let m = ty(json!({"key":"string","value":"integer","min":0,"max":"unlimited"}));
        assert!(Datum::from_json(&json!(["set", []]), &m, None).is_err());
        assert!(Datum::from_json(&json!(["map", [["a", 1], ["a", 2]]]), &m, None).is_err());
        assert!(Datum::from_json(&json!(["map", [["a"]]]), &m, None).is_err());
    }

    #[test]
    fn named_uuid_resolution() {
        let u = ty(json!("uuid"));
        let mut st = SymbolTable::new();
        let a = Datum::from_json(&json!(["named-uuid", "x"]), &u, Some(&mut st)).unwrap();
        let b = Datum::from_json(&json!(["named-uuid", "x"]), &u, Some(&mut st)).unwrap();
        assert_eq!(a, b);
        assert!(!st.get("x").unwrap().created);
        let id = st.create("x", Uuid::random());
        assert_eq!(Datum::scalar(Atom::Uuid(id)), a);
    }

    #[test]
    fn defaults_and_constraints() {
        assert_eq!(
            Datum::default_for(&ty(json!("integer"))).to_json(),
            json!(0)
        );
        assert_eq!(Datum::default_for(&ty(json!("real"))).to_json(), json!(0.0));
        assert_eq!(
            Datum::default_for(&ty(json!("boolean"))).to_json(),
            json!(false)
        );
        assert_eq!(
            Datum::default_for(&ty(json!("string"))).to_json(),
            json!("")
        );
        assert_eq!(
            Datum::default_for(&ty(json!("uuid"))).to_json(),
            json!(["uuid", "00000000-0000-0000-0000-000000000000"])
        );
        let t = ty(json!({"key":{"type":"string","enum":["set",["secure","standalone"]]},"min":0}));
        let d = Datum::scalar(Atom::String("bogus".into()));
        let e = d.check_constraints(&t).unwrap_err();
        assert_eq!(e.error, "constraint violation");
        assert_eq!(
            e.details.as_deref(),
            Some("bogus is not one of the allowed values ([secure, standalone])")
        );
        let t = ty(json!({"key":{"type":"integer","minInteger":0,"maxInteger":63}}));
        let e = Datum::scalar(Atom::Integer(100))
            .check_constraints(&t)
            .unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some("100 is not in the valid range 0 to 63 (inclusive)")
        );
        let t = ty(json!({"key":{"type":"string","minLength":2,"maxLength":3}}));
        assert!(
            Datum::scalar(Atom::String("a".into()))
                .check_constraints(&t)
                .is_err()
        );
        assert!(
            Datum::scalar(Atom::String("abcd".into()))
                .check_constraints(&t)
                .is_err()
        );
        assert!(
            Datum::scalar(Atom::String("ab".into()))
                .check_constraints(&t)
                .is_ok()
        );
        let t = ty(json!({"key":{"type":"real","minReal":-1.0,"maxReal":1.0}}));
        assert!(
            Datum::scalar(Atom::Real(1.5))
                .check_constraints(&t)
                .is_err()
        );
        let t = ty(json!({"key":"integer","min":1,"max":"unlimited"}));
        assert!(Datum::Set(BTreeSet::new()).check_constraints(&t).is_err());
    }

    fn arb_atom(t: AtomicType) -> BoxedStrategy<Atom> {
        match t {
            AtomicType::Integer => any::<i64>().prop_map(Atom::Integer).boxed(),
            AtomicType::Real => (-1e300f64..1e300).prop_map(Atom::Real).boxed(),
            AtomicType::Boolean => any::<bool>().prop_map(Atom::Boolean).boxed(),
            AtomicType::String => ".{0,8}".prop_map(Atom::String).boxed(),
            AtomicType::Uuid => any::<u128>()
                .prop_map(|n| Atom::Uuid(Uuid(uuid::Uuid::from_u128(n))))
                .boxed(),
        }
    }

    fn arb_type() -> impl Strategy<Value = AtomicType> {
        prop_oneof![
            Just(AtomicType::Integer),
            Just(AtomicType::Real),
            Just(AtomicType::Boolean),
            Just(AtomicType::String),
            Just(AtomicType::Uuid)
        ]
    }

    proptest! {
        #[test]
        fn set_round_trips((kt, atoms) in arb_type().prop_flat_map(|t| (Just(t), proptest::collection::btree_set(arb_atom(t), 0..6)))) {
            let ty = Type { key: BaseType::new(kt), value: None, min: 0, max: Max::Unlimited };
            let d = Datum::Set(atoms);
            let j = d.to_json();
            let text = j.to_string();
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(Datum::from_json(&back, &ty, None).unwrap(), d);
        }

        #[test]
        fn map_round_trips((kt, vt, pairs) in (arb_type(), arb_type()).prop_flat_map(|(k, v)| (Just(k), Just(v), proptest::collection::btree_map(arb_atom(k), arb_atom(v), 0..6)))) {
            let ty = Type { key: BaseType::new(kt), value: Some(BaseType::new(vt)), min: 0, max: Max::Unlimited };
            let d = Datum::Map(pairs);
            let text = d.to_json().to_string();
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(Datum::from_json(&back, &ty, None).unwrap(), d);
        }

        #[test]
        fn arbitrary_json_never_panics(s in "[\\[\\]\",0-9a-z\\-. ]{0,40}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                for t in [json!("integer"), json!({"key":"uuid","min":0,"max":"unlimited"}), json!({"key":"string","value":"real","min":0,"max":"unlimited"})] {
                    let _ = Datum::from_json(&v, &Type::from_json(&t).unwrap(), Some(&mut SymbolTable::new()));
                }
            }
        }
    }
}
