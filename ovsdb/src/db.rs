//! The in-memory database and the RFC 7047 transaction engine.
//!
//! Contract:
//! * [`Database::transact`] runs the operations of one `transact` request
//!   all-or-nothing. It returns [`TxnOutcome::Committed`] (reply array plus
//!   the [`Changes`] made, including garbage-collected rows and weak
//!   reference clean-ups), [`TxnOutcome::Failed`] (nothing applied; the
//!   reply holds the successful results, the error object, then `null` for
//!   every operation not executed — as ovsdb-server answers; a failure at
//!   commit time appends the error after all results), or
//!   [`TxnOutcome::Blocked`] when a `wait` with a nonzero timeout does not
//!   hold yet (nothing applied; retry later, with
//!   [`TxnContext::wait_expired`] once the timeout has passed).
//! * Commit-time rules, checked on the final state: non-root rows with no
//!   strong reference are deleted (cascading), weak references to missing
//!   rows are removed (then element counts are re-checked), strong references
//!   must resolve (`referential integrity violation`), `maxRows` and unique
//!   `indexes` hold (`constraint violation`). Rows whose contents do not
//!   change are not reported and keep their `_version`; every changed or
//!   inserted row gets a fresh `_version`.
//! * Invariants of the committed state: every row satisfies its column
//!   types; the reverse reference index and the unique-index maps agree
//!   with the rows.
//! * Work is proportional to the request size times the size of the tables
//!   it scans; no input makes it panic.
//! * Durability records: [`Changes::to_json`] gives
//!   `{"Table":{"<uuid>": null | {"col": datum, ..., "_version": uuid}}}`
//!   (inserts carry every non-default column, modifications only the
//!   changed ones); [`Database::apply_changes_json`] replays such a record
//!   exactly (same uuids and versions). [`Database::to_snapshot_json`] is a
//!   record inserting every row; [`Database::from_snapshot_json`] reads it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::condition::Condition;
use crate::datum::{Atom, Datum, OvsdbError, SymbolTable, Uuid};
use crate::mutation::{apply_mutations, parse_mutations};
use crate::schema::{
    DatabaseSchema, RefType, TableSchema, UUID_COLUMN, VERSION_COLUMN, is_identifier,
};

/// One row: values indexed like [`TableSchema::columns`] (`_uuid` first,
/// `_version` second).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Datum>,
}

impl Row {
    fn new(ts: &TableSchema, uuid: Uuid, version: Uuid) -> Row {
        let mut values: Vec<Datum> = ts
            .columns
            .iter()
            .map(|c| Datum::default_for(&c.type_))
            .collect();
        values[UUID_COLUMN] = Datum::scalar(Atom::Uuid(uuid));
        values[VERSION_COLUMN] = Datum::scalar(Atom::Uuid(version));
        Row { values }
    }

    /// The row's `_uuid`.
    pub fn uuid(&self) -> Uuid {
        self.uuid_at(UUID_COLUMN)
    }

    /// The row's `_version`.
    pub fn version(&self) -> Uuid {
        self.uuid_at(VERSION_COLUMN)
    }

    fn uuid_at(&self, i: usize) -> Uuid {
        self.values
            .get(i)
            .and_then(Datum::as_scalar)
            .and_then(Atom::as_uuid)
            .unwrap_or_default()
    }

    /// All values, indexed like the table's columns.
    pub fn values(&self) -> &[Datum] {
        &self.values
    }

    /// The value of column `i`.
    pub fn get(&self, i: usize) -> Option<&Datum> {
        self.values.get(i)
    }

    /// The value of the named column.
    pub fn get_by_name(&self, ts: &TableSchema, name: &str) -> Option<&Datum> {
        ts.column_index(name).and_then(|i| self.values.get(i))
    }

    /// `{"col": datum, ...}` for the given column positions.
    pub fn to_json(&self, ts: &TableSchema, columns: &[usize]) -> Map<String, Value> {
        // Sized up front: monitors and the store build one map per row and
        // change, and growing it (rehash + move) was a visible cost.
        let mut m = Map::with_capacity(columns.len());
        for &i in columns {
            if let (Some(c), Some(v)) = (ts.columns.get(i), self.values.get(i)) {
                m.insert(c.name.clone(), v.to_json());
            }
        }
        m
    }

    /// Every column except `_uuid` and `_version`.
    pub fn to_json_data(&self, ts: &TableSchema) -> Map<String, Value> {
        let cols: Vec<usize> = (2..ts.columns.len()).collect();
        self.to_json(ts, &cols)
    }

    /// Every column including `_uuid` and `_version`.
    pub fn to_json_all(&self, ts: &TableSchema) -> Map<String, Value> {
        let cols: Vec<usize> = (0..ts.columns.len()).collect();
        self.to_json(ts, &cols)
    }

    fn same_data(&self, other: &Row) -> bool {
        self.values.get(2..) == other.values.get(2..)
    }
}

type RowKey = (usize, Uuid);

#[derive(Debug, Default, Clone)]
struct RefInfo {
    strong: u64,
    /// Referrer -> (strong count, weak count).
    by: HashMap<RowKey, (u32, u32)>,
}

/// Reference columns of a table: (column, key target, value target).
type RefCol = (usize, Option<(usize, RefType)>, Option<(usize, RefType)>);

/// A unique index: its columns and key -> row.
type UniqueIndex = (Vec<usize>, HashMap<Vec<Datum>, Uuid>);

/// One table of the database.
#[derive(Debug, Clone)]
pub struct Table {
    schema: TableSchema,
    rows: BTreeMap<Uuid, Row>,
    unique: Vec<UniqueIndex>,
    ref_cols: Vec<RefCol>,
}

impl Table {
    pub fn name(&self) -> &str {
        &self.schema.name
    }
    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }
    /// Rows in uuid order.
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.values()
    }
    pub fn get(&self, uuid: &Uuid) -> Option<&Row> {
        self.rows.get(uuid)
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Session state a transaction may depend on.
#[derive(Debug, Clone, Default)]
pub struct TxnContext {
    /// Locks the session owns (for `assert`).
    pub locks_held: HashSet<String>,
    /// True once the timeout of a blocked `wait` has passed.
    pub wait_expired: bool,
}

/// One row's change: `old` is `None` for an insert, `new` `None` for a
/// delete.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub old: Option<Row>,
    pub new: Option<Row>,
}

/// Everything one transaction changed, per table, per row.
#[derive(Debug, Clone)]
pub struct Changes {
    schema: Arc<DatabaseSchema>,
    pub tables: BTreeMap<String, BTreeMap<Uuid, RowChange>>,
}

impl Changes {
    fn new(schema: Arc<DatabaseSchema>) -> Self {
        Changes {
            schema,
            tables: BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tables.values().all(BTreeMap::is_empty)
    }

    /// (table schema, uuid, change) for every changed row.
    pub fn iter(&self) -> impl Iterator<Item = (&TableSchema, &Uuid, &RowChange)> {
        self.tables.iter().flat_map(move |(t, rows)| {
            let ts = self.schema.table(t);
            rows.iter()
                .filter_map(move |(u, c)| ts.map(|ts| (ts, u, c)))
        })
    }

    /// The log record: `{"Table":{"uuid": null | changed columns + _version}}`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (ts, uuid, ch) in self.iter() {
            let v = match (&ch.old, &ch.new) {
                (_, None) => Value::Null,
                (old, Some(new)) => {
                    let mut m = Map::new();
                    for (i, c) in ts.columns.iter().enumerate().skip(2) {
                        let changed = match old {
                            Some(o) => o.values.get(i) != new.values.get(i),
                            None => new.values[i] != Datum::default_for(&c.type_),
                        };
                        if changed {
                            m.insert(c.name.clone(), new.values[i].to_json());
                        }
                    }
                    m.insert("_version".into(), new.version().to_json());
                    Value::Object(m)
                }
            };
            out.entry(ts.name.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|o| o.insert(uuid.to_string(), v));
        }
        Value::Object(out)
    }
}

/// The result of [`Database::transact`].
#[derive(Debug)]
pub enum TxnOutcome {
    /// Applied. `reply` is the JSON-RPC result array.
    Committed {
        reply: Value,
        changes: Changes,
        durable: bool,
    },
    /// Not applied; `reply` holds the results and the error.
    Failed { reply: Value },
    /// A `wait` does not hold yet; nothing applied. `timeout_ms` is that
    /// wait's timeout (`None`: wait forever).
    Blocked { timeout_ms: Option<u64> },
}

impl TxnOutcome {
    /// The reply array, unless blocked.
    pub fn reply(&self) -> Option<&Value> {
        match self {
            TxnOutcome::Committed { reply, .. } | TxnOutcome::Failed { reply } => Some(reply),
            TxnOutcome::Blocked { .. } => None,
        }
    }
}

/// The database.
#[derive(Debug, Clone)]
pub struct Database {
    schema: Arc<DatabaseSchema>,
    tables: Vec<Table>,
    index: HashMap<String, usize>,
    refs: HashMap<RowKey, RefInfo>,
}

enum OpError {
    Error(OvsdbError),
    Blocked(Option<u64>),
}

impl From<OvsdbError> for OpError {
    fn from(e: OvsdbError) -> Self {
        OpError::Error(e)
    }
}

