//! `ovs-vsctl`'s textual data syntax: parsing command-line values into
//! [`Datum`]s against a column [`Type`], and formatting datums back out.
//!
//! Contract:
//! * [`parse_atom`] / [`parse_datum`] accept integers, reals, booleans,
//!   strings (bare or double-quoted JSON), uuids and `@name` references
//!   (resolved through a [`Symbols`] table); sets as `a,b` or `[a,b]`, maps
//!   as `{k=v,k2=v2}` or `k=v`. Errors are worded like `ovs-vsctl`'s.
//! * [`atom_to_string`] / [`datum_to_string`] format as `ovs-vsctl` does:
//!   strings bare only when unambiguous, sets in `[a, b]` unless the column
//!   holds at most one value, maps in `{k=v}`, reals like C's `%.15g`.
//! * [`datum_to_bare`] is the `--data=bare` form.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ovsdb::datum::{Atom, Datum, Uuid};
use ovsdb::schema::{AtomicType, BaseType, Max, Type};

/// `@name` row references of one transaction.
#[derive(Debug, Default)]
pub struct Symbols {
    /// name -> (uuid, whether a row was created under this name).
    pub map: HashMap<String, (Uuid, bool)>,
    /// Names whose uuid was used as a reference in a value.
    pub referenced: BTreeSet<String>,
}

impl Symbols {
    /// The uuid of `@name`, creating a placeholder if new.
    pub fn resolve(&mut self, name: &str) -> Uuid {
        self.referenced.insert(name.to_owned());
        self.map
            .entry(name.to_owned())
            .or_insert_with(|| (Uuid::random(), false))
            .0
    }
}

/// Characters that end an unquoted token.
fn is_delim(c: char) -> bool {
    ":=, []{}!<>".contains(c) || c.is_whitespace()
}

/// Splits off one token (a quoted string, or a run of non-delimiters).
/// Returns (token text as written, unquoted value, rest).
fn take_token(s: &str) -> Result<(String, &str), String> {
    if let Some(body) = s.strip_prefix('"') {
        // Find the closing quote, honouring escapes.
        let mut esc = false;
        for (i, c) in body.char_indices() {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                let quoted = &s[..i + 2];
                let v: String = serde_json::from_str(quoted).map_err(|e| format!("{s}: {e}"))?;
                return Ok((v, &s[i + 2..]));
            }
        }
        Err(format!("{s}: missing quote at end of quoted string"))
    } else {
        let end = s.find(is_delim).unwrap_or(s.len());
        Ok((s[..end].to_owned(), &s[end..]))
    }
}

/// Parses one atom of `base`'s type from its textual form (already
/// unquoted if it was a quoted string; `quoted` says whether it was).
fn atom_from_token(
    tok: &str,
    quoted: bool,
    base: &BaseType,
    syms: &mut Symbols,
) -> Result<Atom, String> {
    let a = match base.atomic {
        AtomicType::Integer => Atom::Integer(
            parse_c_integer(tok)
                .ok_or_else(|| format!("\"{tok}\" is not a valid integer or range"))?,
        ),
        AtomicType::Real => {
            let r: f64 = tok
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && !tok.is_empty())
                .ok_or_else(|| format!("\"{tok}\" is not a valid real number"))?;
            Atom::Real(r)
        }
        AtomicType::Boolean => match tok {
            "true" => Atom::Boolean(true),
            "false" => Atom::Boolean(false),
            _ => {
                return Err(format!(
                    "\"{tok}\" is not a valid boolean (use \"true\" or \"false\")"
                ));
            }
        },
        AtomicType::String => Atom::String(tok.to_owned()),
        AtomicType::Uuid => {
            if let Some(name) = tok.strip_prefix('@').filter(|_| !quoted) {
                Atom::Uuid(syms.resolve(&format!("@{name}")))
            } else {
                Atom::Uuid(
                    Uuid::parse_strict(tok)
                        .ok_or_else(|| format!("\"{tok}\" is not a valid UUID"))?,
                )
            }
        }
    };
    a.check_constraints(base)
        .map_err(|e| format!("{}: {}", e.error, e.details_or_error()))?;
    Ok(a)
}

/// Like C's `strtoll(s, &end, 10)` requiring the whole string to be used.
fn parse_c_integer(s: &str) -> Option<i64> {
    let t = s.strip_prefix('+').unwrap_or(s);
    if t.is_empty() || t.starts_with('+') {
        return None;
    }
    t.parse().ok()
}

/// Parses a single atom (e.g. a map key given as `COLUMN:KEY`).
pub fn parse_atom(s: &str, base: &BaseType, syms: &mut Symbols) -> Result<Atom, String> {
    let (tok, rest) = take_token(s)?;
    if !rest.is_empty() {
        // The whole argument is one atom: ovs-vsctl takes the raw string.
        if s.starts_with('"') {
            return Err(format!("{s}: trailing garbage"));
        }
        return atom_from_token(s, false, base, syms);
    }
    atom_from_token(&tok, s.starts_with('"'), base, syms)
}

