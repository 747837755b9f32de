//! A full in-memory copy of the database that commands read and change,
//! and the transaction that carries their changes.
//!
//! Contract: [`Ctx::load`] reads every table in one `transact` (a snapshot).
//! Commands change rows through [`Ctx::set`], [`Ctx::insert`],
//! [`Ctx::delete`] and guard what they read with [`Ctx::verify`].
//! [`Ctx::ops`] turns that into `ovs-vsctl`-shaped operations: `wait` ops
//! for verified columns (so a concurrent change makes the transaction fail
//! and the commands run again), inserts with `uuid-name`s, updates of only
//! the changed columns, deletes, optionally the `next_cfg` increment, and a
//! `comment` with the command line.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::datum::{Atom, Datum, Uuid};
use ovsdb::schema::{DatabaseSchema, TableSchema};
use serde_json::{Value, json};

use crate::conn::DbAccess;
use crate::value::Symbols;

/// One row: every column's value.
pub type Row = BTreeMap<String, Datum>;

/// The replica plus pending changes.
#[derive(Debug)]
pub struct Ctx {
    pub schema: DatabaseSchema,
    pub tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
    orig: BTreeMap<String, BTreeMap<Uuid, Row>>,
    /// Rows inserted by this transaction, in order.
    inserted: Vec<(String, Uuid)>,
    inserted_set: BTreeSet<Uuid>,
    deleted: Vec<(String, Uuid)>,
    modified: BTreeMap<(String, Uuid), BTreeSet<String>>,
    verified: BTreeSet<(String, Uuid, String)>,
    pub syms: Symbols,
    /// Texts logged as warnings (printed to stderr by main).
    pub warnings: Vec<(&'static str, String)>,
}

/// A command's failure: a message (without program name) and exit code.
#[derive(Debug)]
pub struct Fatal {
    pub msg: String,
    pub code: i32,
}

/// Result of one command.
pub type CmdResult<T = ()> = Result<T, Fatal>;

/// Shorthand for an exit-1 failure.
pub fn fatal<T>(msg: impl Into<String>) -> CmdResult<T> {
    Err(Fatal {
        msg: msg.into(),
        code: 1,
    })
}

impl Ctx {
    /// Reads the whole database.
    pub fn load(db: &mut dyn DbAccess, schema: &DatabaseSchema) -> Result<Ctx, String> {
        let names: Vec<&String> = schema.tables.keys().collect();
        let ops: Vec<Value> = names
            .iter()
            .map(|t| json!({"op": "select", "table": t, "where": []}))
            .collect();
        let res = db.transact(&schema.name, ops)?;
        let mut tables = BTreeMap::new();
        for (i, t) in names.iter().enumerate() {
            let ts = &schema.tables[*t];
            let mut rows = BTreeMap::new();
            let r = &res[i];
            if let Some(err) = r.get("error") {
                return Err(format!("select failed: {err}"));
            }
            for row in r["rows"].as_array().into_iter().flatten() {
                let Some(uuid) = row["_uuid"]
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(Uuid::parse_strict)
                else {
                    continue;
                };
                let mut cols = Row::new();
                for c in &ts.columns {
                    if c.name == "_uuid" || c.name == "_version" {
                        continue;
                    }
                    let d = match row.get(&c.name) {
                        Some(v) => Datum::from_json(v, &c.type_.relaxed(true), None)
                            .map_err(|e| e.to_string())?,
                        None => Datum::default_for(&c.type_),
                    };
                    cols.insert(c.name.clone(), d);
                }
                rows.insert(uuid, cols);
            }
            tables.insert((*t).clone(), rows);
        }
        Ok(Ctx {
            schema: schema.clone(),
            orig: tables.clone(),
            tables,
            inserted: Vec::new(),
            inserted_set: BTreeSet::new(),
            deleted: Vec::new(),
            modified: BTreeMap::new(),
            verified: BTreeSet::new(),
            syms: Symbols::default(),
            warnings: Vec::new(),
        })
    }

    pub fn table_schema(&self, t: &str) -> &TableSchema {
        &self.schema.tables[t]
    }

