//! RFC 7047 database schemas.
//!
//! Contract: [`DatabaseSchema::from_json`] accepts exactly the schema
//! language of RFC 7047 section 3.2 (plus the Open vSwitch extensions
//! `indexes`, `cksum`, `ephemeral` and `mutable`) and rejects anything else
//! with a [`SchemaError`] naming the offending table/column/member.
//! [`DatabaseSchema::to_json`] produces the RFC 7047 form again; parsing its
//! output yields an equal schema.
//!
//! Invariants of a parsed schema:
//! * every [`TableSchema`] has the implicit columns `_uuid` (index 0) and
//!   `_version` (index 1), both immutable uuids, followed by the declared
//!   columns in declaration order; [`TableSchema::column_index`] finds any of
//!   them by name;
//! * every [`Type`] satisfies `min <= 1`, `max >= 1`, `min <= max`, and
//!   only uuid base types carry a `ref_table`, which names an existing table;
//! * `enum_` values, when present, are a set of atoms of the base type;
//! * if no table declares `isRoot`, every table is a root table (the rule
//!   ovsdb-server applies to schemas written before garbage collection).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::{Map, Value, json};

use crate::datum::{Atom, Datum};

/// An error in a database schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError(msg.into()))
}

/// The five RFC 7047 atomic types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicType {
    Integer,
    Real,
    Boolean,
    String,
    Uuid,
}

impl AtomicType {
    /// The RFC 7047 name (`"integer"`, `"real"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    /// Parses an RFC 7047 atomic-type name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Strength of a reference column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefType {
    #[default]
    Strong,
    Weak,
}

