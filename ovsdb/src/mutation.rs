//! `mutate` operations (RFC 7047 section 5.2.4, `<mutation>`).
//!
//! Contract: [`parse_mutations`] parses `[[column, mutator, value], ...]`
//! against a [`TableSchema`]; [`apply_mutations`] applies them in order to a
//! row's values and either succeeds with every mutated column satisfying its
//! type's constraints, or fails leaving the caller to discard the row.
//!
//! Rules (as ovsdb-server applies them):
//! * immutable columns (`_uuid`, `_version`, `mutable: false`) cannot be
//!   mutated: `constraint violation`;
//! * `+= -= *= /=` apply to integer and real columns, `%=` to integers
//!   only; on a set each element is mutated; maps are not allowed; the
//!   value is a single atom of the key type;
//! * integer `/=` or `%=` by 0 is a `domain error`; integer overflow and a
//!   non-finite real result are a `range error`; element-wise mutation
//!   producing duplicate set elements is a `constraint violation`;
//! * `insert`/`delete` apply to sets and maps (not scalars); on a map
//!   `insert` adds pairs whose key is absent, `delete` takes a set of keys
//!   or a map of pairs (deleted only if the value matches);
//! * after all mutations each mutated column must satisfy its type
//!   (counts, enums, ranges): `constraint violation`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::datum::{Atom, Datum, OvsdbError, SymbolTable};
use crate::schema::{AtomicType, Max, TableSchema, Type};

/// A mutator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Insert,
    Delete,
}

impl Mutator {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "+=" => Mutator::Add,
            "-=" => Mutator::Sub,
            "*=" => Mutator::Mul,
            "/=" => Mutator::Div,
            "%=" => Mutator::Mod,
            "insert" => Mutator::Insert,
            "delete" => Mutator::Delete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// One parsed mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Column position in the table schema.
    pub column: usize,
    pub mutator: Mutator,
    pub arg: Datum,
}

/// Parses a `mutations` array.
pub fn parse_mutations(
    v: &Value,
    table: &TableSchema,
    mut symtab: Option<&mut SymbolTable>,
) -> Result<Vec<Mutation>, OvsdbError> {
    let Some(arr) = v.as_array() else {
        return Err(OvsdbError::syntax(v, "array of mutations expected"));
    };
    let mut out = Vec::with_capacity(arr.len());
    for m in arr {
        out.push(parse_one(m, table, symtab.as_deref_mut())?);
    }
    Ok(out)
}

fn parse_one(
    m: &Value,
    table: &TableSchema,
    symtab: Option<&mut SymbolTable>,
) -> Result<Mutation, OvsdbError> {
    let Some([col, mutator, arg]) = m.as_array().map(Vec::as_slice) else {
        return Err(OvsdbError::syntax(m, "Parse error in mutation."));
    };
    let (Some(col_name), Some(mut_name)) = (col.as_str(), mutator.as_str()) else {
        return Err(OvsdbError::syntax(m, "Parse error in mutation."));
    };
    let Some(column) = table.column_index(col_name) else {
        return Err(OvsdbError::new(
            "unknown column",
            format!("No column {col_name} in table {}.", table.name),
        )
        .with_syntax(m));
    };
    let Some(mutator) = Mutator::from_name(mut_name) else {
        return Err(OvsdbError::syntax(
            m,
            format!("Unknown mutator \"{mut_name}\"."),
        ));
    };
    let col_schema = &table.columns[column];
    if !col_schema.mutable {
        return Err(OvsdbError::constraint(format!(
            "Cannot mutate immutable column {col_name} in table {}.",
            table.name
        ))
        .with_syntax(m));
    }
    let ty = &col_schema.type_;
    let mismatch = || {
        OvsdbError::syntax(
            m,
            format!(
                "Type mismatch: \"{mut_name}\" operator may not be applied to column {col_name} of type {}.",
                ty.describe()
            ),
        )
    };
    let arg = match mutator {
        Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
            let ok = match ty.key.atomic {
                AtomicType::Integer => true,
                AtomicType::Real => mutator != Mutator::Mod,
                _ => false,
            };
            if !ok || ty.is_map() {
                return Err(mismatch());
            }
            // The argument is an unconstrained atom of the key type.
            let arg_ty = Type::scalar(crate::schema::BaseType::new(ty.key.atomic));
            Datum::from_json(arg, &arg_ty, symtab)?
        }
        Mutator::Insert | Mutator::Delete => {
            if ty.is_scalar() {
                return Err(mismatch());
            }
            if ty.is_map() && mutator == Mutator::Delete && !is_map_json(arg) {
                // A set of keys (or a bare key).
                let key_ty = Type {
                    key: ty.key.clone(),
                    value: None,
                    min: 0,
                    max: Max::Unlimited,
                };
                Datum::from_json(arg, &key_ty, symtab)?
            } else {
                let relaxed = ty.relaxed(mutator == Mutator::Delete);
                Datum::from_json(arg, &relaxed, symtab)?
            }
        }
    };
    Ok(Mutation {
        column,
        mutator,
        arg,
    })
}

