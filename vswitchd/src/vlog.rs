//! Logging: `tracing` events to the console (stderr) and an optional log
//! file, with levels per module and per destination that can be changed
//! while the daemon runs (`vlog/set`, `vlog/list`, `vlog/reopen`), in the
//! spirit of Open vSwitch's vlog.
//!
//! Contract:
//! * A *module* is a `tracing` target prefix: the crates `datapath`,
//!   `ofproto`, `ovsdb` and `vswitchd`. `ANY` names them all.
//! * Destinations are `console` and `file`; `ANY` names both.
//! * Levels, least to most verbose: `off`, `emer`, `err`, `warn`, `info`,
//!   `dbg` (`emer` and `err` both map to `tracing`'s ERROR).
//! * A spec is a list of words separated by `:`, `,` or spaces; each word is
//!   a module, a destination or a level. Omitted parts mean `ANY`, and an
//!   omitted level means `dbg` (as `ovs-appctl vlog/set` does).
//! * Writing to the log never blocks packet threads: they do not log per
//!   packet (they count instead).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, reload};

/// Modules whose levels can be set.
pub const MODULES: &[&str] = &["datapath", "ofproto", "ovsdb", "vswitchd"];

/// A log level in vlog's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Emergencies only.
    Emer,
    /// Errors.
    Err,
    /// Warnings.
    Warn,
    /// Informational messages.
    Info,
    /// Debugging.
    Dbg,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" => Level::Off,
            "emer" => Level::Emer,
            "err" => Level::Err,
            "warn" => Level::Warn,
            "info" => Level::Info,
            "dbg" | "debug" => Level::Dbg,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Emer => "EMER",
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Dbg => "DBG",
        }
    }

    fn filter(self) -> LevelFilter {
        match self {
            Level::Off => LevelFilter::OFF,
            Level::Emer | Level::Err => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Dbg => LevelFilter::DEBUG,
        }
    }
}

/// Destination index: console.
const CONSOLE: usize = 0;
/// Destination index: file.
const FILE: usize = 1;
const DESTS: [&str; 2] = ["console", "file"];

/// Replaces one destination's filter.
type Handle = Arc<dyn Fn(Targets) + Send + Sync>;

/// The log file, reopenable (for log rotation).
#[derive(Debug, Clone, Default)]
struct LogFile {
    inner: Arc<Mutex<Option<(PathBuf, File)>>>,
}

impl LogFile {
    fn open(&self, path: PathBuf) -> std::io::Result<()> {
        let f = OpenOptions::new().create(true).append(true).open(&path)?;
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner) = Some((path, f));
        Ok(())
    }

    fn reopen(&self) -> Result<(), String> {
        let path = match &*self.inner.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((p, _)) => p.clone(),
            None => return Err("Logging to file not configured".into()),
        };
        self.open(path.clone())
            .map_err(|e| format!("cannot reopen {}: {e}", path.display()))
    }
}

/// Writer handed to the file layer: one locked append per event.
#[derive(Debug)]
struct LogFileWriter(LogFile);

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut *self.0.inner.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((_, f)) => f.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFileWriter;
    fn make_writer(&'a self) -> LogFileWriter {
        LogFileWriter(self.clone())
    }
}

/// The running logger: current levels and the handles that change them.
#[derive(Debug, Clone)]
pub struct Vlog {
    state: Arc<Mutex<State>>,
    file: LogFile,
}

struct State {
    /// levels[module][destination]
    levels: BTreeMap<&'static str, [Level; 2]>,
    handles: [Option<Handle>; 2],
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

impl State {
    fn targets(&self, dest: usize) -> Targets {
        let mut t = Targets::new().with_default(LevelFilter::OFF);
        for (m, lv) in &self.levels {
            t = t.with_target(*m, lv[dest].filter());
        }
        t
    }

    fn apply(&self) {
        for (dest, h) in self.handles.iter().enumerate() {
            if let Some(h) = h {
                h(self.targets(dest));
            }
        }
    }
}

/// Where logs go at start-up.
#[derive(Debug, Default)]
pub struct Config {
    /// Log to stderr (foreground runs).
    pub console: bool,
    /// Log file, if any.
    pub file: Option<PathBuf>,
    /// `-v` specs applied in order.
    pub specs: Vec<String>,
}

impl Vlog {
    /// A logger with default levels (console and file at INFO) that is not
    /// installed as the global subscriber (for tests of the spec language).
    pub fn detached() -> Vlog {
        let levels = MODULES
            .iter()
            .map(|m| (*m, [Level::Info, Level::Info]))
            .collect();
        Vlog {
            state: Arc::new(Mutex::new(State {
                levels,
                handles: [None, None],
            })),
            file: LogFile::default(),
        }
    }

