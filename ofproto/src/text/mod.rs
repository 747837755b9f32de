//! The `ovs-ofctl` flow syntax: parsing and printing a flow's match,
//! header fields (`priority`, `table`, `cookie`, timeouts) and `actions=`.
//!
//! Contract:
//! * [`parse_flow`] reads `ovs-ofctl add-flow` text into a [`Flow`]; an error
//!   is a [`ParseError`] whose message quotes the offending token.
//! * `Flow`'s `Display` prints the form `ovs-ofctl dump-flows --no-stats`
//!   prints: the non-default header fields (`cookie=0x.., table=N,
//!   idle_timeout=N, hard_timeout=N, `), then the match in Open vSwitch's
//!   canonical order with protocol shorthands (`tcp`, `arp`, ...), then
//!   `actions=...`. Printing then parsing gives the same flow.
//! * Values are checked against the field width; field prerequisites are
//!   checked (a field whose prerequisite is missing is an error rather than
//!   silently dropped as OpenFlow 1.0 normalisation would).

mod actions;
mod fields;
pub mod group;
pub mod meter;
pub mod stats;

use crate::ofp::{Instruction, Match};
use core::fmt;

pub use actions::{format_actions, format_actions_for, parse_actions};
pub use fields::{format_match, lookup_field, parse_match_into};

/// Default flow priority.
pub const DEFAULT_PRIORITY: u16 = 32768;

/// A flow as written in `ovs-ofctl` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Table id.
    pub table: u8,
    /// Priority.
    pub priority: u16,
    /// Cookie.
    pub cookie: u64,
    /// Cookie mask (0 = none given).
    pub cookie_mask: u64,
    /// Idle timeout in seconds.
    pub idle_timeout: u16,
    /// Hard timeout in seconds.
    pub hard_timeout: u16,
    /// Match.
    pub match_: Match,
    /// Instructions (apply-actions, goto-table, ...).
    pub instructions: Vec<Instruction>,
}

impl Default for Flow {
    fn default() -> Flow {
        Flow {
            table: 0,
            priority: DEFAULT_PRIORITY,
            cookie: 0,
            cookie_mask: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            match_: Match::new(),
            instructions: Vec::new(),
        }
    }
}

/// A parse error; the message quotes the bad token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn need<'a>(k: &str, v: Option<&'a str>) -> Result<&'a str, ParseError> {
    match v {
        Some(v) => Ok(v),
        None => err(format!("field '{k}' requires a value")),
    }
}

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses an unsigned integer (decimal or `0x` hexadecimal).
pub(crate) fn parse_u128(s: &str) -> Option<u128> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return None;
        }
        u128::from_str_radix(h, 16).ok()
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

/// Parses an integer that must fit `max`, quoting `what` on error.
pub(crate) fn parse_num(s: &str, max: u128, what: &str) -> Result<u128, ParseError> {
    match parse_u128(s) {
        None => err(format!("invalid {what} '{s}'")),
        Some(v) if v > max => err(format!("value '{s}' too large for {what}")),
        Some(v) => Ok(v),
    }
}

/// Splits at top-level commas (not inside parentheses), trimming blanks.
pub(crate) fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.retain(|t| !t.is_empty());
    out
}

/// Parses a flow in `ovs-ofctl add-flow` syntax. `actions=` must come last
/// and is required.
pub fn parse_flow(s: &str) -> Result<Flow, ParseError> {
    parse_flow_ext(s, true, |_, _| Ok(false))
}

/// [`parse_flow`] for callers with keys of their own (`out_port=`, flag
/// words, ...): `extra` sees every key of the match part first and returns
/// `Ok(true)` to consume it. With `need_actions` false, `actions=` may be
/// absent (the flow then has no instructions), as for deletions.
pub fn parse_flow_ext(
    s: &str,
    need_actions: bool,
    mut extra: impl FnMut(&str, Option<&str>) -> Result<bool, ParseError>,
) -> Result<Flow, ParseError> {
    let (head, acts) = match find_actions(s) {
        Some(pos) => (&s[..pos], Some(&s[pos + "actions=".len()..])),
        None if need_actions => return err("must specify an action ('actions=' missing)"),
        None => (s, None),
    };
    let mut flow = Flow::default();
    let mut rest = Vec::new();
    for tok in head
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let (k, v) = match tok.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (tok, None),
        };
        match k {
            "priority" => flow.priority = parse_num(need(k, v)?, 0xffff, "priority")? as u16,
            "table" => flow.table = parse_num(need(k, v)?, 0xff, "table")? as u8,
            "idle_timeout" => {
                flow.idle_timeout = parse_num(need(k, v)?, 0xffff, "idle_timeout")? as u16
            }
            "hard_timeout" => {
                flow.hard_timeout = parse_num(need(k, v)?, 0xffff, "hard_timeout")? as u16
            }
            "cookie" => {
                let v = need(k, v)?;
                let (c, m) = match v.split_once('/') {
                    Some((c, m)) => (c, Some(m)),
                    None => (v, None),
                };
                flow.cookie = parse_num(c, u64::MAX.into(), "cookie")? as u64;
                if let Some(m) = m {
                    flow.cookie_mask = parse_num(m, u64::MAX.into(), "cookie mask")? as u64;
                }
            }
            _ => {
                if !extra(k, v)? {
                    rest.push((k, v));
                }
            }
        }
    }
    parse_match_into(&rest, &mut flow.match_)?;
    if let Some(a) = acts {
        flow.instructions = parse_actions(a)?;
    }
    Ok(flow)
}

fn find_actions(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("actions=") {
        let at = from + i;
        let before = s[..at].chars().last();
        if before.is_none_or(|c| c == ',' || c.is_whitespace()) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cookie != 0 || self.cookie_mask != 0 {
            write!(f, "cookie={:#x}", self.cookie)?;
            if self.cookie_mask != 0 {
                write!(f, "/{:#x}", self.cookie_mask)?;
            }
            write!(f, ", ")?;
        }
        if self.table != 0 {
            write!(f, "table={}, ", self.table)?;
        }
        if self.idle_timeout != 0 {
            write!(f, "idle_timeout={}, ", self.idle_timeout)?;
        }
        if self.hard_timeout != 0 {
            write!(f, "hard_timeout={}, ", self.hard_timeout)?;
        }
        let mut m = String::new();
        if self.priority != DEFAULT_PRIORITY {
            m.push_str(&format!("priority={}", self.priority));
        }
        let ms = format_match(&self.match_);
        if !ms.is_empty() {
            if !m.is_empty() {
                m.push(',');
            }
            m.push_str(&ms);
        }
        if !m.is_empty() {
            write!(f, "{m} ")?;
        }
        write!(f, "actions={}", format_actions(&self.instructions))
    }
}