impl Database {
    /// An empty database.
    pub fn new(schema: Arc<DatabaseSchema>) -> Self {
        let index: HashMap<String, usize> = schema
            .tables
            .keys()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let tables = schema
            .tables
            .values()
            .map(|ts| {
                let target = |b: &crate::schema::BaseType| {
                    b.ref_table
                        .as_ref()
                        .and_then(|t| index.get(t))
                        .map(|&i| (i, b.ref_type))
                };
                let ref_cols = ts
                    .columns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let k = target(&c.type_.key);
                        let v = c.type_.value.as_ref().and_then(target);
                        (k.is_some() || v.is_some()).then_some((i, k, v))
                    })
                    .collect();
                Table {
                    unique: ts
                        .index_columns()
                        .into_iter()
                        .map(|c| (c, HashMap::new()))
                        .collect(),
                    schema: ts.clone(),
                    rows: BTreeMap::new(),
                    ref_cols,
                }
            })
            .collect();
        Database {
            schema,
            tables,
            index,
            refs: HashMap::new(),
        }
    }

    pub fn schema(&self) -> &Arc<DatabaseSchema> {
        &self.schema
    }

    /// Tables in name order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.iter()
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.index.get(name).map(|&i| &self.tables[i])
    }

    /// A row by table name and uuid.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.table(table).and_then(|t| t.get(uuid))
    }

    fn outgoing(&self, t: usize, values: &[Datum]) -> Vec<(RowKey, RefType, usize)> {
        let mut out = Vec::new();
        for &(col, k, v) in &self.tables[t].ref_cols {
            let Some(d) = values.get(col) else { continue };
            if let Some((tt, rt)) = k {
                out.extend(
                    d.keys()
                        .filter_map(Atom::as_uuid)
                        .map(|u| ((tt, u), rt, col)),
                );
            }
            if let Some((tt, rt)) = v {
                out.extend(
                    d.values()
                        .filter_map(Atom::as_uuid)
                        .map(|u| ((tt, u), rt, col)),
                );
            }
        }
        out
    }

    /// Replaces (or inserts, or deletes) a committed row, keeping indexes.
    fn put_row(&mut self, t: usize, uuid: Uuid, new: Option<Row>) -> Option<Row> {
        let old = self.tables[t].rows.remove(&uuid);
        let me = (t, uuid);
        if let Some(o) = &old {
            for (target, rt, _) in self.outgoing(t, &o.values) {
                if let Some(info) = self.refs.get_mut(&target) {
                    if let Some(e) = info.by.get_mut(&me) {
                        match rt {
                            RefType::Strong => {
                                e.0 = e.0.saturating_sub(1);
                                info.strong = info.strong.saturating_sub(1);
                            }
                            RefType::Weak => e.1 = e.1.saturating_sub(1),
                        }
                        if *e == (0, 0) {
                            info.by.remove(&me);
                        }
                    }
                    if info.by.is_empty() {
                        self.refs.remove(&target);
                    }
                }
            }
            for (cols, map) in &mut self.tables[t].unique {
                let key: Vec<Datum> = cols.iter().map(|&c| o.values[c].clone()).collect();
                if map.get(&key) == Some(&uuid) {
                    map.remove(&key);
                }
            }
        }
        if let Some(n) = new {
            for (target, rt, _) in self.outgoing(t, &n.values) {
                let info = self.refs.entry(target).or_default();
                let e = info.by.entry(me).or_insert((0, 0));
                match rt {
                    RefType::Strong => {
                        e.0 += 1;
                        info.strong += 1;
                    }
                    RefType::Weak => e.1 += 1,
                }
            }
            for (cols, map) in &mut self.tables[t].unique {
                let key: Vec<Datum> = cols.iter().map(|&c| n.values[c].clone()).collect();
                map.insert(key, uuid);
            }
            self.tables[t].rows.insert(uuid, n);
        }
        old
    }

    /// Runs one `transact` request's operations.
    pub fn transact(&mut self, ops: &[Value], ctx: &TxnContext) -> TxnOutcome {
        let mut txn = Txn::new(self);
        let mut results = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match txn.execute(i, ops.len(), op, ctx) {
                Ok(r) => results.push(r),
                Err(OpError::Blocked(t)) => return TxnOutcome::Blocked { timeout_ms: t },
                Err(OpError::Error(e)) => {
                    results.push(e.to_json());
                    results.resize(ops.len(), Value::Null);
                    return TxnOutcome::Failed {
                        reply: Value::Array(results),
                    };
                }
            }
        }
        let durable = txn.durable;
        let plan = match txn.precommit() {
            Ok(p) => p,
            Err(e) => {
                results.push(e.to_json());
                return TxnOutcome::Failed {
                    reply: Value::Array(results),
                };
            }
        };
        let changes = self.apply_plan(plan);
        TxnOutcome::Committed {
            reply: Value::Array(results),
            changes,
            durable,
        }
    }

    fn apply_plan(&mut self, plan: Vec<BTreeMap<Uuid, Option<Row>>>) -> Changes {
        let mut changes = Changes::new(self.schema.clone());
        for (t, rows) in plan.into_iter().enumerate() {
            for (uuid, mut new) in rows {
                if let Some(n) = &mut new
                    && self.tables[t].rows.contains_key(&uuid)
                {
                    n.values[VERSION_COLUMN] = Datum::scalar(Atom::Uuid(Uuid::random()));
                }
                let old = self.put_row(t, uuid, new.clone());
                changes
                    .tables
                    .entry(self.tables[t].schema.name.clone())
                    .or_default()
                    .insert(uuid, RowChange { old, new });
            }
        }
        changes
    }

    /// Applies a record made by [`Changes::to_json`] (or a snapshot) without
    /// checking constraints, returning the changes it made.
    pub fn apply_changes_json(&mut self, v: &Value) -> Result<Changes, OvsdbError> {
        let bad = |d: String| OvsdbError::syntax(v, d);
        let Some(tables) = v.as_object() else {
            return Err(bad("record must be an object".into()));
        };
        // Parse everything first so a bad record changes nothing.
        let mut plan: Vec<(usize, Uuid, Option<Row>)> = Vec::new();
        for (tname, rows) in tables {
            let Some(&t) = self.index.get(tname) else {
                return Err(bad(format!("No table named {tname}.")));
            };
            let ts = &self.tables[t].schema;
            let Some(rows) = rows.as_object() else {
                return Err(bad(format!("table {tname} must map uuids to rows")));
            };
            for (u, rv) in rows {
                let uuid = Uuid::parse_strict(u).ok_or_else(|| bad(format!("bad uuid {u}")))?;
                if rv.is_null() {
                    plan.push((t, uuid, None));
                    continue;
                }
                let Some(cols) = rv.as_object() else {
                    return Err(bad("row must be an object or null".into()));
                };
                let mut row = match self.tables[t].rows.get(&uuid) {
                    Some(r) => r.clone(),
                    None => Row::new(ts, uuid, Uuid::nil()),
                };
                for (cname, cv) in cols {
                    let Some(ci) = ts.column_index(cname) else {
                        return Err(bad(format!("No column {cname} in table {tname}.")));
                    };
                    if ci == UUID_COLUMN {
                        continue;
                    }
                    row.values[ci] = Datum::from_json(cv, &ts.columns[ci].type_, None)?;
                }
                plan.push((t, uuid, Some(row)));
            }
        }
        let mut changes = Changes::new(self.schema.clone());
        for (t, uuid, new) in plan {
            let old = self.put_row(t, uuid, new.clone());
            if old.is_none() && new.is_none() {
                continue;
            }
            changes
                .tables
                .entry(self.tables[t].schema.name.clone())
                .or_default()
                .insert(uuid, RowChange { old, new });
        }
        Ok(changes)
    }

    /// The whole database as one record (every row, non-default columns).
    pub fn to_snapshot_json(&self) -> Value {
        let mut ch = Changes::new(self.schema.clone());
        for t in &self.tables {
            let rows = ch.tables.entry(t.schema.name.clone()).or_default();
            for (u, r) in &t.rows {
                rows.insert(
                    *u,
                    RowChange {
                        old: None,
                        new: Some(r.clone()),
                    },
                );
            }
        }
        ch.to_json()
    }

    /// Rebuilds a database from [`Database::to_snapshot_json`] output.
    pub fn from_snapshot_json(
        schema: Arc<DatabaseSchema>,
        v: &Value,
    ) -> Result<Database, OvsdbError> {
        let mut db = Database::new(schema);
        db.apply_changes_json(v)?;
        Ok(db)
    }
}

/// Transaction state: an overlay over the committed database.
struct Txn<'a> {
    db: &'a Database,
    /// Per table: uuid -> new row (`None`: deleted).
    overlay: Vec<BTreeMap<Uuid, Option<Row>>>,
    symtab: SymbolTable,
    durable: bool,
}

struct OpParser<'v> {
    op: &'v Map<String, Value>,
    json: &'v Value,
    used: Vec<&'static str>,
    prefix: String,
}

impl<'v> OpParser<'v> {
    fn err(&self, msg: impl std::fmt::Display) -> OvsdbError {
        OvsdbError::syntax(self.json, format!("{}{msg}", self.prefix))
    }

