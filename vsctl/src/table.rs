//! Tabular output of `list` and `find`: the `table`, `list`, `csv`, `json`
//! and `html`-less formats of `ovs-vsctl`, with `--data` cell formats and
//! `--no-headings`.

use ovsdb::datum::Datum;
use ovsdb::schema::Type;

use crate::value::{datum_to_bare, datum_to_string};

/// Output format (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    List,
    Csv,
    Json,
}

/// Cell format (`-d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellFormat {
    String,
    Bare,
    Json,
}

/// How to print tables.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    pub cell: CellFormat,
    pub headings: bool,
    pub pretty: bool,
}

/// One table of results.
#[derive(Debug, Default)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<(Datum, Type)>>,
}

fn cell_text(d: &Datum, ty: &Type, cf: CellFormat) -> String {
    match cf {
        CellFormat::String => datum_to_string(d, ty),
        CellFormat::Bare => datum_to_bare(d),
        CellFormat::Json => d.to_json().to_string(),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Table {
    /// Renders the table in `style`.
    pub fn render(&self, style: &Style) -> String {
        let mut out = String::new();
        match style.format {
            Format::Table => {
                let texts: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|(d, t)| cell_text(d, t, style.cell)).collect())
                    .collect();
                let mut widths: Vec<usize> = self
                    .headings
                    .iter()
                    .map(|h| if style.headings { h.chars().count() } else { 0 })
                    .collect();
                for r in &texts {
                    for (i, c) in r.iter().enumerate() {
                        widths[i] = widths[i].max(c.chars().count());
                    }
                }
                let line = |cells: Vec<String>| -> String {
                    let mut l = String::new();
                    for (i, c) in cells.iter().enumerate() {
                        if i > 0 {
                            l.push(' ');
                        }
                        l.push_str(c);
                        let n = c.chars().count();
                        l.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(n)));
                    }
                    format!("{}\n", l.trim_end_matches(' '))
                };
                if style.headings {
                    out.push_str(&line(self.headings.clone()));
                    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
                }
                for r in texts {
                    out.push_str(&line(r));
                }
            }
            Format::List => {
                for (i, r) in self.rows.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    for (h, (d, t)) in self.headings.iter().zip(r) {
                        if style.headings {
                            out.push_str(&format!("{h:<20}: "));
                        }
                        out.push_str(&cell_text(d, t, style.cell));
                        out.push('\n');
                    }
                }
            }
            Format::Csv => {
                if style.headings {
                    let hs: Vec<String> = self.headings.iter().map(|h| csv_cell(h)).collect();
                    out.push_str(&hs.join(","));
                    out.push('\n');
                }
                for r in &self.rows {
                    let cs: Vec<String> = r
                        .iter()
                        .map(|(d, t)| csv_cell(&cell_text(d, t, style.cell)))
                        .collect();
                    out.push_str(&cs.join(","));
                    out.push('\n');
                }
            }
            Format::Json => {
                let data: Vec<serde_json::Value> = self
                    .rows
                    .iter()
                    .map(|r| serde_json::Value::Array(r.iter().map(|(d, _)| d.to_json()).collect()))
                    .collect();
                let mut obj = serde_json::Map::new();
                obj.insert("data".into(), serde_json::Value::Array(data));
                if style.headings {
                    obj.insert("headings".into(), serde_json::json!(self.headings));
                }
                let v = serde_json::Value::Object(obj);
                if style.pretty {
                    out.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
                } else {
                    out.push_str(&v.to_string());
                }
                out.push('\n');
            }
        }
        out
    }
}
