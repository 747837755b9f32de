//! Monitors: `monitor` (RFC 7047 `update`), `monitor_cond` (`update2`) and
//! `monitor_cond_since` (`update3`).
//!
//! This module turns row changes into table-updates, knowing nothing of
//! sessions or sockets. Rows are handled in their JSON column-map form
//! (`{"name": "br0", "ports": ["set", [...]]}`), as the database produces
//! them, with one [`ColumnKind`] per column saying how to diff it.
//!
//! Semantics (as Open vSwitch's server behaves):
//! * `update` (v1): `initial`/`insert` rows carry `new` with every monitored
//!   column; `delete` carries `old` with every monitored column; `modify`
//!   carries `new` with every monitored column and `old` with only the
//!   monitored columns that changed. A modify that changes no monitored column
//!   is not sent.
//! * `update2`/`update3`: `initial`/`insert` rows omit columns that hold their
//!   default value; `delete` is `null`; `modify` carries a diff per changed
//!   column: the new value for a scalar, the symmetric difference for a set,
//!   and for a map the pairs whose key was added or removed plus the new pair
//!   for every changed value.
//! * `select` flags (`initial`, `insert`, `delete`, `modify`, all true by
//!   default) filter what is sent; conditions (`where`, v2/v3 only) are
//!   applied to both the old and the new row: a row that starts matching is
//!   an insert, one that stops matching is a delete.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A row as a JSON object from column name to datum JSON.
pub type RowJson = Map<String, Value>;

/// What kind of datum a column holds, for diffs and defaults.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    /// At most one atom (`max == 1`, no value type): a diff is the new
    /// value. `default` is the type's default: its default atom (0, 0.0,
    /// false, "", the zero UUID) when `min == 1`, the empty set otherwise.
    Scalar { default: Value },
    /// A set (of at most `max` atoms, possibly empty).
    Set,
    /// A map.
    Map,
}

/// Which kinds of change a table's monitor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Select {
    pub initial: bool,
    pub insert: bool,
    pub delete: bool,
    pub modify: bool,
}

impl Default for Select {
    fn default() -> Self {
        Select {
            initial: true,
            insert: true,
            delete: true,
            modify: true,
        }
    }
}

/// Protocol version of a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `monitor` / `update`.
    V1,
    /// `monitor_cond` / `update2`.
    V2,
    /// `monitor_cond_since` / `update3`.
    V3,
}

/// A row predicate for conditional monitors (already compiled by the
/// caller); `None` means "every row".
pub type RowFilter = Box<dyn Fn(&RowJson) -> bool + Send + Sync>;

/// One table of a monitor.
pub struct TableMonitor {
    /// Monitored columns, in the order to report them, with their kinds.
    pub columns: Vec<(String, ColumnKind)>,
    /// What to report.
    pub select: Select,
    /// Condition (v2/v3); `None` = all rows.
    pub filter: Option<RowFilter>,
}