    /// Installs the global subscriber. Fails on a bad spec or an unwritable
    /// log file.
    pub fn init(cfg: Config) -> anyhow::Result<Vlog> {
        let vlog = Vlog::detached();
        {
            let mut st = vlog.lock();
            if !cfg.console {
                for lv in st.levels.values_mut() {
                    lv[CONSOLE] = Level::Off;
                }
            }
            if cfg.file.is_none() {
                for lv in st.levels.values_mut() {
                    lv[FILE] = Level::Off;
                }
            }
        }
        for s in &cfg.specs {
            vlog.set(s).map_err(anyhow::Error::msg)?;
        }
        if let Some(p) = &cfg.file {
            vlog.file
                .open(p.clone())
                .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", p.display()))?;
        }
        let (console_filter, console_handle) = reload::Layer::new(vlog.lock().targets(CONSOLE));
        let (file_filter, file_handle) = reload::Layer::new(vlog.lock().targets(FILE));
        let console = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_filter(console_filter);
        let file = tracing_subscriber::fmt::layer()
            .with_writer(vlog.file.clone())
            .with_ansi(false)
            .with_filter(file_filter);
        tracing_subscriber::registry()
            .with(console)
            .with(file)
            .try_init()
            .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
        {
            let mut st = vlog.lock();
            st.handles = [
                Some(Arc::new(move |t| {
                    let _ = console_handle.reload(t);
                })),
                Some(Arc::new(move |t| {
                    let _ = file_handle.reload(t);
                })),
            ];
            st.apply();
        }
        Ok(vlog)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies one spec (`vlog/set`'s argument). The error quotes the bad
    /// word.
    pub fn set(&self, spec: &str) -> Result<(), String> {
        let mut module: Option<&'static str> = None;
        let mut dest: Option<usize> = None;
        let mut level: Option<Level> = None;
        for word in spec
            .split([':', ',', ' '])
            .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("any"))
        {
            if let Some(l) = Level::parse(word) {
                level = Some(l);
            } else if let Some(d) = DESTS.iter().position(|d| d.eq_ignore_ascii_case(word)) {
                dest = Some(d);
            } else if let Some(m) = MODULES.iter().find(|m| m.eq_ignore_ascii_case(word)) {
                module = Some(m);
            } else {
                return Err(format!("no destination, level, or module \"{word}\""));
            }
        }
        let level = level.unwrap_or(Level::Dbg);
        let mut st = self.lock();
        for (m, lv) in st.levels.iter_mut() {
            if module.is_some_and(|want| want != *m) {
                continue;
            }
            for (d, slot) in lv.iter_mut().enumerate() {
                if dest.is_none_or(|want| want == d) {
                    *slot = level;
                }
            }
        }
        st.apply();
        Ok(())
    }

    /// `vlog/list`: one line per module with its level per destination.
    pub fn list(&self) -> String {
        let st = self.lock();
        let mut out = format!("{:<16} {:>7} {:>7}\n", "", "console", "file");
        out.push_str(&format!("{:<16} {:>7} {:>7}\n", "", "-------", "----"));
        for (m, lv) in &st.levels {
            out.push_str(&format!(
                "{:<16} {:>7} {:>7}\n",
                m,
                lv[CONSOLE].name(),
                lv[FILE].name()
            ));
        }
        out
    }

    /// `vlog/reopen`: reopen the log file (after rotation).
    pub fn reopen(&self) -> Result<(), String> {
        self.file.reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(v: &Vlog, m: &str, d: usize) -> Level {
        v.lock().levels[m][d]
    }

    #[test]
    fn spec_language() {
        let v = Vlog::detached();
        v.set("ofproto:console:warn").unwrap();
        assert_eq!(level(&v, "ofproto", CONSOLE), Level::Warn);
        assert_eq!(level(&v, "ofproto", FILE), Level::Info);
        assert_eq!(level(&v, "ovsdb", CONSOLE), Level::Info);
        v.set("file:off").unwrap();
        assert!(MODULES.iter().all(|m| level(&v, m, FILE) == Level::Off));
        v.set("ANY:ANY:err").unwrap();
        assert!(MODULES.iter().all(|m| level(&v, m, CONSOLE) == Level::Err));
        // No level means dbg.
        v.set("datapath").unwrap();
        assert_eq!(level(&v, "datapath", CONSOLE), Level::Dbg);
        assert_eq!(level(&v, "datapath", FILE), Level::Dbg);
        let e = v.set("ofproto:loud").unwrap_err();
        assert_eq!(e, "no destination, level, or module \"loud\"");
        let list = v.list();
        assert!(list.contains("datapath             DBG     DBG"), "{list}");
        assert!(list.contains("ofproto              ERR     ERR"), "{list}");
    }

    #[test]
    fn reopen_without_file_is_an_error() {
        assert!(Vlog::detached().reopen().is_err());
    }
}