fn is_map_json(v: &Value) -> bool {
    matches!(v.as_array().map(Vec::as_slice), Some([Value::String(t), _]) if t == "map")
}

fn range_error(m: Mutator) -> OvsdbError {
    OvsdbError::new(
        "range error",
        format!("Result of \"{}\" operation is out of range.", m.name()),
    )
}

fn arith(m: Mutator, a: &Atom, b: &Atom) -> Result<Atom, OvsdbError> {
    match (a, b) {
        (Atom::Integer(x), Atom::Integer(y)) => {
            let (x, y) = (*x, *y);
            if matches!(m, Mutator::Div | Mutator::Mod) && y == 0 {
                return Err(OvsdbError::new("domain error", "Division by zero."));
            }
            let r = match m {
                Mutator::Add => x.checked_add(y),
                Mutator::Sub => x.checked_sub(y),
                Mutator::Mul => x.checked_mul(y),
                Mutator::Div => x.checked_div(y),
                // i64::MIN % -1 is mathematically 0.
                _ => Some(x.checked_rem(y).unwrap_or(0)),
            };
            r.map(Atom::Integer).ok_or_else(|| range_error(m))
        }
        (Atom::Real(x), Atom::Real(y)) => {
            let r = match m {
                Mutator::Add => x + y,
                Mutator::Sub => x - y,
                Mutator::Mul => x * y,
                Mutator::Div => {
                    if *y == 0.0 {
                        return Err(OvsdbError::new("domain error", "Division by zero."));
                    }
                    x / y
                }
                _ => return Err(range_error(m)),
            };
            if r.is_finite() {
                Ok(Atom::Real(r))
            } else {
                Err(range_error(m))
            }
        }
        _ => Err(OvsdbError::new("syntax error", "type mismatch in mutation")),
    }
}