    fn get(&mut self, name: &'static str, required: bool) -> Result<Option<&'v Value>, OvsdbError> {
        self.used.push(name);
        match self.op.get(name) {
            Some(v) => Ok(Some(v)),
            None if required => Err(self.err(format!("Required '{name}' member is missing."))),
            None => Ok(None),
        }
    }

    fn req(&mut self, name: &'static str) -> Result<&'v Value, OvsdbError> {
        Ok(self.get(name, true)?.unwrap_or(&Value::Null))
    }

    fn string(
        &mut self,
        name: &'static str,
        required: bool,
    ) -> Result<Option<&'v str>, OvsdbError> {
        match self.get(name, required)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(format!("Type mismatch for member '{name}'."))),
        }
    }

    fn finish(&self) -> Result<(), OvsdbError> {
        for k in self.op.keys() {
            if !self.used.contains(&k.as_str()) {
                return Err(self.err(format!("Member '{k}' is present but not allowed here.")));
            }
        }
        Ok(())
    }
}

impl<'a> Txn<'a> {
    fn new(db: &'a Database) -> Self {
        Txn {
            db,
            overlay: vec![BTreeMap::new(); db.tables.len()],
            symtab: SymbolTable::new(),
            durable: false,
        }
    }

    fn get(&self, t: usize, u: &Uuid) -> Option<&Row> {
        match self.overlay[t].get(u) {
            Some(r) => r.as_ref(),
            None => self.db.tables[t].rows.get(u),
        }
    }

    fn exists(&self, (t, u): RowKey) -> bool {
        t < self.overlay.len() && self.get(t, &u).is_some()
    }

    /// Uuids of rows of table `t` matching `cond`.
    fn select(&self, t: usize, cond: &Condition) -> Vec<Uuid> {
        if let Some(u) = cond.uuid_eq() {
            return match self.get(t, &u) {
                Some(r) if cond.matches(&r.values) => vec![u],
                _ => vec![],
            };
        }
        let mut out: Vec<Uuid> = self.db.tables[t]
            .rows
            .iter()
            .filter(|(u, _)| !self.overlay[t].contains_key(u))
            .filter(|(_, r)| cond.matches(&r.values))
            .map(|(u, _)| *u)
            .collect();
        out.extend(
            self.overlay[t]
                .iter()
                .filter_map(|(u, r)| r.as_ref().map(|r| (u, r)))
                .filter(|(_, r)| cond.matches(&r.values))
                .map(|(u, _)| *u),
        );
        out.sort();
        out
    }

    fn execute(
        &mut self,
        i: usize,
        n: usize,
        json: &Value,
        ctx: &TxnContext,
    ) -> Result<Value, OpError> {
        let prefix = format!("Parsing ovsdb operation {} of {n} failed: ", i + 1);
        let Some(op) = json.as_object() else {
            return Err(
                OvsdbError::new("syntax error", format!("{prefix}Object expected.")).into(),
            );
        };
        let mut p = OpParser {
            op,
            json,
            used: Vec::new(),
            prefix,
        };
        let name = p.string("op", true)?.unwrap_or_default();
        let table = match name {
            "insert" | "select" | "update" | "mutate" | "delete" | "wait" => {
                let tname = p.string("table", true)?.unwrap_or_default();
                match self.db.index.get(tname) {
                    Some(&t) => Some(t),
                    None => return Err(p.err(format!("No table named {tname}.")).into()),
                }
            }
            "commit" | "abort" | "comment" | "assert" => None,
            other => return Err(p.err(format!("No operation \"{other}\"")).into()),
        };
        let t = table.unwrap_or(0);
        let result = match name {
            "insert" => self.op_insert(&mut p, t)?,
            "select" => self.op_select(&mut p, t)?,
            "update" => self.op_update(&mut p, t)?,
            "mutate" => self.op_mutate(&mut p, t)?,
            "delete" => self.op_delete(&mut p, t)?,
            "wait" => self.op_wait(&mut p, t, ctx)?,
            "commit" => {
                let d = p.req("durable")?;
                p.finish()?;
                match d.as_bool() {
                    Some(b) => self.durable |= b,
                    None => return Err(p.err("Type mismatch for member 'durable'.").into()),
                }
                json!({})
            }
            "abort" => {
                p.finish()?;
                return Err(OvsdbError::new("aborted", "aborted by request").into());
            }
            "comment" => {
                p.string("comment", true)?;
                p.finish()?;
                json!({})
            }
            _ => {
                // assert
                let lock = p.string("lock", true)?.unwrap_or_default();
                p.finish()?;
                if !ctx.locks_held.contains(lock) {
                    return Err(OvsdbError::new(
                        "not owner",
                        format!("Asserted lock {lock} not held."),
                    )
                    .into());
                }
                json!({})
            }
        };
        Ok(result)
    }

