//! `where` clauses (RFC 7047 section 5.1 "Notation", `<condition>`).
//!
//! Contract: [`Condition::from_json`] parses an array of
//! `[column, function, value]` clauses against a [`TableSchema`];
//! [`Condition::from_monitor_json`] additionally accepts the literal clauses
//! `true`/`false` used by `monitor_cond`. A condition matches a row iff all
//! clauses match (an empty condition matches every row).
//!
//! Rules (as ovsdb-server applies them):
//! * `<`, `<=`, `>`, `>=` only on integer or real columns that hold at most
//!   one atom; an empty optional column never matches them;
//! * `==`/`!=` compare whole datums; the value is parsed with the column's
//!   type;
//! * `includes`: the value is a subset of the column (map pairs must match
//!   exactly); `excludes`: the value and the column share no element/pair;
//!   their value is parsed with `min` 0 and no maximum;
//! * any column, including `_uuid` and `_version`, may be tested.
//!
//! Evaluation works on a row's values indexed like
//! [`TableSchema::columns`], in time linear in the clause and datum sizes.

use serde_json::Value;

use crate::datum::{Atom, Datum, OvsdbError, SymbolTable};
use crate::schema::{AtomicType, TableSchema, UUID_COLUMN};

/// A comparison function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    Includes,
    Excludes,
}

impl Function {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "<" => Function::Lt,
            "<=" => Function::Le,
            "==" => Function::Eq,
            "!=" => Function::Ne,
            ">=" => Function::Ge,
            ">" => Function::Gt,
            "includes" => Function::Includes,
            "excludes" => Function::Excludes,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// One clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// Literal `true`/`false` (monitor_cond only).
    Bool(bool),
    Compare {
        /// Column position in the table schema.
        column: usize,
        function: Function,
        arg: Datum,
    },
}

impl Clause {
    /// Evaluates against a row's values (indexed like the table columns).
    pub fn matches(&self, row: &[Datum]) -> bool {
        let (column, function, arg) = match self {
            Clause::Bool(b) => return *b,
            Clause::Compare {
                column,
                function,
                arg,
            } => (*column, *function, arg),
        };
        let Some(val) = row.get(column) else {
            return false;
        };
        match function {
            Function::Eq => val == arg,
            Function::Ne => val != arg,
            Function::Includes => includes(val, arg),
            Function::Excludes => excludes(val, arg),
            Function::Lt | Function::Le | Function::Ge | Function::Gt => {
                let (Some(a), Some(b)) = (val.as_scalar(), arg.as_scalar()) else {
                    return false;
                };
                let ord = match (a, b) {
                    (Atom::Real(x), Atom::Real(y)) => x.partial_cmp(y),
                    _ => Some(a.cmp(b)),
                };
                let Some(ord) = ord else { return false };
                match function {
                    Function::Lt => ord.is_lt(),
                    Function::Le => ord.is_le(),
                    Function::Ge => ord.is_ge(),
                    _ => ord.is_gt(),
                }
            }
        }
    }
}

/// True if every element (pair) of `sub` is in `sup`.
pub fn includes(sup: &Datum, sub: &Datum) -> bool {
    match (sup, sub) {
        (Datum::Set(a), Datum::Set(b)) => b.is_subset(a),
        (Datum::Map(a), Datum::Map(b)) => b.iter().all(|(k, v)| a.get(k) == Some(v)),
        _ => false,
    }
}

/// True if no element (pair) of `other` is in `d`.
pub fn excludes(d: &Datum, other: &Datum) -> bool {
    match (d, other) {
        (Datum::Set(a), Datum::Set(b)) => a.is_disjoint(b),
        (Datum::Map(a), Datum::Map(b)) => b.iter().all(|(k, v)| a.get(k) != Some(v)),
        _ => true,
    }
}

/// A conjunction of clauses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    pub clauses: Vec<Clause>,
}

impl Condition {
    /// Parses a transaction `where` clause.
    pub fn from_json(
        v: &Value,
        table: &TableSchema,
        symtab: Option<&mut SymbolTable>,
    ) -> Result<Condition, OvsdbError> {
        Self::parse(v, table, symtab, false)
    }

    /// Parses a `monitor_cond` condition (which may contain `true`/`false`).
    pub fn from_monitor_json(v: &Value, table: &TableSchema) -> Result<Condition, OvsdbError> {
        Self::parse(v, table, None, true)
    }

