//! Conditions of conditional monitors (`monitor_cond`, `monitor_cond_since`),
//! evaluated on rows in their JSON form.
//!
//! A condition is an array whose elements are all true for a row to match
//! (an empty array matches everything): the literals `true` and `false`, or
//! clauses `[column, function, value]` with the RFC 7047 functions `==`,
//! `!=`, `<`, `<=`, `>`, `>=` (scalars only), `includes` and `excludes`.
//! Datums are compared as sets of atoms (a bare atom is a one-element set),
//! or as sets of key/value pairs for maps, so the JSON notation's element
//! order never matters.

use super::monitor::{RowFilter, RowJson, map_pairs, set_elems};
use crate::schema::TableSchema;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Includes,
    Excludes,
}

#[derive(Debug, Clone)]
enum Clause {
    Const(bool),
    Cmp {
        column: String,
        func: Func,
        value: Value,
        is_map: bool,
    },
}

/// Compiles a condition against a table, or says what is wrong with it.
pub fn compile(ts: &TableSchema, cond: &Value) -> Result<RowFilter, String> {
    let Some(items) = cond.as_array() else {
        return Err("condition must be an array".into());
    };
    let mut clauses = Vec::with_capacity(items.len());
    for item in items {
        clauses.push(match item {
            Value::Bool(b) => Clause::Const(*b),
            Value::Array(c) if c.len() == 3 => {
                let column = c[0].as_str().ok_or("clause column must be a string")?;
                let col = ts
                    .column(column)
                    .ok_or_else(|| format!("{column} is not a valid column name"))?;
                let func = match c[1].as_str().unwrap_or_default() {
                    "==" => Func::Eq,
                    "!=" => Func::Ne,
                    "<" => Func::Lt,
                    "<=" => Func::Le,
                    ">" => Func::Gt,
                    ">=" => Func::Ge,
                    "includes" => Func::Includes,
                    "excludes" => Func::Excludes,
                    other => return Err(format!("unknown function {other}")),
                };
                let ordered = matches!(func, Func::Lt | Func::Le | Func::Gt | Func::Ge);
                if ordered && !(col.type_.is_scalar() || col.type_.is_optional_scalar()) {
                    return Err(format!(
                        "function {} is not allowed on column {column}",
                        c[1].as_str().unwrap_or_default()
                    ));
                }
                Clause::Cmp {
                    column: column.to_owned(),
                    func,
                    value: c[2].clone(),
                    is_map: col.type_.is_map(),
                }
            }
            other => return Err(format!("bad condition clause {other}")),
        });
    }
    Ok(Box::new(move |row: &RowJson| {
        clauses.iter().all(|c| eval(c, row))
    }))
}

fn canon(v: &Value, is_map: bool) -> Vec<String> {
    let mut out: Vec<String> = if is_map {
        map_pairs(v)
            .into_iter()
            .map(|(k, v)| format!("{k}\u{0}{v}"))
            .collect()
    } else {
        set_elems(v).iter().map(Value::to_string).collect()
    };
    out.sort();
    out.dedup();
    out
}

fn eval(c: &Clause, row: &RowJson) -> bool {
    let (column, func, value, is_map) = match c {
        Clause::Const(b) => return *b,
        Clause::Cmp {
            column,
            func,
            value,
            is_map,
        } => (column, *func, value, *is_map),
    };
    let Some(have) = row.get(column) else {
        return false;
    };
    match func {
        Func::Eq => canon(have, is_map) == canon(value, is_map),
        Func::Ne => canon(have, is_map) != canon(value, is_map),
        Func::Includes => {
            let h = canon(have, is_map);
            canon(value, is_map).iter().all(|x| h.contains(x))
        }
        Func::Excludes => {
            let h = canon(have, is_map);
            canon(value, is_map).iter().all(|x| !h.contains(x))
        }
        Func::Lt | Func::Le | Func::Gt | Func::Ge => {
            let (a, b) = (set_elems(have), set_elems(value));
            let (Some(a), Some(b)) = (a.first(), b.first()) else {
                return false;
            };
            let ord = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.to_string().cmp(&b.to_string()),
            };
            match func {
                Func::Lt => ord.is_lt(),
                Func::Le => ord.is_le(),
                Func::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatabaseSchema;
    use serde_json::json;

    fn schema() -> DatabaseSchema {
        DatabaseSchema::from_json(&json!({
            "name": "t", "version": "1.0.0",
            "tables": {"T": {"columns": {
                "name": {"type": "string"},
                "n": {"type": "integer"},
                "s": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
                "m": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
            }}}
        }))
        .unwrap()
    }

    fn row(v: Value) -> RowJson {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn clauses() {
        let s = schema();
        let ts = s.table("T").unwrap();
        let r = row(json!({"name":"a","n":5,"s":["set",[3,1]],"m":["map",[["k","v"],["x","y"]]]}));
        let yes = |c: Value| compile(ts, &c).unwrap()(&r);
        assert!(yes(json!([])));
        assert!(yes(json!([true])));
        assert!(!yes(json!([false])));
        assert!(yes(json!([["name", "==", "a"]])));
        assert!(yes(json!([["n", ">", 4], ["n", "<=", 5]])));
        assert!(!yes(json!([["n", "<", 5]])));
        assert!(yes(json!([["s", "==", ["set", [1, 3]]]])));
        assert!(yes(json!([["s", "includes", 3]])));
        assert!(yes(json!([["s", "excludes", ["set", [2, 4]]]])));
        assert!(yes(json!([["m", "includes", ["map", [["x", "y"]]]]])));
        assert!(!yes(json!([["m", "includes", ["map", [["x", "z"]]]]])));
        assert!(compile(ts, &json!([["nosuch", "==", 1]])).is_err());
        assert!(compile(ts, &json!([["s", "<", 1]])).is_err());
        assert!(compile(ts, &json!([["n", "~", 1]])).is_err());
        assert!(compile(ts, &json!({"a": 1})).is_err());
    }
}