    fn schema(&self, t: usize) -> &'a TableSchema {
        &self.db.tables[t].schema
    }

    fn condition(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Condition, OvsdbError> {
        let w = p.req("where")?;
        if !w.is_array() {
            return Err(p.err("Type mismatch for member 'where'."));
        }
        Condition::from_json(w, self.schema(t), Some(&mut self.symtab))
    }

    /// Parses a `row` object; `update` rejects immutable columns.
    fn parse_row(
        &mut self,
        v: &Value,
        op: &Value,
        t: usize,
        update: bool,
    ) -> Result<Vec<(usize, Datum)>, OvsdbError> {
        let ts = self.schema(t);
        let Some(obj) = v.as_object() else {
            return Err(OvsdbError::syntax(v, "Type mismatch for member 'row'."));
        };
        let mut out = Vec::with_capacity(obj.len());
        for (k, val) in obj {
            let Some(ci) = ts.column_index(k) else {
                return Err(OvsdbError::new(
                    "unknown column",
                    format!("No column {k} in table {}.", ts.name),
                )
                .with_syntax(v));
            };
            let col = &ts.columns[ci];
            if update && !col.mutable {
                return Err(OvsdbError::constraint(format!(
                    "Cannot update immutable column {k} in table {}.",
                    ts.name
                ))
                .with_syntax(op));
            }
            let d = Datum::from_json(val, &col.type_, Some(&mut self.symtab))?;
            if ci == UUID_COLUMN || ci == VERSION_COLUMN {
                continue;
            }
            d.check_constraints(&col.type_)?;
            out.push((ci, d));
        }
        Ok(out)
    }

    fn op_insert(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Value, OpError> {
        let row_json = p.get("row", false)?;
        let uuid_name = p.get("uuid-name", false)?;
        let explicit = p.get("uuid", false)?;
        p.finish()?;
        let uuid_name = match uuid_name {
            None => None,
            Some(Value::String(s)) if is_identifier(s) => Some(s.as_str()),
            Some(_) => return Err(p.err("Type mismatch for member 'uuid-name'.").into()),
        };
        if let Some(n) = uuid_name
            && self.symtab.get(n).is_some_and(|s| s.created)
        {
            return Err(OvsdbError::new(
                "duplicate uuid-name",
                "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
            )
            .with_syntax(&json!(n))
            .into());
        }
        let explicit = match explicit {
            None => None,
            Some(v) => {
                let u = v
                    .as_str()
                    .and_then(Uuid::parse_strict)
                    .ok_or_else(|| OvsdbError::syntax(v, "bad uuid"))?;
                if self.db.tables[t].rows.contains_key(&u) || self.overlay[t].contains_key(&u) {
                    return Err(OvsdbError::new(
                        "duplicate uuid",
                        "This UUID would duplicate a UUID already present within the table or deleted within the same transaction.",
                    )
                    .with_syntax(v)
                    .into());
                }
                Some(u)
            }
        };
        let values = match row_json {
            Some(r) => self.parse_row(r, p.json, t, false)?,
            None => Vec::new(),
        };
        let uuid = match (uuid_name, explicit) {
            (Some(n), Some(u)) => {
                if self.symtab.get(n).is_some() {
                    return Err(OvsdbError::syntax(
                        &json!(n),
                        "uuid-name was referenced before an insert with an explicit uuid",
                    )
                    .into());
                }
                self.symtab.create(n, u)
            }
            (Some(n), None) => self.symtab.create(n, Uuid::random()),
            (None, Some(u)) => u,
            (None, None) => Uuid::random(),
        };
        if self.get(t, &uuid).is_some() || self.overlay[t].contains_key(&uuid) {
            return Err(OvsdbError::new("duplicate uuid", "generated uuid collides").into());
        }
        let mut row = Row::new(self.schema(t), uuid, Uuid::random());
        for (ci, d) in values {
            row.values[ci] = d;
        }
        self.overlay[t].insert(uuid, Some(row));
        Ok(json!({"uuid": uuid.to_json()}))
    }

    fn op_select(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Value, OpError> {
        let cond = self.condition(p, t)?;
        let cols = p.get("columns", false)?;
        p.finish()?;
        let ts = self.schema(t);
        let columns = match cols {
            None => (0..ts.columns.len()).collect(),
            Some(v) => parse_columns(v, ts)?,
        };
        let rows: Vec<Value> = self
            .select(t, &cond)
            .iter()
            .filter_map(|u| self.get(t, u))
            .map(|r| Value::Object(r.to_json(ts, &columns)))
            .collect();
        Ok(json!({ "rows": rows }))
    }

    fn op_update(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Value, OpError> {
        let cond = self.condition(p, t)?;
        let row_json = p.req("row")?;
        p.finish()?;
        let values = self.parse_row(row_json, p.json, t, true)?;
        let matched = self.select(t, &cond);
        for u in &matched {
            let Some(mut row) = self.get(t, u).cloned() else {
                continue;
            };
            for (ci, d) in &values {
                row.values[*ci] = d.clone();
            }
            self.overlay[t].insert(*u, Some(row));
        }
        Ok(json!({ "count": matched.len() }))
    }

    fn op_mutate(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Value, OpError> {
        let cond = self.condition(p, t)?;
        let mj = p.req("mutations")?;
        p.finish()?;
        let muts = parse_mutations(mj, self.schema(t), Some(&mut self.symtab))?;
        let matched = self.select(t, &cond);
        for u in &matched {
            let Some(mut row) = self.get(t, u).cloned() else {
                continue;
            };
            apply_mutations(&mut row.values, self.schema(t), &muts)?;
            self.overlay[t].insert(*u, Some(row));
        }
        Ok(json!({ "count": matched.len() }))
    }

    fn op_delete(&mut self, p: &mut OpParser<'_>, t: usize) -> Result<Value, OpError> {
        let cond = self.condition(p, t)?;
        p.finish()?;
        let matched = self.select(t, &cond);
        for u in &matched {
            self.overlay[t].insert(*u, None);
        }
        Ok(json!({ "count": matched.len() }))
    }

    fn op_wait(
        &mut self,
        p: &mut OpParser<'_>,
        t: usize,
        ctx: &TxnContext,
    ) -> Result<Value, OpError> {
        let timeout = p.get("timeout", false)?;
        let cond = self.condition(p, t)?;
        let cols = p.get("columns", false)?;
        let until = p.string("until", true)?.unwrap_or_default();
        let rows = p.req("rows")?;
        p.finish()?;
        let timeout_ms = match timeout {
            None => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => Some(n as u64),
                Some(_) => return Err(OvsdbError::syntax(v, "timeout must be nonnegative").into()),
                None => match v.as_u64() {
                    Some(n) => Some(n),
                    None => return Err(p.err("Type mismatch for member 'timeout'.").into()),
                },
            },
        };
        let equal = match until {
            "==" => true,
            "!=" => false,
            _ => return Err(OvsdbError::syntax(&json!(until), "unknown until").into()),
        };
        let ts = self.schema(t);
        let columns: Vec<usize> = match cols {
            None => (2..ts.columns.len()).collect(),
            Some(v) => parse_columns(v, ts)?,
        };
        let Some(rows) = rows.as_array() else {
            return Err(p.err("Type mismatch for member 'rows'.").into());
        };
        let mut expected = Vec::with_capacity(rows.len());
        for r in rows {
            let vals = self.parse_row(r, p.json, t, false)?;
            let mut proj: Vec<Datum> = columns
                .iter()
                .map(|&c| Datum::default_for(&ts.columns[c].type_))
                .collect();
            for (ci, d) in vals {
                if let Some(pos) = columns.iter().position(|&c| c == ci) {
                    proj[pos] = d;
                }
            }
            expected.push(proj);
        }
        // Compared by reference: the rows' values can be large sets.
        let mut actual: Vec<Vec<&Datum>> = self
            .select(t, &cond)
            .iter()
            .filter_map(|u| self.get(t, u))
            .map(|r| columns.iter().map(|&c| &r.values[c]).collect())
            .collect();
        expected.sort();
        actual.sort();
        let same = expected.len() == actual.len()
            && expected
                .iter()
                .zip(&actual)
                .all(|(e, a)| e.len() == a.len() && e.iter().zip(a).all(|(x, y)| x == *y));
        if same == equal {
            return Ok(json!({}));
        }
        if timeout_ms == Some(0) || ctx.wait_expired {
            return Err(OvsdbError::new("timed out", "\"where\" clause test failed").into());
        }
        Err(OpError::Blocked(timeout_ms))
    }

    /// Commit-time processing: GC, weak references, integrity, maxRows,
    /// indexes. Returns the final overlay.
    fn precommit(mut self) -> Result<Vec<BTreeMap<Uuid, Option<Row>>>, OvsdbError> {
        let db = self.db;
        // Drop no-op entries.
        for (t, rows) in self.overlay.iter_mut().enumerate() {
            rows.retain(|u, new| match (db.tables[t].rows.get(u), new) {
                (None, None) => false,
                (Some(o), Some(n)) => !o.same_data(n),
                _ => true,
            });
        }
        // Strong reference count deltas relative to the committed state.
        let mut delta: HashMap<RowKey, i64> = HashMap::new();
        let mut queue: Vec<RowKey> = Vec::new();
        for (t, rows) in self.overlay.iter().enumerate() {
            for (u, new) in rows {
                if let Some(o) = db.tables[t].rows.get(u) {
                    for (k, rt, _) in db.outgoing(t, &o.values) {
                        if rt == RefType::Strong {
                            *delta.entry(k).or_default() -= 1;
                            queue.push(k);
                        }
                    }
                } else {
                    queue.push((t, *u));
                }
                if let Some(n) = new {
                    for (k, rt, _) in db.outgoing(t, &n.values) {
                        if rt == RefType::Strong {
                            *delta.entry(k).or_default() += 1;
                        }
                    }
                }
            }
        }
        let mut weak_done: HashSet<RowKey> = HashSet::new();
        loop {
            // Garbage collection.
            while let Some(k) = queue.pop() {
                let (t, u) = k;
                if t >= db.tables.len() || db.tables[t].schema.is_root {
                    continue;
                }
                let Some(row) = self.get(t, &u) else { continue };
                let base = db.refs.get(&k).map_or(0, |i| i.strong as i64);
                if base + delta.get(&k).copied().unwrap_or(0) > 0 {
                    continue;
                }
                for (k2, rt, _) in db.outgoing(t, &row.values) {
                    if rt == RefType::Strong {
                        *delta.entry(k2).or_default() -= 1;
                        queue.push(k2);
                    }
                }
                if db.tables[t].rows.contains_key(&u) {
                    self.overlay[t].insert(u, None);
                } else {
                    self.overlay[t].remove(&u);
                }
            }
            // Weak references: committed referrers of deleted rows join
            // the overlay, then every overlay row drops dangling weak refs.
            let mut deleted = Vec::new();
            for (t, rows) in self.overlay.iter().enumerate() {
                for (u, new) in rows {
                    if new.is_none() && weak_done.insert((t, *u)) {
                        deleted.push((t, *u));
                    }
                }
            }
            for d in &deleted {
                let Some(info) = db.refs.get(d) else { continue };
                for (&(rt, ru), &(_, weak)) in &info.by {
                    if weak > 0
                        && !self.overlay[rt].contains_key(&ru)
                        && let Some(r) = db.tables[rt].rows.get(&ru)
                    {
                        self.overlay[rt].insert(ru, Some(r.clone()));
                    }
                }
            }
            let mut changed = false;
            for t in 0..self.overlay.len() {
                let weak_cols: Vec<&RefCol> = db.tables[t]
                    .ref_cols
                    .iter()
                    .filter(|(_, k, v)| {
                        matches!(k, Some((_, RefType::Weak)))
                            || matches!(v, Some((_, RefType::Weak)))
                    })
                    .collect();
                if weak_cols.is_empty() {
                    continue;
                }
                let uuids: Vec<Uuid> = self.overlay[t].keys().copied().collect();
                for u in uuids {
                    let Some(Some(row)) = self.overlay[t].get(&u) else {
                        continue;
                    };
                    let mut new = row.clone();
                    for &&(col, k, v) in &weak_cols {
                        let live = |tgt: Option<(usize, RefType)>, a: &Atom| match (tgt, a) {
                            (Some((tt, RefType::Weak)), Atom::Uuid(x)) => self.exists((tt, *x)),
                            _ => true,
                        };
                        match &mut new.values[col] {
                            Datum::Set(s) => s.retain(|a| live(k, a)),
                            Datum::Map(m) => m.retain(|a, b| live(k, a) && live(v, b)),
                        }
                    }
                    if new != *row {
                        let ts = &db.tables[t].schema;
                        for &&(col, _, _) in &weak_cols {
                            new.values[col].check_constraints(&ts.columns[col].type_).map_err(
                                |e| {
                                    OvsdbError::constraint(format!(
                                        "Deleting weak references made column {} in table {} row {u} invalid: {}",
                                        ts.columns[col].name,
                                        ts.name,
                                        e.details_or_error()
                                    ))
                                },
                            )?;
                        }
                        for (k2, rt, _) in db.outgoing(t, &row.values) {
                            if rt == RefType::Strong {
                                *delta.entry(k2).or_default() -= 1;
                                queue.push(k2);
                            }
                        }
                        for (k2, rt, _) in db.outgoing(t, &new.values) {
                            if rt == RefType::Strong {
                                *delta.entry(k2).or_default() += 1;
                            }
                        }
                        self.overlay[t].insert(u, Some(new));
                        changed = true;
                    }
                }
            }
            if !changed && queue.is_empty() {
                break;
            }
        }
        // Drop entries that became no-ops again.
        for (t, rows) in self.overlay.iter_mut().enumerate() {
            rows.retain(|u, new| match (db.tables[t].rows.get(u), new) {
                (None, None) => false,
                (Some(o), Some(n)) => !o.same_data(n),
                _ => true,
            });
        }
        self.check_integrity()?;
        self.check_max_rows()?;
        self.check_indexes()?;
        Ok(self.overlay)
    }

    fn integrity_error(&self, t: usize, row: &Row, target: RowKey, col: usize) -> OvsdbError {
        let ts = &self.db.tables[t].schema;
        OvsdbError::new(
            "referential integrity violation",
            format!(
                "Table {} column {} row {} references nonexistent row {} in table {}.",
                ts.name,
                ts.columns[col].name,
                row.uuid(),
                target.1,
                self.db.tables[target.0].schema.name
            ),
        )
    }

    /// Strong references must resolve, checked as ovsdb-server does: first
    /// a reference (from an inserted or modified row) to a row that exists
    /// neither before nor after the transaction; then a deleted row that is
    /// still referenced ("cannot delete ... remaining reference(s)").
    fn check_integrity(&self) -> Result<(), OvsdbError> {
        let db = self.db;
        for (t, rows) in self.overlay.iter().enumerate() {
            for new in rows.values().flatten() {
                for (k, rt, col) in db.outgoing(t, &new.values) {
                    if rt == RefType::Strong
                        && !self.exists(k)
                        && !db.tables[k.0].rows.contains_key(&k.1)
                    {
                        return Err(self.integrity_error(t, new, k, col));
                    }
                }
            }
        }
        for (t, rows) in self.overlay.iter().enumerate() {
            for (u, new) in rows {
                if new.is_some() || !db.tables[t].rows.contains_key(u) {
                    continue;
                }
                // References from rows this transaction leaves alone...
                let mut n: i64 = db.refs.get(&(t, *u)).map_or(0, |info| {
                    info.by
                        .iter()
                        .filter(|(r, c)| c.0 > 0 && !self.overlay[r.0].contains_key(&r.1))
                        .map(|(_, c)| i64::from(c.0))
                        .sum()
                });
                // ...and from the rows it inserts or modifies.
                for (rt, rrows) in self.overlay.iter().enumerate() {
                    for r in rrows.values().flatten() {
                        n += db
                            .outgoing(rt, &r.values)
                            .into_iter()
                            .filter(|(k, ty, _)| *ty == RefType::Strong && *k == (t, *u))
                            .count() as i64;
                    }
                }
                if n > 0 {
                    return Err(OvsdbError::new(
                        "referential integrity violation",
                        format!(
                            "cannot delete {} row {u} because of {n} remaining reference(s)",
                            db.tables[t].schema.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_max_rows(&self) -> Result<(), OvsdbError> {
        for (t, rows) in self.overlay.iter().enumerate() {
            let table = &self.db.tables[t];
            let Some(max) = table.schema.max_rows else {
                continue;
            };
            if rows.is_empty() {
                continue;
            }
            let mut n = table.rows.len() as i64;
            for (u, new) in rows {
                match (table.rows.contains_key(u), new.is_some()) {
                    (false, true) => n += 1,
                    (true, false) => n -= 1,
                    _ => {}
                }
            }
            if n > max as i64 {
                return Err(OvsdbError::constraint(format!(
                    "transaction causes \"{}\" table to contain {n} rows, greater than the schema-defined limit of {max} row(s)",
                    table.schema.name
                )));
            }
        }
        Ok(())
    }

    fn describe(&self, t: usize, u: &Uuid) -> &'static str {
        match (
            self.db.tables[t].rows.contains_key(u),
            self.overlay[t].contains_key(u),
        ) {
            (false, _) => "was inserted by this transaction",
            (true, true) => "was modified by this transaction",
            (true, false) => {
                "existed in the database before this transaction and was not modified by the transaction"
            }
        }
    }

    fn check_indexes(&self) -> Result<(), OvsdbError> {
        for (t, rows) in self.overlay.iter().enumerate() {
            let table = &self.db.tables[t];
            for (cols, committed) in &table.unique {
                let mut seen: HashMap<Vec<Datum>, Uuid> = HashMap::new();
                for (u, new) in rows {
                    let Some(n) = new else { continue };
                    let key: Vec<Datum> = cols.iter().map(|&c| n.values[c].clone()).collect();
                    let other = match seen.get(&key) {
                        Some(o) => Some(*o),
                        None => committed
                            .get(&key)
                            .filter(|o| *o != u && !self.overlay[t].contains_key(o))
                            .copied(),
                    };
                    if let Some(o) = other {
                        let vals: Vec<String> = key
                            .iter()
                            .map(|d| match d.as_scalar() {
                                Some(a) => a.to_plain_string(),
                                None => d.to_json().to_string(),
                            })
                            .collect();
                        let names: Vec<String> = cols
                            .iter()
                            .map(|&c| format!("\"{}\"", table.schema.columns[c].name))
                            .collect();
                        let (first, second) = if seen.contains_key(&key) {
                            (o, *u)
                        } else {
                            (*u, o)
                        };
                        return Err(OvsdbError::constraint(format!(
                            "Transaction causes multiple rows in \"{}\" table to have identical values ({}) for index on column{} {}.  First row, with UUID {first}, {}.  Second row, with UUID {second}, {}.",
                            table.schema.name,
                            vals.join(", "),
                            if cols.len() == 1 { "" } else { "s" },
                            names.join(", "),
                            self.describe(t, &first),
                            self.describe(t, &second),
                        )));
                    }
                    seen.insert(key, *u);
                }
            }
        }
        Ok(())
    }
}

fn parse_columns(v: &Value, ts: &TableSchema) -> Result<Vec<usize>, OvsdbError> {
    let Some(arr) = v.as_array() else {
        return Err(OvsdbError::syntax(v, "array of column names expected"));
    };
    let mut out = Vec::with_capacity(arr.len());
    let mut seen = BTreeSet::new();
    for c in arr {
        let Some(i) = c.as_str().and_then(|n| ts.column_index(n)) else {
            let name = c.as_str().map_or_else(|| c.to_string(), str::to_owned);
            return Err(OvsdbError::syntax(
                v,
                format!("{name} is not a valid column name"),
            ));
        };
        if seen.insert(i) {
            out.push(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VSWITCH: &str = "/usr/share/openvswitch/vswitch.ovsschema";
    const OVS_UUID: &str = "8f731435-e22b-4722-9dd7-456f7fbbf1df";

    fn test_schema() -> Arc<DatabaseSchema> {
        Arc::new(
            DatabaseSchema::from_json(&json!({"name":"t","version":"1.0.0","tables":{
                "Root":{"isRoot":true,"maxRows":2,"columns":{
                    "name":{"type":"string"},
                    "kids":{"type":{"key":{"type":"uuid","refTable":"Kid"},"min":0,"max":"unlimited"}},
                    "weak":{"type":{"key":{"type":"uuid","refTable":"Other","refType":"weak"},"min":0,"max":"unlimited"}},
                    "wmap":{"type":{"key":"string","value":{"type":"uuid","refTable":"Other","refType":"weak"},"min":0,"max":"unlimited"}},
                    "n":{"type":"integer"},
                    "fixed":{"type":"integer","mutable":false}
                }},
                "Kid":{"indexes":[["name"]],"columns":{
                    "name":{"type":"string"},
                    "grandkid":{"type":{"key":{"type":"uuid","refTable":"Grandkid"},"min":0,"max":1}}
                }},
                "Grandkid":{"columns":{"x":{"type":"integer"}}},
                "Other":{"isRoot":true,"columns":{"x":{"type":"integer"}}},
                "W":{"isRoot":true,"columns":{"w1":{"type":{"key":{"type":"uuid","refTable":"Other","refType":"weak"}}}}}
            }}))
            .unwrap(),
        )
    }

    fn ctx() -> TxnContext {
        TxnContext::default()
    }

    fn run(db: &mut Database, ops: Value) -> TxnOutcome {
        db.transact(ops.as_array().unwrap(), &ctx())
    }

    fn ok(db: &mut Database, ops: Value) -> (Value, Changes) {
        match run(db, ops.clone()) {
            TxnOutcome::Committed { reply, changes, .. } => (reply, changes),
            other => panic!("{ops} -> {other:?}"),
        }
    }

    /// Runs a failing transaction; returns (error, details).
    fn fail(db: &mut Database, ops: Value) -> (String, String, Value) {
        let before = db.to_snapshot_json();
        match run(db, ops.clone()) {
            TxnOutcome::Failed { reply } => {
                assert_eq!(db.to_snapshot_json(), before, "failed txn changed the db");
                let arr = reply.as_array().unwrap();
                let e = arr.iter().find(|r| r.get("error").is_some()).unwrap();
                (
                    e["error"].as_str().unwrap().to_owned(),
                    e["details"].as_str().unwrap_or("").to_owned(),
                    reply.clone(),
                )
            }
            other => panic!("{ops} -> {other:?}"),
        }
    }

    fn uuid_of(reply: &Value, i: usize) -> String {
        reply[i]["uuid"][1].as_str().unwrap().to_owned()
    }

    fn count(db: &Database, t: &str) -> usize {
        db.table(t).unwrap().len()
    }

    #[test]
    fn insert_select_update_mutate_delete() {
        let mut db = Database::new(test_schema());
        let (r, ch) = ok(
            &mut db,
            json!([
                {"op":"insert","table":"Root","row":{"name":"a","n":1}},
                {"op":"select","table":"Root","where":[["name","==","a"]],"columns":["name","n"]},
                {"op":"comment","comment":"x"}
            ]),
        );
        assert_eq!(r[1], json!({"rows":[{"name":"a","n":1}]}));
        assert_eq!(r[2], json!({}));
        let u = uuid_of(&r, 0);
        let (_, rc) = ch.iter().next().map(|(_, u, c)| (*u, c.clone())).unwrap();
        assert!(rc.old.is_none());
        let v1 = db.row("Root", &u.parse().unwrap()).unwrap().version();
        let (r, ch) = ok(
            &mut db,
            json!([
                {"op":"update","table":"Root","where":[["_uuid","==",["uuid",u]]],"row":{"n":5}},
                {"op":"mutate","table":"Root","where":[],"mutations":[["n","*=",3]]},
                {"op":"select","table":"Root","where":[]}
            ]),
        );
        assert_eq!(r[0], json!({"count":1}));
        assert_eq!(r[1], json!({"count":1}));
        let row = &r[2]["rows"][0];
        assert_eq!(row["n"], json!(15));
        assert_eq!(row["_uuid"], json!(["uuid", u]));
        assert_eq!(row["kids"], json!(["set", []]));
        assert_eq!(row["wmap"], json!(["map", []]));
        let v2 = db.row("Root", &u.parse().unwrap()).unwrap().version();
        assert_ne!(v1, v2);
        assert_eq!(ch.to_json()["Root"][&u]["n"], json!(15));
        assert!(ch.to_json()["Root"][&u].get("name").is_none());
        // A no-op update reports nothing and keeps the version.
        let (r, ch) = ok(
            &mut db,
            json!([{"op":"update","table":"Root","where":[],"row":{"n":15}}]),
        );
        assert_eq!(r[0], json!({"count":1}));
        assert!(ch.is_empty());
        assert_eq!(db.row("Root", &u.parse().unwrap()).unwrap().version(), v2);
        let (r, ch) = ok(
            &mut db,
            json!([{"op":"delete","table":"Root","where":[["n",">",10]]}]),
        );
        assert_eq!(r[0], json!({"count":1}));
        assert_eq!(ch.to_json(), json!({"Root":{u.clone(): null}}));
        assert_eq!(count(&db, "Root"), 0);
    }

    #[test]
    fn error_strings() {
        let mut db = Database::new(test_schema());
        ok(
            &mut db,
            json!([{"op":"insert","table":"Root","row":{"name":"r"}}]),
        );
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!([{"op":"insert","table":"Nope","row":{}}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: No table named Nope.",
            ),
            (
                json!([{"op":"insert","table":"Root","row":{"nope":1}}]),
                "unknown column",
                "No column nope in table Root.",
            ),
            (
                json!([{"op":"insert","table":"Root","row":{"name":1}}]),
                "syntax error",
                "expected string",
            ),
            (
                json!([{"op":"foo"}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: No operation \"foo\"",
            ),
            (
                json!([{"table":"Root"}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Required 'op' member is missing.",
            ),
            (
                json!([1]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Object expected.",
            ),
            (
                json!([{"op":"select","table":"Root"}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Required 'where' member is missing.",
            ),
            (
                json!([{"op":"select","table":"Root","where":[],"extra":1}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Member 'extra' is present but not allowed here.",
            ),
            (
                json!([{"op":"select","table":"Root","where":[],"columns":["nope"]}]),
                "syntax error",
                "nope is not a valid column name",
            ),
            (
                json!([{"op":"commit"}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Required 'durable' member is missing.",
            ),
            (
                json!([{"op":"comment"}]),
                "syntax error",
                "Parsing ovsdb operation 1 of 1 failed: Required 'comment' member is missing.",
            ),
            (json!([{"op":"abort"}]), "aborted", "aborted by request"),
            (
                json!([{"op":"assert","lock":"foo"}]),
                "not owner",
                "Asserted lock foo not held.",
            ),
            (
                json!([{"op":"update","table":"Root","where":[],"row":{"_uuid":["uuid",OVS_UUID]}}]),
                "constraint violation",
                "Cannot update immutable column _uuid in table Root.",
            ),
            (
                json!([{"op":"update","table":"Root","where":[],"row":{"fixed":1}}]),
                "constraint violation",
                "Cannot update immutable column fixed in table Root.",
            ),
            (
                json!([{"op":"mutate","table":"Root","where":[],"mutations":[["n","/=",0]]}]),
                "domain error",
                "Division by zero.",
            ),
            (
                json!([{"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",i64::MAX]]},{"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",1]]}]),
                "range error",
                "Result of \"+=\" operation is out of range.",
            ),
            (
                json!([{"op":"wait","table":"Root","where":[],"columns":["n"],"until":"==","rows":[{"n":5}],"timeout":0}]),
                "timed out",
                "\"where\" clause test failed",
            ),
            (
                json!([{"op":"wait","table":"Root","where":[],"columns":["n"],"until":"==","rows":[],"timeout":-1}]),
                "syntax error",
                "timeout must be nonnegative",
            ),
            (
                json!([{"op":"insert","table":"Root","row":{"name":"x"},"uuid-name":"a"},{"op":"insert","table":"Other","row":{},"uuid-name":"a"}]),
                "duplicate uuid-name",
                "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
            ),
            (
                json!([{"op":"insert","table":"Root","row":{"name":"x"}},{"op":"insert","table":"Root","row":{"name":"y"}}]),
                "constraint violation",
                "transaction causes \"Root\" table to contain 3 rows, greater than the schema-defined limit of 2 row(s)",
            ),
            (
                json!([{"op":"insert","table":"Root","row":{"name":"x","kids":["uuid",OVS_UUID]}}]),
                "referential integrity violation",
                "",
            ),
            (
                json!([{"op":"select","table":"Root","where":[["name","<","a"]]}]),
                "syntax error",
                "Type mismatch: \"<\" operator may not be applied to column name of type string.",
            ),
            (
                json!([{"op":"select","table":"Root","where":[["name","foo","a"]]}]),
                "unknown function",
                "No function named foo.",
            ),
            (
                json!([{"op":"insert","table":"Other","row":{},"uuid":"zz"}]),
                "syntax error",
                "bad uuid",
            ),
        ];
        for (ops, err, details) in cases {
            let (e, d, _) = fail(&mut db, ops.clone());
            assert_eq!(e, err, "{ops}");
            if !details.is_empty() {
                assert_eq!(d, details, "{ops}");
            }
        }
        // Results before the failure are kept, later ones are null.
        let (_, _, reply) = fail(
            &mut db,
            json!([{"op":"comment","comment":"a"},{"op":"abort"},{"op":"comment","comment":"b"}]),
        );
        assert_eq!(
            reply,
            json!([{},{"error":"aborted","details":"aborted by request"},null])
        );
        // Commit-time errors come after all results.
        let (_, d, reply) = fail(
            &mut db,
            json!([{"op":"comment","comment":"a"},{"op":"insert","table":"Root","row":{"name":"x","kids":["uuid",OVS_UUID]}}]),
        );
        assert_eq!(reply.as_array().unwrap().len(), 3);
        assert!(d.starts_with("Table Root column kids row "), "{d}");
        assert!(d.ends_with(&format!(
            "references nonexistent row {OVS_UUID} in table Kid."
        )));
        let mut c = ctx();
        c.locks_held.insert("foo".into());
        let out = db.transact(
            json!([{"op":"assert","lock":"foo"},{"op":"commit","durable":true}])
                .as_array()
                .unwrap(),
            &c,
        );
        assert!(matches!(out, TxnOutcome::Committed { durable: true, .. }));
    }

    #[test]
    fn explicit_uuid_and_duplicates() {
        let mut db = Database::new(test_schema());
        let (r, _) = ok(
            &mut db,
            json!([{"op":"insert","table":"Other","row":{},"uuid":OVS_UUID}]),
        );
        assert_eq!(r[0]["uuid"], json!(["uuid", OVS_UUID]));
        let (e, _, _) = fail(
            &mut db,
            json!([{"op":"insert","table":"Other","row":{},"uuid":OVS_UUID}]),
        );
        assert_eq!(e, "duplicate uuid");
        let (e, _, _) = fail(
            &mut db,
            json!([
            {"op":"delete","table":"Other","where":[]},
            {"op":"insert","table":"Other","row":{},"uuid":OVS_UUID}]),
        );
        assert_eq!(e, "duplicate uuid");
    }

    #[test]
    fn named_uuids_forward_and_in_where() {
        let mut db = Database::new(test_schema());
        let (r, _) = ok(
            &mut db,
            json!([
                {"op":"insert","table":"Root","row":{"name":"r","kids":["named-uuid","k"]}},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"k"},
                {"op":"mutate","table":"Kid","where":[["_uuid","==",["named-uuid","k"]]],"mutations":[["grandkid","insert",["named-uuid","g"]]]},
                {"op":"insert","table":"Grandkid","row":{"x":1},"uuid-name":"g"}
            ]),
        );
        assert_eq!(r[2], json!({"count":1}));
        let root = db.table("Root").unwrap().rows().next().unwrap().clone();
        let kid = uuid_of(&r, 1);
        assert_eq!(
            root.get_by_name(db.table("Root").unwrap().schema(), "kids")
                .unwrap()
                .to_json(),
            json!(["uuid", kid])
        );
        assert_eq!(count(&db, "Grandkid"), 1);
        // A named-uuid that is never inserted dangles.
        let (e, _, _) = fail(
            &mut db,
            json!([{"op":"update","table":"Root","where":[],"row":{"kids":["named-uuid","zz"]}}]),
        );
        assert_eq!(e, "referential integrity violation");
    }

    #[test]
    fn garbage_collection_cascades() {
        let mut db = Database::new(test_schema());
        // An unreferenced insert into a non-root table vanishes.
        let (r, ch) = ok(
            &mut db,
            json!([{"op":"insert","table":"Kid","row":{"name":"orphan"}}]),
        );
        assert!(r[0]["uuid"].is_array());
        assert!(ch.is_empty());
        assert_eq!(count(&db, "Kid"), 0);
        let (r, _) = ok(
            &mut db,
            json!([
                {"op":"insert","table":"Root","row":{"name":"r","kids":["set",[["named-uuid","k1"],["named-uuid","k2"]]]},"uuid-name":"r"},
                {"op":"insert","table":"Kid","row":{"name":"k1","grandkid":["named-uuid","g"]},"uuid-name":"k1"},
                {"op":"insert","table":"Kid","row":{"name":"k2"},"uuid-name":"k2"},
                {"op":"insert","table":"Grandkid","row":{"x":1},"uuid-name":"g"}
            ]),
        );
        let (k1, k2, g) = (uuid_of(&r, 1), uuid_of(&r, 2), uuid_of(&r, 3));
        assert_eq!((count(&db, "Kid"), count(&db, "Grandkid")), (2, 1));
        // Dropping k1 from the root deletes k1 and, in cascade, g.
        let (_, ch) = ok(
            &mut db,
            json!([{"op":"mutate","table":"Root","where":[],"mutations":[["kids","delete",["uuid",k1.clone()]]]}]),
        );
        let j = ch.to_json();
        assert_eq!(j["Kid"][&k1], Value::Null);
        assert_eq!(j["Grandkid"][&g], Value::Null);
        assert!(j["Kid"].get(&k2).is_none());
        assert_eq!((count(&db, "Kid"), count(&db, "Grandkid")), (1, 0));
        // Deleting a referenced row explicitly is an integrity violation,
        // worded as ovsdb-server words it.
        let (e, d, _) = fail(&mut db, json!([{"op":"delete","table":"Kid","where":[]}]));
        assert_eq!(e, "referential integrity violation");
        assert_eq!(
            d,
            format!("cannot delete Kid row {k2} because of 1 remaining reference(s)")
        );
        // Deleting the root collects everything below it.
        ok(&mut db, json!([{"op":"delete","table":"Root","where":[]}]));
        assert_eq!(count(&db, "Kid"), 0);
    }

    #[test]
    fn weak_references_are_removed() {
        let mut db = Database::new(test_schema());
        let (r, _) = ok(
            &mut db,
            json!([
                {"op":"insert","table":"Other","row":{"x":1},"uuid-name":"o1"},
                {"op":"insert","table":"Other","row":{"x":2},"uuid-name":"o2"},
                {"op":"insert","table":"Root","row":{"name":"r","weak":["set",[["named-uuid","o1"],["named-uuid","o2"]]],"wmap":["map",[["a",["named-uuid","o1"]]]]}},
                {"op":"insert","table":"W","row":{"w1":["named-uuid","o2"]}}
            ]),
        );
        let (o1, o2, root) = (uuid_of(&r, 0), uuid_of(&r, 1), uuid_of(&r, 2));
        let (_, ch) = ok(
            &mut db,
            json!([{"op":"delete","table":"Other","where":[["x","==",1]]}]),
        );
        let j = ch.to_json();
        assert_eq!(j["Other"][&o1], Value::Null);
        assert_eq!(j["Root"][&root]["weak"], json!(["uuid", o2]));
        assert_eq!(j["Root"][&root]["wmap"], json!(["map", []]));
        let row = db.row("Root", &root.parse().unwrap()).unwrap();
        let ts = db.table("Root").unwrap().schema();
        assert_eq!(
            row.get_by_name(ts, "weak").unwrap().to_json(),
            json!(["uuid", o2])
        );
        // Removing o2 would leave weak1 (min 1) empty.
        let (e, _, _) = fail(
            &mut db,
            json!([{"op":"delete","table":"Other","where":[["x","==",2]]}]),
        );
        assert_eq!(e, "constraint violation");
        // A weak reference to a row that does not exist is dropped at commit.
        let (_, ch) = ok(
            &mut db,
            json!([{"op":"update","table":"Root","where":[],"row":{"weak":["set",[["uuid",o2.clone()],["uuid",OVS_UUID]]]}}]),
        );
        assert!(ch.is_empty());
    }

    #[test]
    fn unique_indexes() {
        let mut db = Database::new(test_schema());
        let (e, d, _) = fail(
            &mut db,
            json!([
                {"op":"insert","table":"Root","row":{"name":"r","kids":["set",[["named-uuid","a"],["named-uuid","b"]]]}},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"a"},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"b"}
            ]),
        );
        assert_eq!(e, "constraint violation");
        assert!(d.starts_with("Transaction causes multiple rows in \"Kid\" table to have identical values (k) for index on column \"name\".  First row, with UUID "), "{d}");
        assert!(d.ends_with("was inserted by this transaction."), "{d}");
        ok(
            &mut db,
            json!([
                {"op":"insert","table":"Root","row":{"name":"r","kids":["named-uuid","a"]}},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"a"}
            ]),
        );
        let (e, d, _) = fail(
            &mut db,
            json!([
                {"op":"mutate","table":"Root","where":[],"mutations":[["kids","insert",["named-uuid","b"]]]},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"b"}
            ]),
        );
        assert_eq!(e, "constraint violation");
        assert!(d.contains("existed in the database before this transaction and was not modified by the transaction"), "{d}");
        // Renaming the old row frees the name in the same transaction.
        ok(
            &mut db,
            json!([
                {"op":"update","table":"Kid","where":[],"row":{"name":"old"}},
                {"op":"mutate","table":"Root","where":[],"mutations":[["kids","insert",["named-uuid","b"]]]},
                {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"b"}
            ]),
        );
        assert_eq!(count(&db, "Kid"), 2);
    }

    #[test]
    fn wait_blocks_and_expires() {
        let mut db = Database::new(test_schema());
        ok(
            &mut db,
            json!([{"op":"insert","table":"Root","row":{"name":"r","n":1}}]),
        );
        let ops = json!([
            {"op":"insert","table":"Other","row":{}},
            {"op":"wait","table":"Root","where":[],"columns":["n"],"until":"==","rows":[{"n":2}],"timeout":500}
        ]);
        let out = run(&mut db, ops.clone());
        assert!(matches!(
            out,
            TxnOutcome::Blocked {
                timeout_ms: Some(500)
            }
        ));
        assert_eq!(count(&db, "Other"), 0);
        let mut c = ctx();
        c.wait_expired = true;
        let out = db.transact(ops.as_array().unwrap(), &c);
        let reply = out.reply().unwrap();
        assert_eq!(reply[1]["error"], json!("timed out"));
        let forever = json!([{"op":"wait","table":"Root","where":[],"until":"!=","rows":[{"name":"r","n":1}]}]);
        assert!(matches!(
            run(&mut db, forever),
            TxnOutcome::Blocked { timeout_ms: None }
        ));
        ok(
            &mut db,
            json!([{"op":"wait","table":"Root","where":[],"columns":["n"],"until":"!=","rows":[{"n":2}],"timeout":0}]),
        );
        ok(
            &mut db,
            json!([{"op":"wait","table":"Root","where":[["n","==",9]],"columns":["n"],"until":"==","rows":[],"timeout":0}]),
        );
        ok(
            &mut db,
            json!([{"op":"update","table":"Root","where":[],"row":{"n":2}}]),
        );
        ok(&mut db, ops);
        assert_eq!(count(&db, "Other"), 1);
    }

    #[test]
    fn replaying_changes_and_snapshots_reproduces_the_db() {
        let schema = test_schema();
        let mut db = Database::new(schema.clone());
        let mut replica = Database::new(schema.clone());
        let txns = [
            json!([{"op":"insert","table":"Other","row":{"x":1},"uuid-name":"o"},
                   {"op":"insert","table":"Root","row":{"name":"r","weak":["named-uuid","o"],"kids":["named-uuid","k"]}},
                   {"op":"insert","table":"Kid","row":{"name":"k","grandkid":["named-uuid","g"]},"uuid-name":"k"},
                   {"op":"insert","table":"Grandkid","row":{"x":3},"uuid-name":"g"}]),
            json!([{"op":"mutate","table":"Root","where":[],"mutations":[["n","+=",5]]}]),
            json!([{"op":"delete","table":"Other","where":[]}]),
            json!([{"op":"update","table":"Root","where":[],"row":{"kids":["set",[]]}}]),
        ];
        for t in txns {
            let (_, ch) = ok(&mut db, t);
            let rec: Value = serde_json::from_str(&ch.to_json().to_string()).unwrap();
            replica.apply_changes_json(&rec).unwrap();
            assert_eq!(replica.to_snapshot_json(), db.to_snapshot_json());
        }
        let snap = db.to_snapshot_json();
        let again = Database::from_snapshot_json(schema.clone(), &snap).unwrap();
        assert_eq!(again.to_snapshot_json(), snap);
        for t in db.tables() {
            for r in t.rows() {
                let o = again.row(t.name(), &r.uuid()).unwrap();
                assert_eq!(o, r);
            }
        }
        // The replica keeps enforcing rules afterwards (indexes/refs rebuilt).
        let (e, _, _) = fail(
            &mut replica,
            json!([{"op":"delete","table":"Root","where":[]},{"op":"insert","table":"Root","row":{"name":"z"}},{"op":"insert","table":"Root","row":{"name":"z"}},{"op":"insert","table":"Root","row":{"name":"z"}}]),
        );
        assert_eq!(e, "constraint violation");
        assert!(replica.apply_changes_json(&json!({"Nope":{}})).is_err());
        assert!(
            replica
                .apply_changes_json(&json!({"Root":{"zz":null}}))
                .is_err()
        );
        assert!(replica.apply_changes_json(&json!([1])).is_err());
    }

    fn vswitch() -> Option<Arc<DatabaseSchema>> {
        let text = std::fs::read_to_string(VSWITCH).ok()?;
        Some(Arc::new(DatabaseSchema::from_str(&text).unwrap()))
    }

    fn captured(file: &str, id: u64) -> Option<Value> {
        let text = std::fs::read_to_string(format!("/work/shared/interop/{file}")).ok()?;
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| v["msg"].clone())
            .find(|m| m["method"] == "transact" && m["id"] == id)
    }

    #[test]
    fn captured_vsctl_add_br_and_del_br() {
        let (Some(schema), Some(add)) = (vswitch(), captured("ovsdb-vsctl-nowait.jsonl", 4)) else {
            eprintln!("vswitch schema or capture missing; skipping");
            return;
        };
        let mut db = Database::new(schema);
        ok(
            &mut db,
            json!([{"op":"insert","table":"Open_vSwitch","row":{},"uuid":OVS_UUID}]),
        );
        let ops = add["params"].as_array().unwrap()[1..].to_vec();
        let (reply, ch) = ok(&mut db, Value::Array(ops));
        // Captured reply: [{},{"count":1},{"uuid":..},{"uuid":..},{"uuid":..},{}]
        let r = reply.as_array().unwrap();
        assert_eq!(r.len(), 6);
        assert_eq!(r[0], json!({}));
        assert_eq!(r[1], json!({"count":1}));
        for x in &r[2..5] {
            assert_eq!(x["uuid"][0], json!("uuid"));
        }
        assert_eq!(r[5], json!({}));
        let bridge = uuid_of(&reply, 4);
        let ts = db.table("Open_vSwitch").unwrap().schema().clone();
        let ovs = db.row("Open_vSwitch", &OVS_UUID.parse().unwrap()).unwrap();
        assert_eq!(
            ovs.get_by_name(&ts, "bridges").unwrap().to_json(),
            json!(["uuid", bridge])
        );
        assert_eq!(ch.tables["Port"].len(), 1);
        assert_eq!(ch.tables["Interface"].len(), 1);
        // The same add-br again fails: the wait on bridges == [] times out.
        let (e, _, _) = fail(
            &mut db,
            Value::Array(add["params"].as_array().unwrap()[1..].to_vec()),
        );
        assert_eq!(e, "timed out");
        // del-br (captured with another bridge uuid) collects Port/Interface.
        let Some(del) = captured("ovsdb-vsctl-nowait.jsonl", 4)
            .and(Some(()))
            .and_then(|_| {
                let text = std::fs::read_to_string("/work/shared/interop/ovsdb-vsctl-nowait.jsonl")
                    .ok()?;
                let line = text.lines().find(|l| l.contains("del-br br0"))?;
                let line = line.replace("eb145ea2-6c51-481e-b245-11473b86500f", &bridge);
                serde_json::from_str::<Value>(&line).ok()
            })
        else {
            return;
        };
        let (reply, ch) = ok(
            &mut db,
            Value::Array(del["msg"]["params"].as_array().unwrap()[1..].to_vec()),
        );
        assert_eq!(reply, json!([{},{"count":1},{}]));
        assert_eq!(
            count(&db, "Bridge") + count(&db, "Port") + count(&db, "Interface"),
            0
        );
        let j = ch.to_json();
        assert_eq!(j["Bridge"][&bridge], Value::Null);
        assert_eq!(j["Port"].as_object().unwrap().len(), 1);
        assert_eq!(j["Interface"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn captured_ovsdbapp_transactions() {
        let Some(schema) = vswitch() else { return };
        let Ok(text) = std::fs::read_to_string("/work/shared/interop/ovsdbapp-session.jsonl")
        else {
            return;
        };
        let mut db = Database::new(schema);
        ok(
            &mut db,
            json!([{"op":"insert","table":"Open_vSwitch","row":{},"uuid":"d24b6afc-5db0-42a1-a203-07e1ea641d19"}]),
        );
        let msgs: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["msg"]["method"] == "transact")
            .map(|v| v["msg"]["params"].clone())
            .collect();
        // The first one adds a bridge with mutate/insert and a where on a
        // named-uuid; the reply must carry one result per op.
        let ops = msgs[0].as_array().unwrap()[1..].to_vec();
        let n = ops.len();
        let (reply, _) = ok(&mut db, Value::Array(ops));
        assert_eq!(reply.as_array().unwrap().len(), n);
        assert_eq!(reply[1], json!({"count":1}));
        assert_eq!(reply[n - 1]["rows"][0]["next_cfg"], json!(1));
        assert_eq!(count(&db, "Bridge"), 1);
        assert_eq!(count(&db, "Port"), 1);
    }

    #[test]
    fn hostile_ops_never_panic() {
        let mut db = Database::new(test_schema());
        let junk = [
            json!(null),
            json!([]),
            json!({"op":1}),
            json!({"op":"insert","table":1}),
            json!({"op":"insert","table":"Root","row":[]}),
            json!({"op":"insert","table":"Root","uuid-name":5}),
            json!({"op":"insert","table":"Root","uuid-name":"1bad"}),
            json!({"op":"select","table":"Root","where":{}}),
            json!({"op":"select","table":"Root","where":[[]]}),
            json!({"op":"mutate","table":"Root","where":[],"mutations":[[1,2,3]]}),
            json!({"op":"wait","table":"Root","where":[],"until":"<","rows":[]}),
            json!({"op":"wait","table":"Root","where":[],"until":"==","rows":{},"timeout":1.5}),
            json!({"op":"wait","table":"Root","where":[],"until":"==","rows":[1]}),
            json!({"op":"commit","durable":"yes"}),
            json!({"op":"assert","lock":[]}),
            json!({"op":"update","table":"Root","where":[],"row":{"kids":["set",[["uuid","x"]]]}}),
            json!({"op":"insert","table":"Root","row":{"n":1e300}}),
            json!({"op":"insert","table":"Root","row":{"n":18446744073709551615u64}}),
        ];
        for j in junk {
            let out = db.transact(std::slice::from_ref(&j), &ctx());
            assert!(matches!(out, TxnOutcome::Failed { .. }), "{j} -> {out:?}");
        }
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "op",
                "insert",
                "select",
                "update",
                "mutate",
                "delete",
                "wait",
                "table",
                "Root",
                "Kid",
                "Other",
                "row",
                "where",
                "name",
                "kids",
                "weak",
                "n",
                "==",
                "<",
                "includes",
                "+=",
                "insert",
                "delete",
                "set",
                "map",
                "uuid",
                "named-uuid",
                "uuid-name",
                "a",
                "mutations",
                "columns",
                "rows",
                "until",
                "timeout",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(
                    (
                        prop::sample::select(vec![
                            "op",
                            "table",
                            "row",
                            "where",
                            "uuid-name",
                            "mutations",
                            "columns",
                            "rows",
                            "until",
                            "timeout",
                            "name",
                            "kids",
                            "n",
                        ]),
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn random_transactions_never_panic(ops in proptest::collection::vec(arb_json(), 0..4)) {
            let mut db = Database::new(test_schema());
            ok(&mut db, json!([{"op":"insert","table":"Root","row":{"name":"r","kids":["named-uuid","k"]}},
                               {"op":"insert","table":"Kid","row":{"name":"k"},"uuid-name":"k"}]));
            let before = db.to_snapshot_json();
            match db.transact(&ops, &ctx()) {
                TxnOutcome::Committed { changes, .. } => {
                    let mut replica = Database::from_snapshot_json(test_schema(), &before).unwrap();
                    replica.apply_changes_json(&changes.to_json()).unwrap();
                    proptest::prop_assert_eq!(replica.to_snapshot_json(), db.to_snapshot_json());
                }
                _ => proptest::prop_assert_eq!(db.to_snapshot_json(), before),
            }
        }
    }
}