    fn parse(
        v: &Value,
        table: &TableSchema,
        mut symtab: Option<&mut SymbolTable>,
        allow_bool: bool,
    ) -> Result<Condition, OvsdbError> {
        let Some(arr) = v.as_array() else {
            return Err(OvsdbError::syntax(v, "Parse error in condition."));
        };
        let mut clauses = Vec::with_capacity(arr.len());
        for c in arr {
            clauses.push(parse_clause(c, table, symtab.as_deref_mut(), allow_bool)?);
        }
        Ok(Condition { clauses })
    }

    /// True if every clause matches.
    pub fn matches(&self, row: &[Datum]) -> bool {
        self.clauses.iter().all(|c| c.matches(row))
    }

    /// If the condition pins `_uuid` with `==`, that uuid (for lookups).
    pub fn uuid_eq(&self) -> Option<crate::datum::Uuid> {
        self.clauses.iter().find_map(|c| match c {
            Clause::Compare {
                column: UUID_COLUMN,
                function: Function::Eq,
                arg,
            } => arg.as_scalar().and_then(Atom::as_uuid),
            _ => None,
        })
    }

    /// True if some clause is the literal `false`.
    pub fn is_false(&self) -> bool {
        self.clauses.contains(&Clause::Bool(false))
    }
}