/// Parses `s` as a datum of type `ty`.
pub fn parse_datum(s: &str, ty: &Type, syms: &mut Symbols) -> Result<Datum, String> {
    let d = parse_datum_relaxed(s, ty, syms)?;
    let n = d.len();
    if n < ty.min {
        if ty.min == 1 && n == 0 {
            return Err(format!("{s}: missing value"));
        }
        return Err(format!(
            "\"{s}\": {} values when type requires at least {}",
            n, ty.min
        ));
    }
    if !ty.max.allows(n) {
        return Err(format!(
            "\"{s}\": {n} values when type requires at most {}",
            ty.max
        ));
    }
    Ok(d)
}

/// Parses without checking the element count (for `add`/`remove`).
pub fn parse_datum_relaxed(s: &str, ty: &Type, syms: &mut Symbols) -> Result<Datum, String> {
    let is_map = ty.value.is_some();
    let trimmed = s.trim_start();
    let (open, close) = if is_map { ('{', '}') } else { ('[', ']') };
    let (mut rest, bracketed) = match trimmed.strip_prefix(open) {
        Some(r) => (r, true),
        None => (trimmed, false),
    };
    let mut set = BTreeSet::new();
    let mut map = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            if bracketed {
                return Err(format!("{s}: missing \"{close}\" at end of data"));
            }
            break;
        }
        if bracketed && let Some(r) = rest.strip_prefix(close) {
            if !r.trim().is_empty() {
                return Err(format!("{s}: trailing garbage after \"{close}\""));
            }
            break;
        }
        let quoted = rest.starts_with('"');
        let (tok, r) = take_token(rest)?;
        if tok.is_empty() && !quoted {
            let c = rest.chars().next().unwrap_or(' ');
            return Err(format!(
                "{s}: unexpected \"{c}\" parsing {}",
                ty.key.atomic.name()
            ));
        }
        // An integer range `A-B` stands for every integer from A to B.
        if !quoted
            && !is_map
            && ty.key.atomic == AtomicType::Integer
            && let Some((a, b)) = split_range(&tok)
        {
            let (Some(lo), Some(hi)) = (parse_c_integer(a), parse_c_integer(b)) else {
                return Err(format!("\"{tok}\" is not a valid integer or range"));
            };
            if hi < lo {
                return Err(format!(
                    "\"{tok}\" is not a valid range. Range end cannot be before start."
                ));
            }
            let n = hi.abs_diff(lo).saturating_add(1);
            if !ty.max.allows(usize::try_from(n).unwrap_or(usize::MAX)) || n > MAX_RANGE {
                return Err(format!(
                    "{tok}: {n} value(s) specified but the maximum number is {}",
                    if n > MAX_RANGE && ty.max.allows(usize::MAX) {
                        MAX_RANGE.to_string()
                    } else {
                        ty.max.to_string()
                    }
                ));
            }
            for i in lo..=hi {
                let a = Atom::Integer(i);
                a.check_constraints(&ty.key)
                    .map_err(|e| format!("{}: {}", e.error, e.details_or_error()))?;
                if !set.insert(a) {
                    return Err("set contains duplicate value".to_string());
                }
            }
            rest = r.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            }
            continue;
        }
        let key = atom_from_token(&tok, quoted, &ty.key, syms)?;
        rest = r.trim_start();
        if let Some(vt) = &ty.value {
            let Some(r) = rest.strip_prefix('=') else {
                return Err(format!("{s}: missing \"=\" in map"));
            };
            rest = r.trim_start();
            let quoted = rest.starts_with('"');
            let (tok, r) = take_token(rest)?;
            let val = atom_from_token(&tok, quoted, vt, syms)?;
            rest = r.trim_start();
            if map.insert(key, val).is_some() {
                return Err("map contains duplicate key".to_string());
            }
        } else if !set.insert(key) {
            return Err("set contains duplicate value".to_string());
        }
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        }
    }
    Ok(if is_map {
        Datum::Map(map)
    } else {
        Datum::Set(set)
    })
}

/// Most integers one range may expand to (a bound on the work a command
/// line can ask for).
const MAX_RANGE: u64 = 65536;

/// `A-B` (A may be negative) split at the range's dash.
fn split_range(tok: &str) -> Option<(&str, &str)> {
    let pos = tok.get(1..)?.find('-')? + 1;
    Some((&tok[..pos], &tok[pos + 1..]))
}

/// True if `s` must be quoted to read back as the same string.
pub fn string_needs_quotes(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return true,
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
        return true;
    }
    s == "true" || s == "false" || Uuid::parse_strict(s).is_some()
}