/// A base type: an atomic type plus optional constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    pub atomic: AtomicType,
    /// Allowed values (a set datum of `atomic` atoms), if restricted.
    pub enum_: Option<Datum>,
    pub min_integer: Option<i64>,
    pub max_integer: Option<i64>,
    pub min_real: Option<f64>,
    pub max_real: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// Referenced table (uuid base types only).
    pub ref_table: Option<String>,
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn new(atomic: AtomicType) -> Self {
        BaseType {
            atomic,
            enum_: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    /// True if this base type carries no constraint at all.
    pub fn is_plain(&self) -> bool {
        *self == BaseType::new(self.atomic)
    }

    fn from_json(v: &Value) -> Result<Self, SchemaError> {
        if let Some(s) = v.as_str() {
            return AtomicType::from_name(s)
                .map(BaseType::new)
                .ok_or_else(|| SchemaError(format!("unknown atomic type \"{s}\"")));
        }
        let Some(obj) = v.as_object() else {
            return err("base type must be a string or an object");
        };
        let ty = obj
            .get("type")
            .ok_or_else(|| SchemaError("base type is missing required member \"type\"".into()))?;
        let atomic = ty
            .as_str()
            .and_then(AtomicType::from_name)
            .ok_or_else(|| SchemaError(format!("unknown atomic type {ty}")))?;
        let mut b = BaseType::new(atomic);
        for (k, val) in obj {
            match (k.as_str(), atomic) {
                ("type", _) => {}
                ("enum", _) => {
                    let set_ty = Type {
                        key: BaseType::new(atomic),
                        value: None,
                        min: 1,
                        max: Max::Unlimited,
                    };
                    let d = Datum::from_json(val, &set_ty, None)
                        .map_err(|e| SchemaError(format!("bad enum: {}", e.details_or_error())))?;
                    b.enum_ = Some(d);
                }
                ("minInteger", AtomicType::Integer) => b.min_integer = Some(int_member(k, val)?),
                ("maxInteger", AtomicType::Integer) => b.max_integer = Some(int_member(k, val)?),
                ("minReal", AtomicType::Real) => b.min_real = Some(real_member(k, val)?),
                ("maxReal", AtomicType::Real) => b.max_real = Some(real_member(k, val)?),
                ("minLength", AtomicType::String) => b.min_length = Some(len_member(k, val)?),
                ("maxLength", AtomicType::String) => b.max_length = Some(len_member(k, val)?),
                ("refTable", AtomicType::Uuid) => {
                    let Some(s) = val.as_str() else {
                        return err("\"refTable\" must be a string");
                    };
                    if !is_identifier(s) {
                        return err(format!("\"refTable\" {s:?} is not a valid table name"));
                    }
                    b.ref_table = Some(s.to_owned());
                }
                ("refType", AtomicType::Uuid) => {
                    b.ref_type = match val.as_str() {
                        Some("strong") => RefType::Strong,
                        Some("weak") => RefType::Weak,
                        _ => return err("\"refType\" must be \"strong\" or \"weak\""),
                    }
                }
                _ => {
                    return err(format!(
                        "member \"{k}\" is not allowed in a base type of type {atomic}"
                    ));
                }
            }
        }
        if obj.contains_key("refType") && b.ref_table.is_none() {
            return err("\"refType\" requires \"refTable\"");
        }
        if let (Some(lo), Some(hi)) = (b.min_integer, b.max_integer)
            && lo > hi
        {
            return err(format!("minInteger {lo} is greater than maxInteger {hi}"));
        }
        if let (Some(lo), Some(hi)) = (b.min_real, b.max_real)
            && lo > hi
        {
            return err(format!("minReal {lo} is greater than maxReal {hi}"));
        }
        if let (Some(lo), Some(hi)) = (b.min_length, b.max_length)
            && lo > hi
        {
            return err(format!("minLength {lo} is greater than maxLength {hi}"));
        }
        Ok(b)
    }

    /// RFC 7047 JSON: the bare atomic-type name when unconstrained.
    pub fn to_json(&self) -> Value {
        if self.is_plain() {
            return Value::String(self.atomic.name().into());
        }
        let mut m = Map::new();
        m.insert("type".into(), self.atomic.name().into());
        if let Some(e) = &self.enum_ {
            m.insert("enum".into(), e.to_json());
        }
        if let Some(v) = self.min_integer {
            m.insert("minInteger".into(), v.into());
        }
        if let Some(v) = self.max_integer {
            m.insert("maxInteger".into(), v.into());
        }
        if let Some(v) = self.min_real {
            m.insert("minReal".into(), json!(v));
        }
        if let Some(v) = self.max_real {
            m.insert("maxReal".into(), json!(v));
        }
        if let Some(v) = self.min_length {
            m.insert("minLength".into(), v.into());
        }
        if let Some(v) = self.max_length {
            m.insert("maxLength".into(), v.into());
        }
        if let Some(t) = &self.ref_table {
            m.insert("refTable".into(), t.clone().into());
            if self.ref_type == RefType::Weak {
                m.insert("refType".into(), "weak".into());
            }
        }
        Value::Object(m)
    }

    /// True if an atom of this base type refers to rows of another table.
    pub fn is_ref(&self) -> bool {
        self.ref_table.is_some()
    }
}

fn int_member(k: &str, v: &Value) -> Result<i64, SchemaError> {
    v.as_i64()
        .ok_or_else(|| SchemaError(format!("\"{k}\" must be an integer")))
}

fn real_member(k: &str, v: &Value) -> Result<f64, SchemaError> {
    v.as_f64()
        .ok_or_else(|| SchemaError(format!("\"{k}\" must be a number")))
}

fn len_member(k: &str, v: &Value) -> Result<u64, SchemaError> {
    v.as_u64()
        .ok_or_else(|| SchemaError(format!("\"{k}\" must be a nonnegative integer")))
}

/// Maximum number of elements of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Max {
    Limited(u64),
    Unlimited,
}

impl Max {
    /// True if `n` elements are allowed by this bound.
    pub fn allows(self, n: usize) -> bool {
        match self {
            Max::Unlimited => true,
            Max::Limited(m) => (n as u64) <= m,
        }
    }
}

impl fmt::Display for Max {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Max::Limited(n) => write!(f, "{n}"),
            // ovsdb-server prints UINT_MAX here.
            Max::Unlimited => f.write_str("4294967295"),
        }
    }
}

/// A column type: key, optional value (a map), element count bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: usize,
    pub max: Max,
}

impl Type {
    /// A scalar (exactly one atom) of `base`.
    pub fn scalar(base: BaseType) -> Self {
        Type {
            key: base,
            value: None,
            min: 1,
            max: Max::Limited(1),
        }
    }