impl std::fmt::Debug for TableMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableMonitor")
            .field("columns", &self.columns)
            .field("select", &self.select)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl TableMonitor {
    fn matches(&self, row: &RowJson) -> bool {
        self.filter.as_ref().is_none_or(|f| f(row))
    }

    fn project(&self, row: &RowJson, version: Version) -> RowJson {
        let mut out = Map::new();
        for (name, kind) in &self.columns {
            let Some(v) = row.get(name) else { continue };
            if version != Version::V1 && is_default(kind, v) {
                continue;
            }
            out.insert(name.clone(), v.clone());
        }
        out
    }

    /// The update for an unchanged row after this table's condition changed
    /// (`self.filter` is the new one; `was` says whether the row matched the
    /// old one): an `insert` of a row that now matches, a `delete` of one
    /// that no longer does, `None` otherwise. As in Open vSwitch, the
    /// `select` flags do not apply: the client needs these to stay in sync.
    pub fn cond_change_update(&self, row: &RowJson, was: bool, version: Version) -> Option<Value> {
        match (was, self.matches(row)) {
            (false, true) => Some(match version {
                Version::V1 => obj([("new", Value::Object(self.project(row, version)))]),
                _ => obj([("insert", Value::Object(self.project(row, version)))]),
            }),
            (true, false) => Some(match version {
                Version::V1 => obj([("old", Value::Object(self.project(row, version)))]),
                _ => obj([("delete", Value::Null)]),
            }),
            _ => None,
        }
    }

    /// `row_update(None, Some(&row), version, true)` (a row of the initial
    /// contents), taking the values out of `row` instead of copying them.
    pub fn initial_update(&self, mut row: RowJson, version: Version) -> Option<Value> {
        if !self.select.initial || !self.matches(&row) {
            return None;
        }
        let mut out = Map::new();
        for (name, kind) in &self.columns {
            let Some(v) = row.remove(name) else { continue };
            if version != Version::V1 && is_default(kind, &v) {
                continue;
            }
            out.insert(name.clone(), v);
        }
        Some(match version {
            Version::V1 => obj([("new", Value::Object(out))]),
            _ => obj([("initial", Value::Object(out))]),
        })
    }

    /// The update for one row, given its old and new states (`None` = did
    /// not exist), or `None` when nothing is to be sent.
    pub fn row_update(
        &self,
        old: Option<&RowJson>,
        new: Option<&RowJson>,
        version: Version,
        initial: bool,
    ) -> Option<Value> {
        let old = old.filter(|r| self.matches(r));
        let new = new.filter(|r| self.matches(r));
        match (old, new) {
            (None, None) => None,
            (None, Some(n)) => {
                let wanted = if initial {
                    self.select.initial
                } else {
                    self.select.insert
                };
                if !wanted {
                    return None;
                }
                let row = Value::Object(self.project(n, version));
                Some(match version {
                    Version::V1 => obj([("new", row)]),
                    _ => obj([(if initial { "initial" } else { "insert" }, row)]),
                })
            }
            (Some(o), None) => {
                if !self.select.delete {
                    return None;
                }
                Some(match version {
                    Version::V1 => obj([("old", Value::Object(self.project(o, version)))]),
                    _ => obj([("delete", Value::Null)]),
                })
            }
            (Some(o), Some(n)) => {
                if !self.select.modify {
                    return None;
                }
                let changed: Vec<&(String, ColumnKind)> = self
                    .columns
                    .iter()
                    .filter(|(c, _)| o.get(c) != n.get(c))
                    .collect();
                if changed.is_empty() {
                    return None;
                }
                match version {
                    Version::V1 => {
                        let mut old_cols = Map::new();
                        for (c, _) in &changed {
                            if let Some(v) = o.get(c) {
                                old_cols.insert(c.clone(), v.clone());
                            }
                        }
                        Some(obj([
                            ("old", Value::Object(old_cols)),
                            ("new", Value::Object(self.project(n, version))),
                        ]))
                    }
                    _ => {
                        let mut diff = Map::new();
                        for (c, kind) in changed {
                            let (ov, nv) = (o.get(c), n.get(c));
                            diff.insert(c.clone(), diff_datum(kind, ov, nv));
                        }
                        Some(obj([("modify", Value::Object(diff))]))
                    }
                }
            }
        }
    }
}

fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// True when `v` is the default value of a column of `kind`.
pub fn is_default(kind: &ColumnKind, v: &Value) -> bool {
    match kind {
        ColumnKind::Scalar { default } => v == default,
        ColumnKind::Set => set_elems(v).is_empty(),
        ColumnKind::Map => map_pairs(v).is_empty(),
    }
}

/// Elements of a set datum in JSON notation (a bare atom is a 1-set).
pub fn set_elems(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "set" => match &a[1] {
            Value::Array(e) => e.clone(),
            _ => Vec::new(),
        },
        other => vec![other.clone()],
    }
}

