//! Conditions of conditional monitors (`monitor_cond`, `monitor_cond_since`,
//! `monitor_cond_change`), evaluated on rows in their JSON form.
//!
//! A condition is an array of clauses of which at least one must be true for
//! a row to match (unlike a transaction's `where`, monitor conditions are
//! disjunctions, as in Open vSwitch); an empty array matches everything.
//! Clauses are the literals `true` and `false`, or `[column, function, value]` with the RFC 7047 functions `==`,
//! `!=`, `<`, `<=`, `>`, `>=` (numeric scalars only), `includes` and
//! `excludes`. Parsing is the transaction engine's
//! ([`crate::condition::Condition::from_monitor_json`]), so values are typed
//! by their column and errors have the real server's shapes (`unknown
//! column`, `unknown function`, `syntax error` with the offending clause,
//! `constraint violation` for out-of-range atoms). Rows are compared as
//! datums, so the JSON notation's element order never matters.

use super::monitor::{RowFilter, RowJson};
use crate::condition::{Clause, Condition};
use crate::datum::{Datum, OvsdbError};
use crate::schema::{TableSchema, Type};
use serde_json::Value;

/// One clause ready to run on a row's JSON.
enum JsonClause {
    /// The literal `false`.
    False,
    /// The column's name and type, and the clause rewritten to look at a
    /// one-value row.
    Compare {
        column: String,
        type_: Box<Type>,
        clause: Clause,
    },
}

/// Compiles a condition against a table, or returns the error the real
/// server gives (its JSON form: `{"error": ..., "details": ..., "syntax"?}`).
pub fn compile(ts: &TableSchema, cond: &Value) -> Result<RowFilter, Value> {
    compile_err(ts, cond).map_err(|e| e.to_json())
}

fn compile_err(ts: &TableSchema, cond: &Value) -> Result<RowFilter, OvsdbError> {
    let parsed = Condition::from_monitor_json(cond, ts)?;
    if parsed.clauses.is_empty() {
        return Ok(Box::new(|_: &RowJson| true));
    }
    let mut clauses = Vec::with_capacity(parsed.clauses.len());
    for c in parsed.clauses {
        match c {
            Clause::Bool(true) => return Ok(Box::new(|_: &RowJson| true)),
            Clause::Bool(false) => clauses.push(JsonClause::False),
            Clause::Compare {
                column,
                function,
                arg,
            } => {
                let col = &ts.columns[column];
                // Range and enum constraints, as the real server checks them.
                arg.check_constraints(&col.type_.relaxed(true))?;
                clauses.push(JsonClause::Compare {
                    column: col.name.clone(),
                    type_: Box::new(col.type_.clone()),
                    clause: Clause::Compare {
                        column: 0,
                        function,
                        arg,
                    },
                });
            }
        }
    }
    Ok(Box::new(move |row: &RowJson| {
        clauses.iter().any(|c| eval(c, row))
    }))
}

fn eval(c: &JsonClause, row: &RowJson) -> bool {
    let JsonClause::Compare {
        column,
        type_,
        clause,
    } = c
    else {
        return false;
    };
    let value = row
        .get(column)
        .and_then(|v| Datum::from_json(v, type_, None).ok())
        .unwrap_or_else(|| Datum::default_for(type_));
    clause.matches(std::slice::from_ref(&value))
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
                "m": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}},
                "r": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 10},
                               "min": 0, "max": "unlimited"}}
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
        assert!(yes(json!([["n", ">", 4]])));
        assert!(yes(json!([["n", "<=", 5]])));
        // Clauses are alternatives.
        assert!(yes(json!([["name", "==", "x"], ["n", "==", 5]])));
        assert!(yes(json!([false, ["n", "==", 5]])));
        assert!(yes(json!([["name", "==", "a"], false])));
        assert!(yes(json!([false, true])));
        assert!(!yes(json!([false, ["n", "==", 4]])));
        assert!(!yes(json!([["n", "<", 5]])));
        assert!(yes(json!([["s", "==", ["set", [1, 3]]]])));
        assert!(yes(json!([["s", "includes", 3]])));
        assert!(yes(json!([["s", "excludes", ["set", [2, 4]]]])));
        assert!(yes(json!([["m", "includes", ["map", [["x", "y"]]]]])));
        assert!(!yes(json!([["m", "includes", ["map", [["x", "z"]]]]])));
        // A row whose JSON lacks the column compares with its default.
        let f = compile(ts, &json!([["n", "==", 0]])).unwrap();
        assert!(f(&row(json!({"name": "b"}))));
    }

    /// Errors as Open vSwitch 3.1's ovsdb-server words them.
    #[test]
    fn errors_have_the_real_servers_shapes() {
        let s = schema();
        let ts = s.table("T").unwrap();
        let err = |c: Value| compile(ts, &c).err().expect("an error");
        assert_eq!(
            err(json!([["nosuch", "==", 1]])),
            json!({"error": "unknown column", "details": "No column nosuch in table T.",
                   "syntax": "[\"nosuch\",\"==\",1]"})
        );
        assert_eq!(
            err(json!([["n", "~", 1]])),
            json!({"error": "unknown function", "details": "No function named ~."})
        );
        assert_eq!(
            err(json!([["s", "<", 1]])),
            json!({"error": "syntax error",
                   "details": "Type mismatch: \"<\" operator may not be applied to column s of type set of integers.",
                   "syntax": "[\"s\",\"<\",1]"})
        );
        assert_eq!(
            err(json!([["name", "==", 1]])),
            json!({"error": "syntax error", "details": "expected string", "syntax": "1"})
        );
        assert_eq!(
            err(json!([["name", "=="]])),
            json!({"error": "syntax error", "details": "Parse error in condition.",
                   "syntax": "[\"name\",\"==\"]"})
        );
        assert_eq!(
            err(json!([["r", "includes", 11]]))["error"],
            json!("constraint violation")
        );
        assert!(compile(ts, &json!({"a": 1})).is_err());
    }
}