    /// True if exactly one atom, not a map.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Max::Limited(1)
    }

    /// True if zero or one atom, not a map.
    pub fn is_optional_scalar(&self) -> bool {
        self.value.is_none() && self.min == 0 && self.max == Max::Limited(1)
    }

    /// True for a map type.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// True for a set (not scalar, not map).
    pub fn is_set(&self) -> bool {
        self.value.is_none() && !self.is_scalar()
    }

    /// The same type with `min` = 0 (and optionally unlimited `max`).
    pub fn relaxed(&self, unlimited: bool) -> Type {
        let mut t = self.clone();
        t.min = 0;
        if unlimited {
            t.max = Max::Unlimited;
        }
        t
    }

    /// Human description as ovsdb-server words it ("set of uuids", ...).
    pub fn describe(&self) -> String {
        let plural = |b: &BaseType| format!("{}s", b.atomic.name());
        if self.is_scalar() {
            self.key.atomic.name().to_owned()
        } else if let Some(v) = &self.value {
            format!("map of {} to {}", self.key.atomic.name(), plural(v))
        } else if self.max == Max::Limited(1) {
            format!("optional {}", self.key.atomic.name())
        } else {
            format!("set of {}", plural(&self.key))
        }
    }

    /// Parses an RFC 7047 `<type>`.
    pub fn from_json(v: &Value) -> Result<Self, SchemaError> {
        if v.is_string() {
            return Ok(Type::scalar(BaseType::from_json(v)?));
        }
        let Some(obj) = v.as_object() else {
            return err("type must be a string or an object");
        };
        for k in obj.keys() {
            if !matches!(k.as_str(), "key" | "value" | "min" | "max") {
                return err(format!("member \"{k}\" is not allowed in a type"));
            }
        }
        let key = BaseType::from_json(
            obj.get("key")
                .ok_or_else(|| SchemaError("type is missing required member \"key\"".into()))?,
        )?;
        let value = obj.get("value").map(BaseType::from_json).transpose()?;
        let min = match obj.get("min") {
            None => 1,
            Some(m) => m
                .as_u64()
                .ok_or_else(|| SchemaError("\"min\" must be a nonnegative integer".into()))?
                as usize,
        };
        let max = match obj.get("max") {
            None => Max::Limited(1),
            Some(Value::String(s)) if s == "unlimited" => Max::Unlimited,
            Some(m) => Max::Limited(m.as_u64().ok_or_else(|| {
                SchemaError("\"max\" must be a positive integer or \"unlimited\"".into())
            })?),
        };
        if min > 1 {
            return err(format!("\"min\" must be 0 or 1, not {min}"));
        }
        if max == Max::Limited(0) {
            return err("\"max\" must be at least 1");
        }
        if !max.allows(min) {
            return err(format!("\"min\" {min} is greater than \"max\" {max}"));
        }
        Ok(Type {
            key,
            value,
            min,
            max,
        })
    }

    /// RFC 7047 JSON, in the shortest form.
    pub fn to_json(&self) -> Value {
        if self.is_scalar() && self.key.is_plain() {
            return self.key.to_json();
        }
        let mut m = Map::new();
        m.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            m.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            m.insert("min".into(), self.min.into());
        }
        match self.max {
            Max::Limited(1) => {}
            Max::Limited(n) => {
                m.insert("max".into(), n.into());
            }
            Max::Unlimited => {
                m.insert("max".into(), "unlimited".into());
            }
        }
        Value::Object(m)
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    pub name: String,
    pub type_: Type,
    pub ephemeral: bool,
    pub mutable: bool,
}

impl ColumnSchema {
    fn from_json(name: &str, v: &Value) -> Result<Self, SchemaError> {
        let Some(obj) = v.as_object() else {
            return err(format!("column {name} must be an object"));
        };
        let mut col = ColumnSchema {
            name: name.to_owned(),
            type_: Type::scalar(BaseType::new(AtomicType::Integer)),
            ephemeral: false,
            mutable: true,
        };
        let mut have_type = false;
        for (k, val) in obj {
            match k.as_str() {
                "type" => {
                    col.type_ = Type::from_json(val)
                        .map_err(|e| SchemaError(format!("column {name}: {e}")))?;
                    have_type = true;
                }
                "ephemeral" => {
                    col.ephemeral = val.as_bool().ok_or_else(|| {
                        SchemaError(format!("column {name}: \"ephemeral\" must be a boolean"))
                    })?
                }
                "mutable" => {
                    col.mutable = val.as_bool().ok_or_else(|| {
                        SchemaError(format!("column {name}: \"mutable\" must be a boolean"))
                    })?
                }
                _ => return err(format!("column {name}: unknown member \"{k}\"")),
            }
        }
        if !have_type {
            return err(format!("column {name} is missing required member \"type\""));
        }
        Ok(col)
    }