fn parse_clause(
    c: &Value,
    table: &TableSchema,
    symtab: Option<&mut SymbolTable>,
    allow_bool: bool,
) -> Result<Clause, OvsdbError> {
    if allow_bool && let Some(b) = c.as_bool() {
        return Ok(Clause::Bool(b));
    }
    let Some([col, func, arg]) = c.as_array().map(Vec::as_slice) else {
        return Err(OvsdbError::syntax(c, "Parse error in condition."));
    };
    let (Some(col_name), Some(func_name)) = (col.as_str(), func.as_str()) else {
        return Err(OvsdbError::syntax(c, "Parse error in condition."));
    };
    let Some(column) = table.column_index(col_name) else {
        return Err(OvsdbError::new(
            "unknown column",
            format!("No column {col_name} in table {}.", table.name),
        )
        .with_syntax(c));
    };
    let Some(function) = Function::from_name(func_name) else {
        return Err(OvsdbError::new(
            "unknown function",
            format!("No function named {func_name}."),
        ));
    };
    let ty = &table.columns[column].type_;
    let arg_ty = match function {
        Function::Lt | Function::Le | Function::Ge | Function::Gt => {
            let numeric = matches!(ty.key.atomic, AtomicType::Integer | AtomicType::Real);
            if !numeric || !(ty.is_scalar() || ty.is_optional_scalar()) {
                return Err(OvsdbError::syntax(
                    c,
                    format!(
                        "Type mismatch: \"{func_name}\" operator may not be applied to column {col_name} of type {}.",
                        ty.describe()
                    ),
                ));
            }
            let mut t = ty.clone();
            t.min = 1;
            t
        }
        Function::Eq | Function::Ne => ty.clone(),
        Function::Includes | Function::Excludes => ty.relaxed(true),
    };
    let arg = Datum::from_json(arg, &arg_ty, symtab)?;
    Ok(Clause::Compare {
        column,
        function,
        arg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::Uuid;
    use crate::schema::DatabaseSchema;
    use serde_json::json;

    fn schema() -> DatabaseSchema {
        DatabaseSchema::from_json(
            &json!({"name":"d","version":"1.0.0","tables":{"T":{"columns":{
                "i":{"type":"integer"},
                "r":{"type":{"key":"real","min":0}},
                "s":{"type":"string"},
                "set":{"type":{"key":"integer","min":0,"max":"unlimited"}},
                "m":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}
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

    fn eval(t: &TableSchema, cond: Value, r: &[Datum]) -> bool {
        Condition::from_json(&cond, t, None).unwrap().matches(r)
    }

    #[test]
    fn comparisons() {
        let s = schema();
        let t = s.table("T").unwrap();
        let r = row(
            t,
            json!({"i":5,"r":["set",[]],"s":"x","set":["set",[1,2,3]],"m":["map",[["a","1"],["b","2"]]]}),
        );
        assert!(eval(t, json!([]), &r));
        assert!(eval(
            t,
            json!([
                ["i", "<", 6],
                ["i", "<=", 5],
                ["i", ">=", 5],
                ["i", ">", 4],
                ["i", "==", 5],
                ["i", "!=", 4]
            ]),
            &r
        ));
        assert!(!eval(t, json!([["i", "<", 5]]), &r));
        assert!(!eval(t, json!([["r", "<", 5.0]]), &r));
        assert!(!eval(t, json!([["r", ">", 5.0]]), &r));
        assert!(eval(t, json!([["r", "==", ["set", []]]]), &r));
        assert!(eval(t, json!([["set", "includes", ["set", [1, 3]]]]), &r));
        assert!(eval(t, json!([["set", "includes", ["set", []]]]), &r));
        assert!(!eval(t, json!([["set", "includes", 4]]), &r));
        assert!(eval(t, json!([["set", "excludes", ["set", [4, 5]]]]), &r));
        assert!(!eval(t, json!([["set", "excludes", ["set", [3, 5]]]]), &r));
        assert!(!eval(t, json!([["set", "==", ["set", [1, 2]]]]), &r));
        assert!(eval(t, json!([["set", "==", ["set", [3, 2, 1]]]]), &r));
        assert!(eval(
            t,
            json!([["m", "includes", ["map", [["a", "1"]]]]]),
            &r
        ));
        assert!(!eval(
            t,
            json!([["m", "includes", ["map", [["a", "2"]]]]]),
            &r
        ));
        assert!(eval(
            t,
            json!([["m", "excludes", ["map", [["a", "2"]]]]]),
            &r
        ));
        assert!(!eval(
            t,
            json!([["m", "excludes", ["map", [["a", "1"]]]]]),
            &r
        ));
        assert!(eval(t, json!([["s", "includes", "x"]]), &r));
        assert!(eval(t, json!([["s", "excludes", "y"]]), &r));
    }

    #[test]
    fn uuid_and_named_uuid() {
        let s = schema();
        let t = s.table("T").unwrap();
        let mut r = row(t, json!({}));
        let id = Uuid::random();
        r[0] = Datum::scalar(Atom::Uuid(id));
        assert!(eval(
            t,
            json!([["_uuid", "==", ["uuid", id.to_string()]]]),
            &r
        ));
        let c = Condition::from_json(&json!([["_uuid", "==", ["uuid", id.to_string()]]]), t, None)
            .unwrap();
        assert_eq!(c.uuid_eq(), Some(id));
        let mut st = SymbolTable::new();
        st.create("n", id);
        let c = Condition::from_json(
            &json!([["_uuid", "==", ["named-uuid", "n"]]]),
            t,
            Some(&mut st),
        )
        .unwrap();
        assert!(c.matches(&r));
    }

    #[test]
    fn errors() {
        let s = schema();
        let t = s.table("T").unwrap();
        let e = |v: Value| Condition::from_json(&v, t, None).unwrap_err();
        let x = e(json!([["nope", "==", 1]]));
        assert_eq!(x.error, "unknown column");
        assert_eq!(x.details.as_deref(), Some("No column nope in table T."));
        let x = e(json!([["s", "<", "a"]]));
        assert_eq!(x.error, "syntax error");
        assert_eq!(
            x.details.as_deref(),
            Some("Type mismatch: \"<\" operator may not be applied to column s of type string.")
        );
        let x = e(json!([["set", "<", 1]]));
        assert_eq!(
            x.details.as_deref(),
            Some(
                "Type mismatch: \"<\" operator may not be applied to column set of type set of integers."
            )
        );
        let x = e(json!([["s", "foo", "a"]]));
        assert_eq!(x.error, "unknown function");
        assert_eq!(x.details.as_deref(), Some("No function named foo."));
        let x = e(json!([["s", "==", "a", "b"]]));
        assert_eq!(x.details.as_deref(), Some("Parse error in condition."));
        assert_eq!(
            e(json!([["i", "<", "a"]])).details.as_deref(),
            Some("expected integer")
        );
        assert_eq!(
            e(json!([["_uuid", "==", "abc"]])).details.as_deref(),
            Some("expected [\"uuid\", <string>]")
        );
        assert!(Condition::from_json(&json!([true]), t, None).is_err());
        assert!(Condition::from_json(&json!({}), t, None).is_err());
    }

    #[test]
    fn monitor_literals() {
        let s = schema();
        let t = s.table("T").unwrap();
        let r = row(t, json!({"i":1}));
        let c = Condition::from_monitor_json(&json!([true]), t).unwrap();
        assert!(c.matches(&r));
        let c = Condition::from_monitor_json(&json!([false]), t).unwrap();
        assert!(!c.matches(&r) && c.is_false());
        let c = Condition::from_monitor_json(&json!([true, ["i", "==", 1]]), t).unwrap();
        assert!(c.matches(&r));
    }
}