/// Applies one mutation to a datum of type `ty` (no final constraint
/// check; see [`apply_mutations`]).
pub fn apply_one(d: &mut Datum, ty: &Type, m: &Mutation) -> Result<(), OvsdbError> {
    match m.mutator {
        Mutator::Insert => match (d, &m.arg) {
            (Datum::Set(s), Datum::Set(a)) => s.extend(a.iter().cloned()),
            (Datum::Map(s), Datum::Map(a)) => {
                for (k, v) in a {
                    s.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            _ => return Err(OvsdbError::new("syntax error", "type mismatch in mutation")),
        },
        Mutator::Delete => match (d, &m.arg) {
            (Datum::Set(s), Datum::Set(a)) => {
                for x in a {
                    s.remove(x);
                }
            }
            (Datum::Map(s), Datum::Set(keys)) => {
                for k in keys {
                    s.remove(k);
                }
            }
            (Datum::Map(s), Datum::Map(pairs)) => {
                for (k, v) in pairs {
                    if s.get(k) == Some(v) {
                        s.remove(k);
                    }
                }
            }
            _ => return Err(OvsdbError::new("syntax error", "type mismatch in mutation")),
        },
        _ => {
            let Some(arg) = m.arg.as_scalar() else {
                return Err(OvsdbError::new("syntax error", "type mismatch in mutation"));
            };
            let Datum::Set(s) = d else {
                return Err(OvsdbError::new("syntax error", "type mismatch in mutation"));
            };
            let mut out = BTreeSet::new();
            for x in s.iter() {
                let r = arith(m.mutator, x, arg)?;
                r.check_constraints(&ty.key)?;
                if !out.insert(r) {
                    return Err(OvsdbError::constraint(format!(
                        "Result of \"{}\" operation contains duplicates.",
                        m.mutator.name()
                    )));
                }
            }
            *s = out;
        }
    }
    Ok(())
}

/// Applies mutations in order to `row` (values indexed like
/// `table.columns`), then checks each mutated column's constraints.
pub fn apply_mutations(
    row: &mut [Datum],
    table: &TableSchema,
    muts: &[Mutation],
) -> Result<(), OvsdbError> {
    for m in muts {
        let (Some(col), Some(d)) = (table.columns.get(m.column), row.get_mut(m.column)) else {
            return Err(OvsdbError::new("syntax error", "bad column in mutation"));
        };
        apply_one(d, &col.type_, m)?;
    }
    for m in muts {
        let col = &table.columns[m.column];
        let d = &row[m.column];
        if !col.type_.max.allows(d.len()) || d.len() < col.type_.min {
            return Err(OvsdbError::constraint(format!(
                "Attempted to store {} elements in column {} of type {} (which requires {} to {} elements).",
                d.len(),
                col.name,
                col.type_.describe(),
                col.type_.min,
                col.type_.max
            )));
        }
        d.check_constraints(&col.type_)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatabaseSchema;
    use serde_json::json;

    fn schema() -> DatabaseSchema {
        DatabaseSchema::from_json(
            &json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{
                "i":{"type":"integer"},
                "r":{"type":"real"},
                "b":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":10}}},
                "s":{"type":"string"},
                "set":{"type":{"key":"integer","min":0,"max":"unlimited"}},
                "small":{"type":{"key":"string","min":0,"max":2}},
                "m":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
                "fixed":{"type":"integer","mutable":false}
            }}}}),
        )
        .unwrap()
    }

    fn row(t: &TableSchema, vals: Value) -> Vec<Datum> {
        t.columns
            .iter()
            .map(|c| match vals.get(&c.name) {
                Some(v) => Datum::from_json(v, &c.type_, None).unwrap(),
                None => Datum::default_for(&c.type_),
            })
            .collect()
    }

    fn run(vals: Value, muts: Value) -> Result<Vec<Datum>, OvsdbError> {
        let s = schema();
        let t = s.table("T").unwrap();
        let mut r = row(t, vals);
        let ms = parse_mutations(&muts, t, None)?;
        apply_mutations(&mut r, t, &ms)?;
        Ok(r)
    }

    fn col(r: &[Datum], name: &str) -> Value {
        let s = schema();
        r[s.table("T").unwrap().column_index(name).unwrap()].to_json()
    }

    #[test]
    fn arithmetic() {
        let r = run(
            json!({"i":7}),
            json!([
                ["i", "+=", 3],
                ["i", "*=", 2],
                ["i", "-=", 1],
                ["i", "/=", 4],
                ["i", "%=", 3]
            ]),
        )
        .unwrap();
        assert_eq!(col(&r, "i"), json!(1)); // ((7+3)*2-1)/4 = 4, 4%3 = 1
        let r = run(json!({"i":-7}), json!([["i", "/=", 2]])).unwrap();
        assert_eq!(col(&r, "i"), json!(-3));
        let r = run(json!({"i":-7}), json!([["i", "%=", 2]])).unwrap();
        assert_eq!(col(&r, "i"), json!(-1));
        let r = run(json!({"i":i64::MIN}), json!([["i", "%=", -1]])).unwrap();
        assert_eq!(col(&r, "i"), json!(0));
        let r = run(json!({"r":1.5}), json!([["r", "*=", 2.0], ["r", "/=", 4]])).unwrap();
        assert_eq!(col(&r, "r"), json!(0.75));
        let r = run(json!({"set":["set",[1,2,3]]}), json!([["set", "+=", 10]])).unwrap();
        assert_eq!(col(&r, "set"), json!(["set", [11, 12, 13]]));
    }

    #[test]
    fn arithmetic_errors() {
        let e = run(json!({}), json!([["i", "/=", 0]])).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.details.as_deref()),
            ("domain error", Some("Division by zero."))
        );
        let e = run(json!({}), json!([["i", "%=", 0]])).unwrap_err();
        assert_eq!(e.error, "domain error");
        let e = run(json!({"r":1.0}), json!([["r", "/=", 0.0]])).unwrap_err();
        assert_eq!(e.error, "domain error");
        let e = run(json!({"i":i64::MAX}), json!([["i", "+=", 1]])).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.details.as_deref()),
            (
                "range error",
                Some("Result of \"+=\" operation is out of range.")
            )
        );
        let e = run(json!({"i":i64::MIN}), json!([["i", "-=", 1]])).unwrap_err();
        assert_eq!(e.error, "range error");
        let e = run(json!({"i":i64::MIN}), json!([["i", "/=", -1]])).unwrap_err();
        assert_eq!(e.error, "range error");
        let e = run(json!({"i":i64::MAX}), json!([["i", "*=", 2]])).unwrap_err();
        assert_eq!(e.error, "range error");
        let e = run(json!({"r":1e308}), json!([["r", "*=", 10.0]])).unwrap_err();
        assert_eq!(e.error, "range error");
        let e = run(json!({"b":5}), json!([["b", "+=", 6]])).unwrap_err();
        assert_eq!(e.error, "constraint violation");
        let e = run(json!({"set":["set",[1,2]]}), json!([["set", "*=", 0]])).unwrap_err();
        assert_eq!(e.error, "constraint violation");
        let e = run(json!({}), json!([["r", "%=", 1.0]])).unwrap_err();
        assert_eq!(e.error, "syntax error");
        let e = run(json!({}), json!([["s", "+=", "a"]])).unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some("Type mismatch: \"+=\" operator may not be applied to column s of type string.")
        );
        let e = run(json!({}), json!([["m", "+=", 1]])).unwrap_err();
        assert_eq!(e.error, "syntax error");
        let e = run(json!({}), json!([["i", "insert", 1]])).unwrap_err();
        assert_eq!(
            e.details.as_deref(),
            Some(
                "Type mismatch: \"insert\" operator may not be applied to column i of type integer."
            )
        );
        let e = run(json!({}), json!([["_uuid", "insert", 1]])).unwrap_err();
        assert_eq!(
            (e.error.as_str(), e.details.as_deref()),
            (
                "constraint violation",
                Some("Cannot mutate immutable column _uuid in table T.")
            )
        );
        let e = run(json!({}), json!([["fixed", "+=", 1]])).unwrap_err();
        assert_eq!(e.error, "constraint violation");
        let e = run(json!({}), json!([["nope", "+=", 1]])).unwrap_err();
        assert_eq!(e.error, "unknown column");
        let e = run(json!({}), json!([["i", "^=", 1]])).unwrap_err();
        assert_eq!(e.error, "syntax error");
        let e = run(json!({}), json!([["i", "+=", 1.5]])).unwrap_err();
        assert_eq!(e.details.as_deref(), Some("expected integer"));
        assert!(run(json!({}), json!({})).is_err());
        assert!(run(json!({}), json!([["i", "+="]])).is_err());
    }

    #[test]
    fn set_and_map_insert_delete() {
        let r = run(
            json!({"set":["set",[1,2]]}),
            json!([["set", "insert", ["set", [2, 3]]], ["set", "delete", 1]]),
        )
        .unwrap();
        assert_eq!(col(&r, "set"), json!(["set", [2, 3]]));
        let r = run(
            json!({"set":["set",[1,2]]}),
            json!([["set", "delete", ["set", [1, 2, 9]]]]),
        )
        .unwrap();
        assert_eq!(col(&r, "set"), json!(["set", []]));
        let m0 = json!({"m":["map",[["a","1"],["b","2"]]]});
        let r = run(
            m0.clone(),
            json!([["m", "insert", ["map", [["a", "9"], ["c", "3"]]]]]),
        )
        .unwrap();
        assert_eq!(
            col(&r, "m"),
            json!(["map", [["a", "1"], ["b", "2"], ["c", "3"]]])
        );
        let r = run(m0.clone(), json!([["m", "delete", ["set", ["a"]]]])).unwrap();
        assert_eq!(col(&r, "m"), json!(["map", [["b", "2"]]]));
        let r = run(m0.clone(), json!([["m", "delete", "b"]])).unwrap();
        assert_eq!(col(&r, "m"), json!(["map", [["a", "1"]]]));
        let r = run(
            m0.clone(),
            json!([["m", "delete", ["map", [["a", "1"], ["b", "x"]]]]]),
        )
        .unwrap();
        assert_eq!(col(&r, "m"), json!(["map", [["b", "2"]]]));
        let e = run(
            json!({"small":["set",["a","b"]]}),
            json!([["small", "insert", "c"]]),
        )
        .unwrap_err();
        assert_eq!(e.error, "constraint violation");
        let e = run(
            json!({}),
            json!([["small", "insert", ["set", ["a", "b", "c"]]]]),
        )
        .unwrap_err();
        assert_eq!(e.error, "syntax error");
    }
}