    /// RFC 7047 JSON for this column.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.type_.to_json());
        if self.ephemeral {
            m.insert("ephemeral".into(), true.into());
        }
        if !self.mutable {
            m.insert("mutable".into(), false.into());
        }
        Value::Object(m)
    }
}

/// Index of the implicit `_uuid` column.
pub const UUID_COLUMN: usize = 0;
/// Index of the implicit `_version` column.
pub const VERSION_COLUMN: usize = 1;

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub name: String,
    /// `_uuid`, `_version`, then declared columns in declaration order.
    pub columns: Vec<ColumnSchema>,
    index: HashMap<String, usize>,
    pub is_root: bool,
    /// Whether `isRoot: true` was written (for `to_json`).
    is_root_declared: bool,
    pub max_rows: Option<u64>,
    /// Unique indexes, as column names.
    pub indexes: Vec<Vec<String>>,
}

impl TableSchema {
    /// Looks a column up by name (including `_uuid`, `_version`).
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.index.get(name).map(|&i| &self.columns[i])
    }

    /// Position of a column in [`TableSchema::columns`] (and in rows).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Unique indexes as column positions.
    pub fn index_columns(&self) -> Vec<Vec<usize>> {
        self.indexes
            .iter()
            .map(|ix| ix.iter().filter_map(|c| self.column_index(c)).collect())
            .collect()
    }

    fn from_json(name: &str, v: &Value) -> Result<Self, SchemaError> {
        let Some(obj) = v.as_object() else {
            return err(format!("table {name} must be an object"));
        };
        let uuid_col = |n: &str| ColumnSchema {
            name: n.to_owned(),
            type_: Type::scalar(BaseType::new(AtomicType::Uuid)),
            ephemeral: false,
            mutable: false,
        };
        let mut t = TableSchema {
            name: name.to_owned(),
            columns: vec![uuid_col("_uuid"), uuid_col("_version")],
            index: HashMap::new(),
            is_root: false,
            is_root_declared: false,
            max_rows: None,
            indexes: Vec::new(),
        };
        let mut have_columns = false;
        let mut indexes_json = None;
        for (k, val) in obj {
            match k.as_str() {
                "columns" => {
                    let Some(cols) = val.as_object() else {
                        return err(format!("table {name}: \"columns\" must be an object"));
                    };
                    if cols.is_empty() {
                        return err(format!("table {name} must have at least one column"));
                    }
                    for (cname, cval) in cols {
                        if !is_identifier(cname) || cname.starts_with('_') {
                            return err(format!(
                                "table {name}: {cname:?} is not a valid column name"
                            ));
                        }
                        t.columns.push(
                            ColumnSchema::from_json(cname, cval)
                                .map_err(|e| SchemaError(format!("table {name}: {e}")))?,
                        );
                    }
                    have_columns = true;
                }
                "isRoot" => {
                    t.is_root = val.as_bool().ok_or_else(|| {
                        SchemaError(format!("table {name}: \"isRoot\" must be a boolean"))
                    })?;
                    t.is_root_declared = t.is_root;
                }
                "maxRows" => {
                    let n = val.as_u64().filter(|&n| n >= 1).ok_or_else(|| {
                        SchemaError(format!(
                            "table {name}: \"maxRows\" must be a positive integer"
                        ))
                    })?;
                    t.max_rows = Some(n);
                }
                "indexes" => indexes_json = Some(val),
                _ => return err(format!("table {name}: unknown member \"{k}\"")),
            }
        }
        if !have_columns {
            return err(format!(
                "table {name} is missing required member \"columns\""
            ));
        }
        t.index = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        if let Some(ixs) = indexes_json {
            let Some(ixs) = ixs.as_array() else {
                return err(format!("table {name}: \"indexes\" must be an array"));
            };
            for ix in ixs {
                let Some(cols) = ix.as_array().filter(|a| !a.is_empty()) else {
                    return err(format!(
                        "table {name}: each index must be a nonempty array of column names"
                    ));
                };
                let mut names = Vec::new();
                for c in cols {
                    let Some(cn) = c.as_str() else {
                        return err(format!("table {name}: index column names must be strings"));
                    };
                    let Some(col) = t.column(cn) else {
                        return err(format!("table {name}: index names unknown column {cn}"));
                    };
                    if col.ephemeral {
                        return err(format!(
                            "table {name}: ephemeral column {cn} may not be indexed"
                        ));
                    }
                    if names.iter().any(|n| n == cn) {
                        return err(format!("table {name}: index lists column {cn} twice"));
                    }
                    names.push(cn.to_owned());
                }
                t.indexes.push(names);
            }
        }
        Ok(t)
    }

    /// RFC 7047 JSON for this table (without the implicit columns).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut cols = Map::new();
        for c in &self.columns[2..] {
            cols.insert(c.name.clone(), c.to_json());
        }
        m.insert("columns".into(), Value::Object(cols));
        if self.is_root_declared {
            m.insert("isRoot".into(), true.into());
        }
        if let Some(n) = self.max_rows {
            m.insert("maxRows".into(), n.into());
        }
        if !self.indexes.is_empty() {
            m.insert("indexes".into(), json!(self.indexes));
        }
        Value::Object(m)
    }
}