/// Pairs of a map datum in JSON notation.
pub fn map_pairs(v: &Value) -> Vec<(Value, Value)> {
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "map" => match &a[1] {
            Value::Array(ps) => ps
                .iter()
                .filter_map(|p| match p {
                    Value::Array(kv) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn set_json(mut elems: Vec<Value>) -> Value {
    if elems.len() == 1 {
        return elems.pop().expect("one element");
    }
    Value::Array(vec![Value::from("set"), Value::Array(elems)])
}

fn map_json(pairs: Vec<(Value, Value)>) -> Value {
    Value::Array(vec![
        Value::from("map"),
        Value::Array(
            pairs
                .into_iter()
                .map(|(k, v)| Value::Array(vec![k, v]))
                .collect(),
        ),
    ])
}

/// The update2 diff of one column.
fn diff_datum(kind: &ColumnKind, old: Option<&Value>, new: Option<&Value>) -> Value {
    let null = Value::Null;
    let (o, n) = (old.unwrap_or(&null), new.unwrap_or(&null));
    match kind {
        ColumnKind::Scalar { .. } => n.clone(),
        ColumnKind::Set => {
            // Hash the elements' JSON text: large sets (Bridge.ports with
            // thousands of ports) must not cost a quadratic comparison.
            let (oe, ne) = (set_elems(o), set_elems(n));
            let os: std::collections::HashSet<String> = oe.iter().map(Value::to_string).collect();
            let ns: std::collections::HashSet<String> = ne.iter().map(Value::to_string).collect();
            let mut d: Vec<Value> = oe
                .iter()
                .filter(|x| !ns.contains(&x.to_string()))
                .cloned()
                .collect();
            d.extend(ne.iter().filter(|x| !os.contains(&x.to_string())).cloned());
            sort_atoms(&mut d);
            set_json(d)
        }
        ColumnKind::Map => {
            let (op, np) = (map_pairs(o), map_pairs(n));
            let om: BTreeMap<String, &Value> = op.iter().map(|(k, v)| (k.to_string(), v)).collect();
            let nm: BTreeMap<String, &Value> = np.iter().map(|(k, v)| (k.to_string(), v)).collect();
            let mut d: Vec<(Value, Value)> = Vec::new();
            for (k, v) in &op {
                // Removed keys: the old pair.
                if !nm.contains_key(&k.to_string()) {
                    d.push((k.clone(), v.clone()));
                }
            }
            for (k, v) in &np {
                // Added keys and changed values: the new pair.
                match om.get(&k.to_string()) {
                    Some(ov) if *ov == v => {}
                    _ => d.push((k.clone(), v.clone())),
                }
            }
            d.sort_by(|a, b| atom_order(&a.0, &b.0));
            map_json(d)
        }
    }
}

fn sort_atoms(v: &mut [Value]) {
    v.sort_by(atom_order);
}

/// Orders atoms as the database orders them: numbers numerically, strings
/// and UUIDs by their text.
fn atom_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> RowJson {
        v.as_object().unwrap().clone()
    }

    fn bridge_monitor() -> TableMonitor {
        TableMonitor {
            columns: vec![
                ("name".into(), ColumnKind::Scalar { default: json!("") }),
                ("ports".into(), ColumnKind::Set),
                ("other_config".into(), ColumnKind::Map),
                (
                    "stp_enable".into(),
                    ColumnKind::Scalar {
                        default: json!(false),
                    },
                ),
            ],
            select: Select::default(),
            filter: None,
        }
    }

    #[test]
    fn insert_omits_defaults_in_v2_but_not_v1() {
        let m = bridge_monitor();
        let n = row(
            json!({"name":"br0","ports":["set",[]],"other_config":["map",[]],"stp_enable":false}),
        );
        assert_eq!(
            m.row_update(None, Some(&n), Version::V2, false),
            Some(json!({"insert":{"name":"br0"}}))
        );
        assert_eq!(
            m.row_update(None, Some(&n), Version::V3, true),
            Some(json!({"initial":{"name":"br0"}}))
        );
        assert_eq!(
            m.row_update(None, Some(&n), Version::V1, true),
            Some(
                json!({"new":{"name":"br0","ports":["set",[]],"other_config":["map",[]],"stp_enable":false}})
            )
        );
    }

    #[test]
    fn initial_update_equals_row_update() {
        let mut m = bridge_monitor();
        let n = row(
            json!({"name":"br0","ports":["set",[]],"other_config":["map",[["a","b"]]],
            "stp_enable":false,"extra":1}),
        );
        for v in [Version::V1, Version::V2, Version::V3] {
            assert_eq!(
                m.initial_update(n.clone(), v),
                m.row_update(None, Some(&n), v, true)
            );
        }
        m.filter = Some(Box::new(|r: &RowJson| r.get("name") == Some(&json!("x"))));
        assert_eq!(m.initial_update(n.clone(), Version::V2), None);
        m.filter = None;
        m.select.initial = false;
        assert_eq!(m.initial_update(n, Version::V2), None);
    }

    #[test]
    fn modify_diffs_sets_and_maps() {
        let m = bridge_monitor();
        let o = row(json!({"name":"br0","ports":["uuid","a"],
            "other_config":["map",[["k1","v1"],["k2","v2"]]],"stp_enable":false}));
        let n = row(
            json!({"name":"br0","ports":["set",[["uuid","a"],["uuid","b"]]],
            "other_config":["map",[["k2","v9"],["k3","v3"]]],"stp_enable":false}),
        );
        assert_eq!(
            m.row_update(Some(&o), Some(&n), Version::V2, false),
            Some(json!({"modify":{
                "ports":["uuid","b"],
                "other_config":["map",[["k1","v1"],["k2","v9"],["k3","v3"]]]
            }}))
        );
        // v1: old has only the changed columns, new has them all.
        let v1 = m
            .row_update(Some(&o), Some(&n), Version::V1, false)
            .unwrap();
        assert_eq!(v1["old"].as_object().unwrap().len(), 2);
        assert_eq!(v1["new"].as_object().unwrap().len(), 4);
        // Changing an unmonitored column sends nothing.
        let mut n2 = o.clone();
        n2.insert("status".into(), json!(["map", [["x", "y"]]]));
        assert_eq!(m.row_update(Some(&o), Some(&n2), Version::V2, false), None);
    }

    #[test]
    fn optional_column_diff_is_the_new_value() {
        let m = TableMonitor {
            columns: vec![(
                "fail_mode".into(),
                ColumnKind::Scalar {
                    default: json!(["set", []]),
                },
            )],
            select: Select::default(),
            filter: None,
        };
        let a = row(json!({"fail_mode": "secure"}));
        let b = row(json!({"fail_mode": "standalone"}));
        let none = row(json!({"fail_mode": ["set", []]}));
        assert_eq!(
            m.row_update(Some(&a), Some(&b), Version::V2, false),
            Some(json!({"modify": {"fail_mode": "standalone"}}))
        );
        assert_eq!(
            m.row_update(Some(&b), Some(&none), Version::V2, false),
            Some(json!({"modify": {"fail_mode": ["set", []]}}))
        );
        assert_eq!(
            m.row_update(None, Some(&none), Version::V2, false),
            Some(json!({"insert": {}}))
        );
    }

    #[test]
    fn delete_and_select_flags() {
        let mut m = bridge_monitor();
        let o = row(json!({"name":"br0"}));
        assert_eq!(
            m.row_update(Some(&o), None, Version::V2, false),
            Some(json!({"delete":null}))
        );
        assert_eq!(
            m.row_update(Some(&o), None, Version::V1, false),
            Some(json!({"old":{"name":"br0"}}))
        );
        m.select.delete = false;
        assert_eq!(m.row_update(Some(&o), None, Version::V2, false), None);
    }

    #[test]
    fn condition_changes_insert_and_delete() {
        let mut m = bridge_monitor();
        m.filter = Some(Box::new(|r: &RowJson| r.get("name") == Some(&json!("b1"))));
        m.select = Select {
            initial: false,
            insert: false,
            delete: false,
            modify: false,
        };
        let b1 = row(json!({"name":"b1","ports":["set",[]],"stp_enable":false}));
        let b2 = row(json!({"name":"b2","ports":["set",[]],"stp_enable":false}));
        assert_eq!(
            m.cond_change_update(&b1, false, Version::V2),
            Some(json!({"insert":{"name":"b1"}}))
        );
        assert_eq!(
            m.cond_change_update(&b2, true, Version::V3),
            Some(json!({"delete":null}))
        );
        assert_eq!(m.cond_change_update(&b1, true, Version::V2), None);
        assert_eq!(m.cond_change_update(&b2, false, Version::V2), None);
    }

    #[test]
    fn conditions_turn_modifies_into_inserts_and_deletes() {
        let mut m = bridge_monitor();
        m.filter = Some(Box::new(|r: &RowJson| {
            r.get("stp_enable") == Some(&json!(true))
        }));
        let off = row(json!({"name":"br0","stp_enable":false}));
        let on = row(json!({"name":"br0","stp_enable":true}));
        assert_eq!(
            m.row_update(Some(&off), Some(&on), Version::V2, false),
            Some(json!({"insert":{"name":"br0","stp_enable":true}}))
        );
        assert_eq!(
            m.row_update(Some(&on), Some(&off), Version::V2, false),
            Some(json!({"delete":null}))
        );
        assert_eq!(
            m.row_update(Some(&off), Some(&off), Version::V2, false),
            None
        );
    }
}
