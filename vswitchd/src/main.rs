//! `vswitchd`: the switch daemon.
//!
//! The daemon (embedded configuration store, bridges, datapath threads,
//! OpenFlow endpoints) is built up issue by issue. What runs today is the
//! packet model every later piece stands on:
//!
//! * `vswitchd extract [--in-port N] [HEX...]`: parse frames given as hex
//!   (arguments, or one per line on standard input) and print the flow key the
//!   datapath extracts, in the datapath text form.
//! * `vswitchd --version`, `vswitchd --help`.

use anyhow::{Context, Result, bail};
use datapath::flow::{extract, format};
use std::io::BufRead;

const USAGE: &str = "\
usage: vswitchd extract [--in-port N] [HEX...]
       vswitchd --version | --help

extract: print the datapath flow key of each Ethernet frame given in hex
(spaces and colons allowed), from the arguments or, without any, from
standard input, one frame per line.";

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("vswitchd: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some(cmd) = args.first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match cmd.as_str() {
        "--version" | "-V" => {
            println!("vswitchd {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        "extract" => extract_cmd(&args[1..]),
        other => bail!("unknown command '{other}' (try --help)"),
    }
}

fn extract_cmd(args: &[String]) -> Result<()> {
    let mut in_port = 0u32;
    let mut frames = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--in-port" {
            let v = it.next().context("--in-port needs a value")?;
            in_port = v
                .parse()
                .with_context(|| format!("bad --in-port value '{v}'"))?;
        } else if let Some(v) = a.strip_prefix("--in-port=") {
            in_port = v
                .parse()
                .with_context(|| format!("bad --in-port value '{v}'"))?;
        } else {
            frames.push(a.clone());
        }
    }
    if frames.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if !line.trim().is_empty() {
                frames.push(line);
            }
        }
    }
    for f in &frames {
        let bytes = parse_hex(f)?;
        println!("{}", format::key(&extract(&bytes, in_port)));
    }
    Ok(())
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits in '{s}'");
    }
    digits
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).unwrap_or("??");
            u8::from_str_radix(t, 16).with_context(|| format!("bad hex byte '{t}' in '{s}'"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("00 11:22ff").unwrap(), vec![0, 0x11, 0x22, 0xff]);
        let e = parse_hex("0g").unwrap_err().to_string();
        assert!(e.contains("'0g'"), "{e}");
        assert!(parse_hex("abc").is_err());
    }
}