/// A whole database schema.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    pub name: String,
    pub version: String,
    pub cksum: Option<String>,
    pub tables: BTreeMap<String, TableSchema>,
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl DatabaseSchema {
    /// Parses and validates an RFC 7047 schema.
    pub fn from_json(v: &Value) -> Result<Self, SchemaError> {
        let Some(obj) = v.as_object() else {
            return err("database schema must be a JSON object");
        };
        let mut name = None;
        let mut version = None;
        let mut cksum = None;
        let mut tables_json = None;
        for (k, val) in obj {
            match k.as_str() {
                "name" => name = Some(val),
                "version" => version = Some(val),
                "cksum" => cksum = Some(val),
                "tables" => tables_json = Some(val),
                _ => return err(format!("database schema: unknown member \"{k}\"")),
            }
        }
        let name = name
            .ok_or_else(|| {
                SchemaError("database schema is missing required member \"name\"".into())
            })?
            .as_str()
            .filter(|s| is_identifier(s))
            .ok_or_else(|| SchemaError("database schema \"name\" must be an identifier".into()))?
            .to_owned();
        let version = match version {
            None => return err("database schema is missing required member \"version\""),
            Some(v) => v
                .as_str()
                .filter(|s| is_version(s))
                .ok_or_else(|| SchemaError(format!("schema version {v} is not of the form x.y.z")))?
                .to_owned(),
        };
        let cksum = match cksum {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return err("\"cksum\" must be a string"),
        };
        let Some(tables_json) = tables_json else {
            return err("database schema is missing required member \"tables\"");
        };
        let Some(tables_obj) = tables_json.as_object() else {
            return err("\"tables\" must be an object");
        };
        let mut tables = BTreeMap::new();
        for (tname, tval) in tables_obj {
            if !is_identifier(tname) || tname.starts_with('_') {
                return err(format!("{tname:?} is not a valid table name"));
            }
            tables.insert(tname.clone(), TableSchema::from_json(tname, tval)?);
        }
        // Schemas without any isRoot: every table is a root table.
        if !tables.values().any(|t| t.is_root) {
            for t in tables.values_mut() {
                t.is_root = true;
            }
        }
        for t in tables.values() {
            for c in &t.columns {
                for b in std::iter::once(&c.type_.key).chain(c.type_.value.as_ref()) {
                    if let Some(rt) = &b.ref_table
                        && !tables.contains_key(rt)
                    {
                        return err(format!(
                            "table {} column {}: refTable {rt} does not exist",
                            t.name, c.name
                        ));
                    }
                }
            }
        }
        Ok(DatabaseSchema {
            name,
            version,
            cksum,
            tables,
        })
    }

    /// Parses a schema from JSON text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Result<Self, SchemaError> {
        let v: Value =
            serde_json::from_str(s).map_err(|e| SchemaError(format!("invalid JSON: {e}")))?;
        Self::from_json(&v)
    }

    /// Looks a table up by name.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }

    /// RFC 7047 JSON (what `get_schema` returns).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("version".into(), self.version.clone().into());
        if let Some(c) = &self.cksum {
            m.insert("cksum".into(), c.clone().into());
        }
        let mut t = Map::new();
        for (name, ts) in &self.tables {
            t.insert(name.clone(), ts.to_json());
        }
        m.insert("tables".into(), Value::Object(t));
        Value::Object(m)
    }
}

impl std::str::FromStr for DatabaseSchema {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        DatabaseSchema::from_str(s)
    }
}