    /// Uuids of the rows of `t`, in uuid order.
    pub fn rows(&self, t: &str) -> Vec<Uuid> {
        self.tables
            .get(t)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    pub fn row(&self, t: &str, u: Uuid) -> Option<&Row> {
        self.tables.get(t)?.get(&u)
    }

    /// A column's value (empty set if the row or column is unknown).
    pub fn get(&self, t: &str, u: Uuid, c: &str) -> Datum {
        self.row(t, u)
            .and_then(|r| r.get(c))
            .cloned()
            .unwrap_or(Datum::Set(BTreeSet::new()))
    }

    /// A string column's value ("" if not a string).
    pub fn get_str(&self, t: &str, u: Uuid, c: &str) -> String {
        self.get(t, u, c)
            .as_scalar()
            .and_then(Atom::as_str)
            .unwrap_or("")
            .to_owned()
    }

    /// The uuids a reference column holds.
    pub fn get_refs(&self, t: &str, u: Uuid, c: &str) -> Vec<Uuid> {
        self.get(t, u, c).uuids().collect()
    }

    /// An optional integer column's value.
    pub fn get_int(&self, t: &str, u: Uuid, c: &str) -> Option<i64> {
        self.get(t, u, c).as_scalar().and_then(Atom::as_integer)
    }

    /// A boolean column's value.
    pub fn get_bool(&self, t: &str, u: Uuid, c: &str) -> bool {
        matches!(self.get(t, u, c).as_scalar(), Some(Atom::Boolean(true)))
    }

    /// Guards a read: the transaction fails if the column changed meanwhile.
    pub fn verify(&mut self, t: &str, u: Uuid, c: &str) {
        if !self.inserted_set.contains(&u) {
            self.verified.insert((t.to_owned(), u, c.to_owned()));
        }
    }

    /// Writes a column.
    pub fn set(&mut self, t: &str, u: Uuid, c: &str, d: Datum) {
        if let Some(row) = self.tables.get_mut(t).and_then(|m| m.get_mut(&u)) {
            row.insert(c.to_owned(), d);
            self.modified
                .entry((t.to_owned(), u))
                .or_default()
                .insert(c.to_owned());
        }
    }

    /// Adds uuid `v` to a reference set column.
    pub fn add_ref(&mut self, t: &str, u: Uuid, c: &str, v: Uuid) {
        let mut d = self.get(t, u, c);
        if let Datum::Set(s) = &mut d {
            s.insert(Atom::Uuid(v));
        }
        self.set(t, u, c, d);
    }

    /// Removes uuid `v` from a reference set column.
    pub fn remove_ref(&mut self, t: &str, u: Uuid, c: &str, v: Uuid) {
        let mut d = self.get(t, u, c);
        if let Datum::Set(s) = &mut d {
            s.remove(&Atom::Uuid(v));
        }
        self.set(t, u, c, d);
    }

    /// Inserts a row with default values; returns its (provisional) uuid.
    pub fn insert(&mut self, t: &str, uuid: Option<Uuid>) -> Uuid {
        let u = uuid.unwrap_or_else(Uuid::random);
        let mut row = Row::new();
        for c in &self.schema.tables[t].columns {
            if c.name != "_uuid" && c.name != "_version" {
                row.insert(c.name.clone(), Datum::default_for(&c.type_));
            }
        }
        self.tables.entry(t.to_owned()).or_default().insert(u, row);
        self.inserted.push((t.to_owned(), u));
        self.inserted_set.insert(u);
        u
    }

    /// Deletes a row (callers remove references to it first).
    pub fn delete(&mut self, t: &str, u: Uuid) {
        if let Some(m) = self.tables.get_mut(t)
            && m.remove(&u).is_some()
        {
            self.deleted.push((t.to_owned(), u));
        }
    }

    pub fn is_inserted(&self, u: Uuid) -> bool {
        self.inserted_set.contains(&u)
    }

    /// True if the rows of `t` referring to nothing else keep `u` alive:
    /// whether any row refers to `u`.
    pub fn is_referenced(&self, u: Uuid) -> bool {
        self.tables.values().any(|rows| {
            rows.values()
                .any(|r| r.values().any(|d| d.uuids().any(|x| x == u)))
        })
    }

    fn uuid_name(u: Uuid) -> String {
        format!("row{}", u.to_string().replace('-', "_"))
    }

    fn atom_json(&self, a: &Atom) -> Value {
        match a {
            Atom::Uuid(u) if self.inserted_set.contains(u) => {
                json!(["named-uuid", Self::uuid_name(*u)])
            }
            _ => a.to_json(),
        }
    }

    fn datum_json(&self, d: &Datum) -> Value {
        match d {
            Datum::Set(s) if s.len() == 1 => self.atom_json(s.iter().next().expect("one")),
            Datum::Set(s) => json!([
                "set",
                s.iter().map(|a| self.atom_json(a)).collect::<Vec<_>>()
            ]),
            Datum::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([self.atom_json(k), self.atom_json(v)]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// True if the transaction would change the database.
    pub fn has_changes(&self) -> bool {
        !self.update_rows().is_empty()
            || self.inserted.iter().any(|(t, u)| self.row(t, *u).is_some())
            || self
                .deleted
                .iter()
                .any(|(_, u)| !self.inserted_set.contains(u))
    }

    /// Rows with changed columns: ((table, uuid), changed column names).
    fn update_rows(&self) -> Vec<(String, Uuid, Vec<String>)> {
        let mut out = Vec::new();
        for ((t, u), cols) in &self.modified {
            if self.inserted_set.contains(u) {
                continue;
            }
            let (Some(now), Some(before)) =
                (self.row(t, *u), self.orig.get(t).and_then(|m| m.get(u)))
            else {
                continue;
            };
            let changed: Vec<String> = cols
                .iter()
                .filter(|c| now.get(*c) != before.get(*c))
                .cloned()
                .collect();
            if !changed.is_empty() {
                out.push((t.clone(), *u, changed));
            }
        }
        out
    }

    /// The operations of the transaction. Returns them and, for each
    /// insert, its op index and provisional uuid.
    pub fn ops(&self, bump_cfg: Option<Uuid>, comment: &str) -> (Vec<Value>, Vec<(usize, Uuid)>) {
        let mut ops = Vec::new();
        let where_ = |u: Uuid| json!([["_uuid", "==", ["uuid", u.to_string()]]]);
        for (t, u, c) in &self.verified {
            let Some(before) = self.orig.get(t).and_then(|m| m.get(u)) else {
                continue;
            };
            let Some(d) = before.get(c) else { continue };
            ops.push(json!({
                "op": "wait", "table": t, "where": where_(*u), "columns": [c],
                "until": "==", "timeout": 0, "rows": [{c: d.to_json()}],
            }));
        }
        let mut inserts = Vec::new();
        for (t, u) in &self.inserted {
            let Some(row) = self.row(t, *u) else { continue };
            let ts = &self.schema.tables[t];
            let mut obj = serde_json::Map::new();
            for (c, d) in row {
                let Some(cs) = ts.column(c) else { continue };
                if *d != Datum::default_for(&cs.type_) {
                    obj.insert(c.clone(), self.datum_json(d));
                }
            }
            inserts.push((ops.len(), *u));
            ops.push(
                json!({"op": "insert", "table": t, "uuid-name": Self::uuid_name(*u), "row": obj}),
            );
        }
        for (t, u, cols) in self.update_rows() {
            let row = self.row(&t, u).expect("row exists");
            let mut obj = serde_json::Map::new();
            for c in cols {
                obj.insert(c.clone(), self.datum_json(&row[&c]));
            }
            ops.push(json!({"op": "update", "table": t, "where": where_(u), "row": obj}));
        }
        for (t, u) in &self.deleted {
            if !self.inserted_set.contains(u) {
                ops.push(json!({"op": "delete", "table": t, "where": where_(*u)}));
            }
        }
        if let Some(root) = bump_cfg {
            let w = if self.inserted_set.contains(&root) {
                json!([["_uuid", "==", ["named-uuid", Self::uuid_name(root)]]])
            } else {
                where_(root)
            };
            ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": w,
                "mutations": [["next_cfg", "+=", 1]]}));
            ops.push(json!({"op": "select", "table": "Open_vSwitch", "where": w,
                "columns": ["next_cfg"]}));
        }
        ops.push(json!({"op": "comment", "comment": comment}));
        (ops, inserts)
    }
}