/// C's `printf("%.15g", r)`.
pub fn format_real(r: f64) -> String {
    if r == 0.0 {
        return if r.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    if !r.is_finite() {
        return if r.is_nan() {
            "nan".into()
        } else if r > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    const P: i32 = 15;
    let e = format!("{:.*e}", (P - 1) as usize, r);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if (-4..P).contains(&x) {
        strip(format!("{:.*}", (P - 1 - x) as usize, r))
    } else {
        let m = strip(mant.to_owned());
        let sign = if x < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", x.abs())
    }
}

/// One atom in `ovs-vsctl` string form.
pub fn atom_to_string(a: &Atom) -> String {
    match a {
        Atom::Integer(i) => i.to_string(),
        Atom::Real(r) => format_real(*r),
        Atom::Boolean(b) => b.to_string(),
        Atom::String(s) => {
            if string_needs_quotes(s) {
                serde_json::to_string(s).unwrap_or_default()
            } else {
                s.clone()
            }
        }
        Atom::Uuid(u) => u.to_string(),
    }
}

/// One atom in `--data=bare` form.
pub fn atom_to_bare(a: &Atom) -> String {
    match a {
        Atom::String(s) => s.clone(),
        _ => atom_to_string(a),
    }
}

/// A datum in `ovs-vsctl` string form.
pub fn datum_to_string(d: &Datum, ty: &Type) -> String {
    match d {
        Datum::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}={}", atom_to_string(k), atom_to_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Datum::Set(s) => {
            let parts: Vec<String> = s.iter().map(atom_to_string).collect();
            if ty.max != Max::Limited(1) || s.is_empty() {
                format!("[{}]", parts.join(", "))
            } else {
                parts.join(", ")
            }
        }
    }
}

/// A datum in `--data=bare` form.
pub fn datum_to_bare(d: &Datum) -> String {
    match d {
        Datum::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", atom_to_bare(k), atom_to_bare(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Datum::Set(s) => s.iter().map(atom_to_bare).collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::schema::Type;
    use serde_json::json;

    fn ty(j: serde_json::Value) -> Type {
        Type::from_json(&j).unwrap()
    }

    #[test]
    fn reals_like_printf_g() {
        assert_eq!(format_real(1.5), "1.5");
        assert_eq!(format_real(100.0), "100");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(1e20), "1e+20");
        assert_eq!(format_real(1.0 / 3.0), "0.333333333333333");
        assert_eq!(format_real(0.0001), "0.0001");
        assert_eq!(format_real(0.00001), "1e-05");
    }

    #[test]
    fn strings_quoted_when_ambiguous() {
        for (s, q) in [
            ("br0", false),
            ("a.b-c_d", false),
            ("_x", false),
            ("", true),
            ("1abc", true),
            ("true", true),
            ("a b", true),
            ("a:b", true),
            ("35cb102c-e49e-4285-ab6d-5ea381763017", true),
        ] {
            assert_eq!(string_needs_quotes(s), q, "{s}");
        }
    }

    #[test]
    fn sets_and_maps_round_trip() {
        let mut syms = Symbols::default();
        let t = ty(json!({"key": "integer", "min": 0, "max": "unlimited"}));
        let d = parse_datum("[3, 1,2]", &t, &mut syms).unwrap();
        assert_eq!(datum_to_string(&d, &t), "[1, 2, 3]");
        let d = parse_datum("4,5", &t, &mut syms).unwrap();
        assert_eq!(datum_to_string(&d, &t), "[4, 5]");
        let t = ty(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}));
        let d = parse_datum("{a=1, b=\"x y\"}", &t, &mut syms).unwrap();
        assert_eq!(datum_to_string(&d, &t), "{a=\"1\", b=\"x y\"}");
        assert_eq!(datum_to_bare(&d), "a=1 b=x y");
        let t = ty(json!({"key": "integer", "min": 0, "max": 1}));
        assert_eq!(
            datum_to_string(&parse_datum("", &t, &mut syms).unwrap(), &t),
            "[]"
        );
        assert_eq!(
            datum_to_string(&parse_datum("7", &t, &mut syms).unwrap(), &t),
            "7"
        );
    }

    #[test]
    fn errors_are_worded_like_ovs_vsctl() {
        let mut syms = Symbols::default();
        let b = ty(json!("boolean"));
        assert_eq!(
            parse_datum("maybe", &b, &mut syms).unwrap_err(),
            "\"maybe\" is not a valid boolean (use \"true\" or \"false\")"
        );
        let i = ty(json!("integer"));
        assert_eq!(
            parse_datum("x", &i, &mut syms).unwrap_err(),
            "\"x\" is not a valid integer or range"
        );
    }
}