/// Used in error messages: the enum values as `[a, b]`.
pub(crate) fn enum_list(d: &Datum) -> String {
    let items: Vec<String> = d.keys().map(Atom::to_plain_string).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VSWITCH: &str = "/usr/share/openvswitch/vswitch.ovsschema";

    fn parse(v: Value) -> Result<DatabaseSchema, SchemaError> {
        DatabaseSchema::from_json(&v)
    }

    #[test]
    fn parses_real_vswitch_schema_and_round_trips() {
        let Ok(text) = std::fs::read_to_string(VSWITCH) else {
            eprintln!("{VSWITCH} not installed; skipping");
            return;
        };
        let s = DatabaseSchema::from_str(&text).unwrap();
        assert_eq!(s.name, "Open_vSwitch");
        let bridge = s.table("Bridge").unwrap();
        assert!(!bridge.is_root);
        assert!(s.table("Open_vSwitch").unwrap().is_root);
        assert_eq!(s.table("Open_vSwitch").unwrap().max_rows, Some(1));
        assert_eq!(bridge.indexes, vec![vec!["name".to_string()]]);
        assert_eq!(bridge.column_index("_uuid"), Some(0));
        assert_eq!(bridge.column_index("_version"), Some(1));
        let ports = bridge.column("ports").unwrap();
        assert_eq!(ports.type_.key.ref_table.as_deref(), Some("Port"));
        assert_eq!(ports.type_.max, Max::Unlimited);
        let fm = bridge.column("fail_mode").unwrap();
        assert!(fm.type_.is_optional_scalar());
        assert_eq!(
            enum_list(fm.type_.key.enum_.as_ref().unwrap()),
            "[secure, standalone]"
        );
        let mirror = s.table("Mirror").unwrap();
        assert_eq!(
            mirror.column("select_src_port").unwrap().type_.key.ref_type,
            RefType::Weak
        );
        let again = DatabaseSchema::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
        // Against the file itself, types compare equal column by column.
        let orig: Value = serde_json::from_str(&text).unwrap();
        for (tn, t) in orig["tables"].as_object().unwrap() {
            for (cn, c) in t["columns"].as_object().unwrap() {
                let ours = &s.to_json()["tables"][tn]["columns"][cn]["type"];
                assert_eq!(
                    Type::from_json(ours).unwrap(),
                    Type::from_json(&c["type"]).unwrap()
                );
            }
        }
    }

    #[test]
    fn no_is_root_means_all_root_and_is_not_emitted() {
        let s = parse(json!({"name":"_Server","version":"1.2.0","tables":{
            "Database":{"columns":{"name":{"type":"string"}}}}}))
        .unwrap();
        assert!(s.table("Database").unwrap().is_root);
        assert!(s.to_json()["tables"]["Database"].get("isRoot").is_none());
    }

    #[test]
    fn rejects_bad_schemas() {
        let cases = [
            json!(1),
            json!({"name":"d","version":"1.0.0"}),
            json!({"name":"d","version":"1.0","tables":{}}),
            json!({"name":"d","version":"1.0.0","tables":{},"extra":1}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"_x":{"type":"string"}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"str"}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"string","foo":1}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":"string","min":2,"max":3}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":"string","min":1,"max":0}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":{"type":"uuid","refTable":"U"}}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":{"type":"string","refTable":"T"}}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":{"type":"integer","minInteger":5,"maxInteger":1}}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":{"key":{"type":"integer","enum":["set",["a"]]}}}}}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"string"}},"indexes":[["y"]]}}}),
            json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{"x":{"type":"string"}},"maxRows":0}}}),
        ];
        for c in cases {
            assert!(parse(c.clone()).is_err(), "accepted {c}");
        }
    }

    #[test]
    fn type_forms() {
        let t = Type::from_json(&json!({"key":"string","value":{"type":"integer","minInteger":0},"min":0,"max":"unlimited"})).unwrap();
        assert!(t.is_map());
        assert_eq!(t.describe(), "map of string to integers");
        assert_eq!(Type::from_json(&t.to_json()).unwrap(), t);
        let t = Type::from_json(&json!("string")).unwrap();
        assert_eq!(t.to_json(), json!("string"));
        let t = Type::from_json(&json!({"key":{"type":"uuid","refTable":"X","refType":"weak"},"min":0,"max":"unlimited"})).unwrap();
        assert_eq!(t.describe(), "set of uuids");
        assert_eq!(t.to_json()["key"]["refType"], json!("weak"));
    }
}
