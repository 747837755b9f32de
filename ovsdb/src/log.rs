//! The durable, append-only log that stores a database on disk.
//!
//! The log is content-agnostic: a record is any [`serde_json::Value`], and the
//! caller decides what records mean (typically a schema record, then either a
//! snapshot of the data or one change record per committed transaction). The
//! file format is specified in `docs/ovsdb-log.md`; in short, every record is
//! a header line `OVSDBLOG1 <kind> <length> <crc32c>` followed by the record's
//! compact JSON on a line of its own, so a log is checkable, and readable with
//! `less`.
//!
//! # Contracts and invariants
//!
//! * **Recovery keeps a prefix.** [`Log::open`] returns every record up to the
//!   first one that is incomplete or fails validation (header syntax, length,
//!   checksum, terminator, JSON); that record and everything after it are
//!   dropped and, in [`OpenMode::ReadWrite`], the file is truncated there and
//!   synced. The returned [`Recovery`] says where and why, so the caller can
//!   log a warning. A file whose first bytes are not this format's magic is
//!   refused ([`LogError::NotALogFile`]) rather than "recovered" to nothing.
//! * **Appends never leave garbage behind.** If writing a record fails midway
//!   the file is cut back to its previous length; if even that fails the
//!   [`Log`] is *poisoned* and refuses further appends (the caller must
//!   reopen, which runs recovery, or rewrite the whole file with
//!   [`Log::compact`], which cures the poisoning). A failed `fsync` also
//!   poisons the log, because after one the kernel's page cache can no longer
//!   be trusted to match the disk.
//! * **Durability is explicit.** [`Log::append`] hands the bytes to the kernel
//!   (one `write` per call); [`Log::commit`] with `sync = true` makes everything
//!   appended so far durable with `fdatasync`.
//! * **Creation and compaction are atomic.** [`Log::create`] and
//!   [`Log::compact`] write a temporary file in the same directory, `fsync` it,
//!   move it into place (`link` for create, so an existing file is never
//!   clobbered; `rename` for compaction) and `fsync` the directory. A crash at
//!   any moment leaves either the old file or the complete new one; at worst a
//!   stale `.<name>.tmp.<pid>` file, which is never read and may be deleted.
//! * **One writer.** A read-write log holds an exclusive advisory lock
//!   (`flock`) on the file for its lifetime; a second read-write open, from
//!   this process or another, fails with [`LogError::Locked`]. Read-only opens
//!   take no lock and never modify the file.
//! * **No panics** on any file contents.
//!
//! # Compaction heuristic
//!
//! Records written by [`Log::create`] or [`Log::compact`] are marked as the
//! file's *snapshot*; later ones as *appended*. [`Log::should_compact`] is true
//! once more than [`COMPACT_MIN_RECORDS`] (100) records and at least
//! [`COMPACT_MIN_BYTES`] (1 MiB) have been appended since the snapshot
//! **and** the file is more than [`COMPACT_GROWTH_FACTOR`]
//! (4) times the snapshot's size: rewriting is then cheap relative to the
//! garbage it removes, and a small, busy database is not rewritten on every
//! hundredth transaction. Callers may add their own conditions (e.g. time).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The first field of every record header.
pub const MAGIC: &str = "OVSDBLOG1";

/// The largest record body accepted, in bytes (1 GiB).
pub const MAX_RECORD_SIZE: u64 = 1 << 30;

/// [`Log::should_compact`] needs more than this many records appended since
/// the snapshot.
pub const COMPACT_MIN_RECORDS: u64 = 100;

/// [`Log::should_compact`] needs the file to exceed this multiple of the
/// snapshot's size.
pub const COMPACT_GROWTH_FACTOR: u64 = 4;

/// [`Log::should_compact`] needs at least this many bytes appended since
/// the snapshot (1 MiB).
pub const COMPACT_MIN_BYTES: u64 = 1 << 20;

/// Longest possible header line, newline included: magic, kind, a 10-digit
/// length, 8 hex digits and separators, with slack.
const MAX_HEADER_LEN: u64 = 64;

/// Record kind written by create/compact.
const KIND_SNAPSHOT: u8 = b'S';
/// Record kind written by append.
const KIND_APPEND: u8 = b'A';

/// How [`Log::open`] opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Lock the file exclusively, truncate a bad tail, allow appends.
    ReadWrite,
    /// No lock, no modification; writes fail with [`LogError::ReadOnly`].
    ReadOnly,
}

/// Errors from the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot write log file".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file does not exist.
    #[error("log file {path} does not exist")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// [`Log::create`] found a file already there.
    #[error("log file {path} already exists")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// Another process (or another `Log` in this one) has the file open for
    /// writing.
    #[error("log file {path} is locked by another writer (is another server running on it?)")]
    Locked {
        /// The path.
        path: PathBuf,
    },
    /// The file does not begin with this format's magic.
    #[error("{path} is not a log file of this format (expected it to begin with \"{MAGIC}\")")]
    NotALogFile {
        /// The path.
        path: PathBuf,
    },
    /// A record's JSON encoding exceeds [`MAX_RECORD_SIZE`].
    #[error("log record of {size} bytes exceeds the {limit}-byte limit")]
    RecordTooLarge {
        /// The encoded size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A write was attempted on a log opened with [`OpenMode::ReadOnly`].
    #[error("log file {path} is open read-only")]
    ReadOnly {
        /// The path.
        path: PathBuf,
    },
    /// An earlier failure left the file in an unknown state.
    #[error("log file {path} is unusable after an earlier write or sync failure; reopen it")]
    Poisoned {
        /// The path.
        path: PathBuf,
    },
}

/// Why recovery stopped reading records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorruptionReason {
    /// The file ends inside a record header.
    #[error("file ends inside a record header")]
    TruncatedHeader,
    /// A record header is malformed.
    #[error("malformed record header: {0}")]
    BadHeader(String),
    /// The file ends inside a record body.
    #[error("file ends inside a record ({expected} bytes expected, {available} present)")]
    TruncatedBody {
        /// Body length plus newline, from the header.
        expected: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// The byte after a record body is not a newline.
    #[error("record is not followed by a newline")]
    MissingNewline,
    /// The checksum does not match.
    #[error("checksum mismatch (header says {stored:08x}, contents hash to {computed:08x})")]
    ChecksumMismatch {
        /// The header's checksum.
        stored: u32,
        /// The checksum of the header prefix and body.
        computed: u32,
    },
    /// The checksum matches but the body is not JSON.
    #[error("record is not valid JSON: {0}")]
    BadJson(String),
}

/// Where and why recovery dropped a tail of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// Offset of the first bad record: everything before it was kept.
    pub offset: u64,
    /// Bytes from `offset` to the end of the file that were dropped.
    pub discarded: u64,
    /// What was wrong with the record at `offset`.
    pub reason: CorruptionReason,
    /// Whether the file was truncated (false in [`OpenMode::ReadOnly`]).
    pub truncated: bool,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} bytes from offset {}: {}",
            if self.truncated {
                "discarded"
            } else {
                "ignoring"
            },
            self.discarded,
            self.offset,
            self.reason
        )
    }
}

/// What [`Log::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Number of valid records read.
    pub records: usize,
    /// Length of the valid prefix of the file in bytes.
    pub valid_len: u64,
    /// The bad tail, if there was one.
    pub corruption: Option<Corruption>,
}

impl Recovery {
    /// True if the whole file was valid.
    pub fn is_clean(&self) -> bool {
        self.corruption.is_none()
    }
}

/// Failure injection for tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailPoint {
    /// Fail an append after writing half of its bytes.
    AppendWrite,
    /// Fail compaction after writing half of the temporary file.
    TempWrite,
    /// Fail compaction after the temporary file is complete, before rename.
    BeforeRename,
    /// Every write fails: appends as with `AppendWrite`, compactions as
    /// with `TempWrite`.
    Disk,
}

/// An open log file; see the module docs.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    file: File,
    mode: OpenMode,
    /// Bytes of valid records in the file (the write position).
    len: u64,
    /// Bytes of the leading snapshot records.
    snapshot_len: u64,
    /// Number of leading snapshot records.
    snapshot_records: u64,
    /// Records after the snapshot.
    appended_records: u64,
    /// Whether bytes were written since the last successful sync.
    unsynced: bool,
    poisoned: bool,
    #[cfg(test)]
    fail_point: Option<FailPoint>,
}

impl Log {
    /// Opens an existing log, returning it, its valid records and a recovery
    /// report. See the module docs for what recovery does.
    pub fn open(
        path: impl AsRef<Path>,
        mode: OpenMode,
    ) -> Result<(Log, Vec<Value>, Recovery), LogError> {
        let path = path.as_ref().to_path_buf();
        let mut file = match OpenOptions::new()
            .read(true)
            .write(mode == OpenMode::ReadWrite)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LogError::NotFound { path });
            }
            Err(e) => return Err(io_err("cannot open log file", &path, e)),
        };
        if mode == OpenMode::ReadWrite {
            lock(&file, &path)?;
        }
        let size = file
            .metadata()
            .map_err(|e| io_err("cannot stat log file", &path, e))?
            .len();

        let scan =
            scan_records(&file, size).map_err(|e| io_err("cannot read log file", &path, e))?;
        if scan.not_ours {
            return Err(LogError::NotALogFile { path });
        }
        let mut corruption = None;
        if let Some((offset, reason)) = scan.bad {
            let truncated = mode == OpenMode::ReadWrite;
            if truncated {
                file.set_len(offset)
                    .map_err(|e| io_err("cannot truncate log file", &path, e))?;
                file.sync_all()
                    .map_err(|e| io_err("cannot sync log file", &path, e))?;
            }
            corruption = Some(Corruption {
                offset,
                discarded: size - offset,
                reason,
                truncated,
            });
        }
        file.seek(SeekFrom::Start(scan.valid_len))
            .map_err(|e| io_err("cannot seek in log file", &path, e))?;

        let recovery = Recovery {
            records: scan.records.len(),
            valid_len: scan.valid_len,
            corruption,
        };
        let log = Log {
            path,
            file,
            mode,
            len: scan.valid_len,
            snapshot_len: scan.snapshot_len,
            snapshot_records: scan.snapshot_records,
            appended_records: scan.records.len() as u64 - scan.snapshot_records,
            unsynced: false,
            poisoned: false,
            #[cfg(test)]
            fail_point: None,
        };
        Ok((log, scan.records, recovery))
    }

    /// Creates a new log at `path` holding `first_records` (the initial
    /// snapshot), durably and atomically; fails with [`LogError::Exists`] if
    /// something is already there. The returned log is open read-write.
    pub fn create(path: impl AsRef<Path>, first_records: &[Value]) -> Result<Log, LogError> {
        let path = path.as_ref().to_path_buf();
        if path.symlink_metadata().is_ok() {
            return Err(LogError::Exists { path });
        }
        let bytes = encode_records(first_records, KIND_SNAPSHOT, MAX_RECORD_SIZE)?;
        let tmp = temp_path(&path);
        let file = write_temp(&tmp, &bytes, None)?;
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
                return Err(LogError::Exists { path });
            }
            Err(_) => {
                // The file system cannot link; fall back to rename, which is
                // atomic but would replace a file created in the meantime.
                if path.symlink_metadata().is_ok() {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(LogError::Exists { path });
                }
                if let Err(e) = std::fs::rename(&tmp, &path) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io_err("cannot rename temporary file to", &path, e));
                }
            }
        }
        sync_dir(&path)?;
        let len = bytes.len() as u64;
        Ok(Log {
            path,
            file,
            mode: OpenMode::ReadWrite,
            len,
            snapshot_len: len,
            snapshot_records: first_records.len() as u64,
            appended_records: 0,
            unsynced: false,
            poisoned: false,
            #[cfg(test)]
            fail_point: None,
        })
    }

    /// Appends one record (written to the kernel, not yet synced).
    pub fn append(&mut self, record: &Value) -> Result<(), LogError> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends several records with a single write.
    pub fn append_all(&mut self, records: &[Value]) -> Result<(), LogError> {
        self.check_writable()?;
        let bytes = encode_records(records, KIND_APPEND, MAX_RECORD_SIZE)?;
        if bytes.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.write_at_end(&bytes) {
            // Cut back to the last good record so later appends stay readable.
            let rolled_back = self.file.set_len(self.len).is_ok()
                && self.file.seek(SeekFrom::Start(self.len)).is_ok();
            if !rolled_back {
                self.poisoned = true;
            }
            return Err(io_err("cannot write log file", &self.path, e));
        }
        self.len += bytes.len() as u64;
        self.appended_records += records.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    fn write_at_end(&mut self, bytes: &[u8]) -> io::Result<()> {
        #[cfg(test)]
        if matches!(
            self.fail_point,
            Some(FailPoint::AppendWrite | FailPoint::Disk)
        ) {
            self.file.write_all(&bytes[..bytes.len() / 2])?;
            return Err(io::Error::other("injected append failure"));
        }
        self.file.write_all(bytes)
    }

    /// Ends a group of appends. With `sync`, everything appended so far is
    /// made durable (`fdatasync`) before this returns; without it, this is a
    /// no-op (the data is already with the kernel). A failed sync poisons
    /// the log.
    pub fn commit(&mut self, sync: bool) -> Result<(), LogError> {
        self.check_writable()?;
        if sync && self.unsynced {
            if let Err(e) = self.file.sync_data() {
                self.poisoned = true;
                return Err(io_err("cannot sync log file", &self.path, e));
            }
            self.unsynced = false;
        }
        Ok(())
    }

    /// Atomically replaces the file's contents with `records` (a new
    /// snapshot). On error before the new file is in place, the old file and
    /// this log are unchanged and still usable.
    ///
    /// This also works on a poisoned log, and cures it: the new file is
    /// written and synced through a fresh descriptor, so nothing of the old
    /// file's uncertain state survives. A caller whose appends failed can
    /// thus bring the file back in line with what it holds in memory.
    pub fn compact(&mut self, records: &[Value]) -> Result<(), LogError> {
        if self.mode == OpenMode::ReadOnly {
            return Err(LogError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let bytes = encode_records(records, KIND_SNAPSHOT, MAX_RECORD_SIZE)?;
        let tmp = temp_path(&self.path);
        #[cfg(test)]
        let fail = match self.fail_point {
            Some(FailPoint::Disk) => Some(FailPoint::TempWrite),
            fp => fp,
        };
        #[cfg(not(test))]
        let fail = None;
        let file = write_temp(&tmp, &bytes, fail)?;
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err("cannot rename temporary file to", &self.path, e));
        }
        // From here on the path names the new file: switch to it whatever
        // happens, or later appends would go to the unlinked old one.
        self.file = file;
        self.len = bytes.len() as u64;
        self.snapshot_len = self.len;
        self.snapshot_records = records.len() as u64;
        self.appended_records = 0;
        self.unsynced = false;
        if let Err(e) = sync_dir(&self.path) {
            // The rename may not survive a crash, and the old file would
            // come back without what we append next.
            self.poisoned = true;
            return Err(e);
        }
        self.poisoned = false;
        Ok(())
    }

    /// Whether compaction is advisable; see the module docs.
    pub fn should_compact(&self) -> bool {
        self.appended_records > COMPACT_MIN_RECORDS
            && self.len > self.snapshot_len.saturating_mul(COMPACT_GROWTH_FACTOR)
            && self.len - self.snapshot_len.min(self.len) >= COMPACT_MIN_BYTES
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open mode.
    pub fn mode(&self) -> OpenMode {
        self.mode
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Size of the snapshot (the records written by create/compact).
    pub fn snapshot_len(&self) -> u64 {
        self.snapshot_len
    }

    /// Number of records in the snapshot.
    pub fn snapshot_records(&self) -> u64 {
        self.snapshot_records
    }

    /// Number of records appended since the snapshot.
    pub fn records_since_snapshot(&self) -> u64 {
        self.appended_records
    }

    /// Total number of records in the file.
    pub fn record_count(&self) -> u64 {
        self.snapshot_records + self.appended_records
    }

    /// Makes every later append and compaction fail midway, as a full or
    /// broken disk would (tests of callers).
    #[cfg(test)]
    pub(crate) fn fail_writes(&mut self, fail: bool) {
        self.fail_point = fail.then_some(FailPoint::Disk);
    }

    fn check_writable(&self) -> Result<(), LogError> {
        if self.mode == OpenMode::ReadOnly {
            return Err(LogError::ReadOnly {
                path: self.path.clone(),
            });
        }
        if self.poisoned {
            return Err(LogError::Poisoned {
                path: self.path.clone(),
            });
        }
        Ok(())
    }
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> LogError {
    LogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn lock(file: &File, path: &Path) -> Result<(), LogError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::Locked {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("cannot lock log file", path, e)),
    }
}

/// `.<name>.tmp.<pid>` in the same directory as `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_dir(path: &Path) -> Result<(), LogError> {
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot sync directory", dir, e))
}

/// Writes `bytes` to a fresh, exclusively locked file at `tmp` and syncs it.
/// On failure the file is removed.
#[cfg_attr(not(test), allow(unused_variables))]
fn write_temp(tmp: &Path, bytes: &[u8], fail: Option<FailPointArg>) -> Result<File, LogError> {
    let result = (|| -> Result<File, LogError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| io_err("cannot create temporary log file", tmp, e))?;
        lock(&file, tmp)?;
        #[cfg(test)]
        if fail == Some(FailPoint::TempWrite) {
            let _ = file.write_all(&bytes[..bytes.len() / 2]);
            return Err(io_err(
                "cannot write",
                tmp,
                io::Error::other("injected failure"),
            ));
        }
        file.write_all(bytes)
            .map_err(|e| io_err("cannot write temporary log file", tmp, e))?;
        file.sync_all()
            .map_err(|e| io_err("cannot sync temporary log file", tmp, e))?;
        #[cfg(test)]
        if fail == Some(FailPoint::BeforeRename) {
            return Err(io_err(
                "cannot rename",
                tmp,
                io::Error::other("injected failure"),
            ));
        }
        Ok(file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

#[cfg(test)]
type FailPointArg = FailPoint;
#[cfg(not(test))]
type FailPointArg = std::convert::Infallible;

/// Encodes records of `kind` back to back.
fn encode_records(records: &[Value], kind: u8, limit: u64) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::new();
    for record in records {
        let body = record.to_string();
        let size = body.len() as u64;
        if size > limit {
            return Err(LogError::RecordTooLarge { size, limit });
        }
        let prefix = format!("{MAGIC} {} {} ", char::from(kind), body.len());
        let crc = Crc32c::new()
            .update(prefix.as_bytes())
            .update(body.as_bytes())
            .finish();
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(format!("{crc:08x}\n").as_bytes());
        out.extend_from_slice(body.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// The result of reading a file.
struct Scan {
    records: Vec<Value>,
    valid_len: u64,
    snapshot_len: u64,
    snapshot_records: u64,
    /// First bad record: offset and reason.
    bad: Option<(u64, CorruptionReason)>,
    /// The file is non-empty and does not start with our magic.
    not_ours: bool,
}

fn scan_records(file: &File, size: u64) -> io::Result<Scan> {
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut scan = Scan {
        records: Vec::new(),
        valid_len: 0,
        snapshot_len: 0,
        snapshot_records: 0,
        bad: None,
        not_ours: false,
    };
    let mut in_snapshot = true;
    let mut line = Vec::new();
    while scan.valid_len < size {
        let offset = scan.valid_len;
        line.clear();
        (&mut reader)
            .take(MAX_HEADER_LEN)
            .read_until(b'\n', &mut line)?;
        if offset == 0 {
            let n = line.len().min(MAGIC.len() + 1);
            let expected = &[MAGIC.as_bytes(), b" "].concat()[..n];
            if line[..n] != *expected {
                scan.not_ours = true;
                return Ok(scan);
            }
        }
        let header = match parse_header(&line, offset, size) {
            Ok(h) => h,
            Err(reason) => {
                scan.bad = Some((offset, reason));
                break;
            }
        };
        let mut body = vec![0; header.len as usize + 1];
        reader.read_exact(&mut body)?;
        if body.pop() != Some(b'\n') {
            scan.bad = Some((offset, CorruptionReason::MissingNewline));
            break;
        }
        let computed = Crc32c::new().update(header.prefix).update(&body).finish();
        if computed != header.crc {
            scan.bad = Some((
                offset,
                CorruptionReason::ChecksumMismatch {
                    stored: header.crc,
                    computed,
                },
            ));
            break;
        }
        match serde_json::from_slice(&body) {
            Ok(value) => scan.records.push(value),
            Err(e) => {
                scan.bad = Some((offset, CorruptionReason::BadJson(e.to_string())));
                break;
            }
        }
        scan.valid_len = offset + line.len() as u64 + header.len + 1;
        if header.kind == KIND_SNAPSHOT && in_snapshot {
            scan.snapshot_len = scan.valid_len;
            scan.snapshot_records += 1;
        } else {
            in_snapshot = false;
        }
    }
    Ok(scan)
}

struct Header<'a> {
    kind: u8,
    len: u64,
    crc: u32,
    /// The header bytes the checksum covers (everything before the checksum).
    prefix: &'a [u8],
}

/// Parses a header line (newline included) of a record at `offset` in a file
/// of `size` bytes; checks that the body fits in the file.
fn parse_header(line: &[u8], offset: u64, size: u64) -> Result<Header<'_>, CorruptionReason> {
    let bad = |what: &str| Err(CorruptionReason::BadHeader(what.to_string()));
    let Some(text) = line.strip_suffix(b"\n") else {
        return if offset + line.len() as u64 >= size {
            Err(CorruptionReason::TruncatedHeader)
        } else {
            bad("header line too long")
        };
    };
    let mut fields = text.split(|&b| b == b' ');
    let (Some(magic), Some(kind), Some(len), Some(crc), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return bad("expected four space-separated fields");
    };
    if magic != MAGIC.as_bytes() {
        return bad("bad magic");
    }
    let kind = match kind {
        [k @ (KIND_SNAPSHOT | KIND_APPEND)] => *k,
        _ => return bad("bad record kind"),
    };
    if len.is_empty()
        || len.len() > 10
        || !len.iter().all(u8::is_ascii_digit)
        || (len.len() > 1 && len[0] == b'0')
    {
        return bad("bad record length");
    }
    let len = len.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    if len > MAX_RECORD_SIZE {
        return bad("record length exceeds limit");
    }
    if crc.len() != 8
        || !crc
            .iter()
            .all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return bad("bad checksum field");
    }
    let crc = crc.iter().fold(0u32, |n, &d| {
        n << 4
            | u32::from(if d.is_ascii_digit() {
                d - b'0'
            } else {
                d - b'a' + 10
            })
    });
    let available = size - offset - line.len() as u64;
    if len + 1 > available {
        return Err(CorruptionReason::TruncatedBody {
            expected: len + 1,
            available,
        });
    }
    Ok(Header {
        kind,
        len,
        crc,
        prefix: &line[..line.len() - 9],
    })
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven.
#[derive(Debug, Clone, Copy)]
pub struct Crc32c(u32);

const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            k += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c::new()
    }
}

impl Crc32c {
    /// A fresh checksum state.
    pub fn new() -> Crc32c {
        Crc32c(!0)
    }

    /// Feeds bytes.
    #[must_use]
    pub fn update(self, bytes: &[u8]) -> Crc32c {
        let mut crc = self.0;
        for &b in bytes {
            crc = (crc >> 8) ^ CRC32C_TABLE[usize::from((crc as u8) ^ b)];
        }
        Crc32c(crc)
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    Crc32c::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn recs(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"txn": i, "s": format!("é\n\"{}\"", "x".repeat(i % 7))}))
            .collect()
    }

    fn reopen(path: &Path) -> (Log, Vec<Value>, Recovery) {
        Log::open(path, OpenMode::ReadWrite).unwrap()
    }

    #[test]
    fn crc32c_vectors() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(
            Crc32c::new().update(b"1234").update(b"56789").finish(),
            0xe306_9283
        );
    }

    #[test]
    fn documented_example_is_valid() {
        // The example in docs/ovsdb-log.md, byte for byte.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let text = "OVSDBLOG1 S 24 4a69cd1d\n{\"name\":\"x\",\"tables\":{}}\n\
                    OVSDBLOG1 A 17 a124f6f6\n{\"_comment\":\"hi\"}\n";
        std::fs::write(&path, text).unwrap();
        let (log, got, rec) = reopen(&path);
        assert!(rec.is_clean());
        assert_eq!(
            got,
            vec![
                json!({"name": "x", "tables": {}}),
                json!({"_comment": "hi"})
            ]
        );
        assert_eq!(
            (log.snapshot_records(), log.records_since_snapshot()),
            (1, 1)
        );
        // And we write exactly that.
        drop(log);
        std::fs::remove_file(&path).unwrap();
        let mut log = Log::create(&path, &got[..1]).unwrap();
        log.append(&got[1]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn round_trip_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let all = recs(10);
        let mut log = Log::create(&path, &all[..2]).unwrap();
        assert_eq!(log.snapshot_records(), 2);
        log.append(&all[2]).unwrap();
        log.append_all(&all[3..6]).unwrap();
        log.commit(true).unwrap();
        log.commit(true).unwrap(); // nothing unsynced: no-op
        log.commit(false).unwrap();
        let len = log.len();
        drop(log);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);

        let (mut log, got, rec) = reopen(&path);
        assert_eq!(got, all[..6]);
        assert!(rec.is_clean());
        assert_eq!(rec.records, 6);
        assert_eq!(rec.valid_len, len);
        assert_eq!(
            (log.snapshot_records(), log.records_since_snapshot()),
            (2, 4)
        );
        log.append_all(&all[6..]).unwrap();
        log.commit(true).unwrap();
        drop(log);
        let (log, got, _) = reopen(&path);
        assert_eq!(got, all);
        assert_eq!(log.record_count(), 10);

        // The file is line-oriented: header line, JSON line, ...
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20);
        assert!(lines[0].starts_with("OVSDBLOG1 S "));
        assert!(lines[4].starts_with("OVSDBLOG1 A "));
        assert_eq!(serde_json::from_str::<Value>(lines[1]).unwrap(), all[0]);
    }

    #[test]
    fn empty_create_and_empty_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut log = Log::create(&path, &[]).unwrap();
        assert!(log.is_empty());
        log.append_all(&[]).unwrap();
        log.append(&json!(null)).unwrap();
        log.append(&json!("")).unwrap();
        drop(log);
        let (_, got, rec) = reopen(&path);
        assert_eq!(got, vec![json!(null), json!("")]);
        assert!(rec.is_clean());
    }

    /// Builds a log of `n` records, returning the bytes and record offsets.
    fn build(dir: &Path, n: usize) -> (PathBuf, Vec<u8>, Vec<u64>) {
        let path = dir.join("db");
        let all = recs(n);
        let mut log = Log::create(&path, &all[..1]).unwrap();
        let mut offsets = vec![0];
        for r in &all[1..] {
            offsets.push(log.len());
            log.append(r).unwrap();
        }
        log.commit(true).unwrap();
        drop(log);
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes, offsets)
    }

    #[test]
    fn truncation_at_every_offset_of_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, offsets) = build(dir.path(), 4);
        let last = offsets[3] as usize;
        let all = recs(4);
        for cut in last..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let (mut log, got, rec) = reopen(&path);
            assert_eq!(got, all[..3], "cut {cut}");
            if cut == last {
                assert!(rec.is_clean());
            } else {
                let c = rec.corruption.clone().unwrap();
                assert_eq!(
                    (c.offset, c.discarded, c.truncated),
                    (last as u64, (cut - last) as u64, true)
                );
                assert!(
                    matches!(
                        c.reason,
                        CorruptionReason::TruncatedHeader | CorruptionReason::TruncatedBody { .. }
                    ),
                    "cut {cut}: {c}"
                );
            }
            assert_eq!(std::fs::metadata(&path).unwrap().len(), last as u64);
            // Appending after recovery yields a clean file.
            log.append(&json!("next")).unwrap();
            drop(log);
            let (_, got, rec) = reopen(&path);
            assert!(rec.is_clean());
            assert_eq!(got.len(), 4);
            assert_eq!(got[3], json!("next"));
        }
    }

    #[test]
    fn flipped_bytes_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, offsets) = build(dir.path(), 4);
        let all = recs(4);
        // Every byte of the last two records, several bit patterns.
        for pos in offsets[2] as usize..bytes.len() {
            for mask in [0x01u8, 0x20, 0x80] {
                let mut bad = bytes.clone();
                bad[pos] ^= mask;
                std::fs::write(&path, &bad).unwrap();
                let (_, got, rec) = reopen(&path);
                let c = rec
                    .corruption
                    .unwrap_or_else(|| panic!("pos {pos} mask {mask:#x} undetected"));
                let first_bad = if pos < offsets[3] as usize { 2 } else { 3 };
                assert_eq!(got, all[..first_bad], "pos {pos}");
                assert_eq!(c.offset, offsets[first_bad]);
                assert_eq!(std::fs::metadata(&path).unwrap().len(), offsets[first_bad]);
            }
        }
    }

    #[test]
    fn checksum_mismatch_and_bad_json_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, offsets) = build(dir.path(), 2);
        let start = offsets[1] as usize;
        let body = bytes[start..].iter().position(|&b| b == b'\n').unwrap() + start + 1;
        let mut bad = bytes.clone();
        bad[body + 2] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let (_, _, rec) = reopen(&path);
        assert!(matches!(
            rec.corruption.unwrap().reason,
            CorruptionReason::ChecksumMismatch { .. }
        ));

        // A checksum-valid record whose body is not JSON.
        let mut raw = bytes[..start].to_vec();
        let prefix = format!("{MAGIC} A 3 ");
        let crc = Crc32c::new()
            .update(prefix.as_bytes())
            .update(b"{x}")
            .finish();
        raw.extend_from_slice(format!("{prefix}{crc:08x}\n{{x}}\n").as_bytes());
        std::fs::write(&path, &raw).unwrap();
        let (_, got, rec) = reopen(&path);
        assert_eq!(got.len(), 1);
        assert!(matches!(
            rec.corruption.unwrap().reason,
            CorruptionReason::BadJson(_)
        ));
    }

    #[test]
    fn foreign_file_is_refused_not_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        for contents in [
            &b"OVSDB JSON 12 0123456789abcdef\n{}"[..],
            b"\0\0\0\0",
            b"hello",
        ] {
            std::fs::write(&path, contents).unwrap();
            assert!(matches!(
                Log::open(&path, OpenMode::ReadWrite),
                Err(LogError::NotALogFile { .. })
            ));
            assert_eq!(std::fs::read(&path).unwrap(), contents);
        }
        // A prefix of the magic is a torn first record, not a foreign file.
        std::fs::write(&path, b"OVSDB").unwrap();
        let (_, got, rec) = reopen(&path);
        assert!(got.is_empty());
        assert_eq!(
            rec.corruption.unwrap().reason,
            CorruptionReason::TruncatedHeader
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        // An empty file is an empty log.
        let (_, got, rec) = reopen(&path);
        assert!(got.is_empty() && rec.is_clean());
    }

    #[test]
    fn locking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let log = Log::create(&path, &recs(1)).unwrap();
        let err = Log::open(&path, OpenMode::ReadWrite).unwrap_err();
        assert!(matches!(err, LogError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("locked"));
        // Read-only opens take no lock.
        let (ro, got, _) = Log::open(&path, OpenMode::ReadOnly).unwrap();
        assert_eq!(got.len(), 1);
        drop(ro);
        drop(log);
        let (log2, _, _) = reopen(&path);
        assert!(matches!(
            Log::open(&path, OpenMode::ReadWrite),
            Err(LogError::Locked { .. })
        ));
        drop(log2);
        reopen(&path);
    }

    #[test]
    fn lock_survives_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut log = Log::create(&path, &recs(1)).unwrap();
        log.compact(&recs(2)).unwrap();
        assert!(matches!(
            Log::open(&path, OpenMode::ReadWrite),
            Err(LogError::Locked { .. })
        ));
    }

    #[test]
    fn create_and_open_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert!(matches!(
            Log::open(&path, OpenMode::ReadWrite),
            Err(LogError::NotFound { .. })
        ));
        drop(Log::create(&path, &recs(1)).unwrap());
        let err = Log::create(&path, &recs(2)).unwrap_err();
        assert!(matches!(err, LogError::Exists { .. }), "{err}");
        let (_, got, _) = reopen(&path);
        assert_eq!(got, recs(1));
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_only_reports_without_modifying() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, offsets) = build(dir.path(), 3);
        let torn = &bytes[..bytes.len() - 3];
        std::fs::write(&path, torn).unwrap();
        let (mut log, got, rec) = Log::open(&path, OpenMode::ReadOnly).unwrap();
        assert_eq!(got.len(), 2);
        let c = rec.corruption.unwrap();
        assert_eq!((c.offset, c.truncated), (offsets[2], false));
        assert!(c.to_string().starts_with("ignoring"));
        assert_eq!(std::fs::read(&path).unwrap(), torn);
        assert!(matches!(
            log.append(&json!(1)),
            Err(LogError::ReadOnly { .. })
        ));
        assert!(matches!(log.compact(&[]), Err(LogError::ReadOnly { .. })));
        assert_eq!(log.mode(), OpenMode::ReadOnly);
    }

    #[test]
    fn compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let snapshot = json!({"big": "y".repeat(200)});
        let mut log = Log::create(&path, &[json!("schema"), snapshot.clone()]).unwrap();
        // Many small records: 4x the snapshot is not enough, 1 MiB is.
        let mut n = 0;
        while !log.should_compact() {
            log.append(&json!({"txn": n})).unwrap();
            n += 1;
            assert!(n < 100_000);
        }
        assert!(n > 10_000, "compacted after {n} records");
        assert!(log.records_since_snapshot() > COMPACT_MIN_RECORDS);
        assert!(log.len() > COMPACT_GROWTH_FACTOR * log.snapshot_len());
        assert!(log.len() - log.snapshot_len() >= COMPACT_MIN_BYTES);
        log.compact(&[json!("schema"), json!({"compacted": n})])
            .unwrap();
        assert!(!log.should_compact());
        assert_eq!(
            (log.snapshot_records(), log.records_since_snapshot()),
            (2, 0)
        );
        assert_eq!(log.len(), log.snapshot_len());
        log.append(&json!("after")).unwrap();
        log.commit(true).unwrap();
        drop(log);
        let (log, got, rec) = reopen(&path);
        assert!(rec.is_clean());
        assert_eq!(
            got,
            vec![json!("schema"), json!({"compacted": n}), json!("after")]
        );
        assert_eq!(
            (log.snapshot_records(), log.records_since_snapshot()),
            (2, 1)
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn interrupted_compaction_leaves_old_file() {
        for fp in [FailPoint::TempWrite, FailPoint::BeforeRename] {
            let dir = tempfile::tempdir().unwrap();
            let (path, bytes, _) = build(dir.path(), 5);
            let (mut log, _, _) = reopen(&path);
            log.fail_point = Some(fp);
            assert!(log.compact(&[json!("new snapshot")]).is_err());
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{fp:?}");
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "{fp:?}: temp file left"
            );
            // The log still works on the old file.
            log.fail_point = None;
            log.append(&json!("more")).unwrap();
            log.commit(true).unwrap();
            drop(log);
            let (_, got, rec) = reopen(&path);
            assert!(rec.is_clean());
            assert_eq!(got.len(), 6);
        }
    }

    #[test]
    fn crash_leaves_stale_temp_which_is_ignored() {
        // Simulate a crash between writing the temp file and renaming it.
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, _) = build(dir.path(), 3);
        std::fs::write(temp_path(&path), b"OVSDBLOG1 S 99 00000000\n{").unwrap();
        let (mut log, got, rec) = reopen(&path);
        assert!(rec.is_clean());
        assert_eq!(got.len(), 3);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // A later compaction overwrites the stale file and succeeds.
        log.compact(&[json!(1)]).unwrap();
        drop(log);
        assert_eq!(reopen(&path).1, vec![json!(1)]);
    }

    #[test]
    fn failed_append_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes, _) = build(dir.path(), 3);
        let (mut log, _, _) = reopen(&path);
        log.fail_point = Some(FailPoint::AppendWrite);
        assert!(log.append(&json!({"lost": true})).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        log.fail_point = None;
        log.append(&json!("kept")).unwrap();
        log.commit(true).unwrap();
        drop(log);
        let (_, got, rec) = reopen(&path);
        assert!(rec.is_clean());
        assert_eq!(got.len(), 4);
        assert_eq!(got[3], json!("kept"));
    }

    #[test]
    fn poisoned_log_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, _) = build(dir.path(), 1);
        let (mut log, _, _) = reopen(&path);
        log.poisoned = true;
        let err = log.append(&json!(1)).unwrap_err();
        assert!(matches!(err, LogError::Poisoned { .. }), "{err}");
        assert!(matches!(log.commit(true), Err(LogError::Poisoned { .. })));
    }

    #[test]
    fn compaction_cures_a_poisoned_log() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, _) = build(dir.path(), 3);
        let (mut log, _, _) = reopen(&path);
        // Garbage a failed rollback could have left behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"OVSDBLOG1 A 99")
            .unwrap();
        log.poisoned = true;
        log.compact(&[json!("s1"), json!("s2")]).unwrap();
        log.append(&json!("after")).unwrap();
        log.commit(true).unwrap();
        drop(log);
        let (_, got, rec) = reopen(&path);
        assert!(rec.is_clean(), "{rec:?}");
        assert_eq!(got, [json!("s1"), json!("s2"), json!("after")]);
    }

    #[test]
    fn read_only_log_cannot_be_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, _) = build(dir.path(), 1);
        let (mut log, _, _) = Log::open(&path, OpenMode::ReadOnly).unwrap();
        assert!(matches!(
            log.compact(&[json!(1)]),
            Err(LogError::ReadOnly { .. })
        ));
    }

    #[test]
    fn record_size_limit() {
        let err = encode_records(&[json!("0123456789")], KIND_APPEND, 8).unwrap_err();
        assert!(matches!(
            err,
            LogError::RecordTooLarge { size: 12, limit: 8 }
        ));
        assert!(encode_records(&[json!("012345")], KIND_APPEND, 8).is_ok());
        // A header claiming more than the limit is corruption.
        let line = format!("{MAGIC} A {} 00000000\n", MAX_RECORD_SIZE + 1);
        assert!(matches!(
            parse_header(line.as_bytes(), 0, u64::MAX),
            Err(CorruptionReason::BadHeader(_))
        ));
    }

    #[test]
    fn header_parsing_is_strict() {
        let size = 1000;
        for bad in [
            "OVSDBLOG1 A 1 0000000\n",
            "OVSDBLOG1 A 1 0000000G\n",
            "OVSDBLOG1 A 1 0000000A\n",
            "OVSDBLOG1 A 01 00000000\n",
            "OVSDBLOG1 A +1 00000000\n",
            "OVSDBLOG1 A  1 00000000\n",
            "OVSDBLOG1 X 1 00000000\n",
            "OVSDBLOG2 A 1 00000000\n",
            "OVSDBLOG1 A 1 00000000 \n",
            "OVSDBLOG1 A 12345678901 00000000\n",
        ] {
            assert!(
                matches!(
                    parse_header(bad.as_bytes(), 0, size),
                    Err(CorruptionReason::BadHeader(_))
                ),
                "{bad:?}"
            );
        }
        let ok = parse_header(b"OVSDBLOG1 S 0 0000abcd\n", 0, size).unwrap();
        assert_eq!(
            (ok.kind, ok.len, ok.crc, ok.prefix),
            (b'S', 0, 0xabcd, &b"OVSDBLOG1 S 0 "[..])
        );
        let long = "OVSDBLOG1 A 1 00000000".to_string() + &" ".repeat(100);
        assert!(matches!(
            parse_header(&long.as_bytes()[..64], 0, size),
            Err(CorruptionReason::BadHeader(_))
        ));
        assert_eq!(
            parse_header(b"OVSDBLOG1 A 1", 0, 13).err(),
            Some(CorruptionReason::TruncatedHeader)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the file is cut down to, recovery yields exactly the
        /// records that were completely written before the cut.
        #[test]
        fn any_cut_recovers_the_complete_prefix(
            records in prop::collection::vec(any::<String>().prop_map(Value::String), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db");
            let mut log = Log::create(&path, &records[..1]).unwrap();
            let mut ends = vec![log.len()];
            for r in &records[1..] {
                log.append(r).unwrap();
                ends.push(log.len());
            }
            drop(log);
            let bytes = std::fs::read(&path).unwrap();
            let cut = cut.index(bytes.len() + 1);
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let (_, got, rec) = reopen(&path);
            let complete = ends.iter().filter(|&&e| e <= cut as u64).count();
            prop_assert_eq!(&got[..], &records[..complete]);
            prop_assert_eq!(rec.is_clean(), ends.contains(&(cut as u64)) || cut == 0);
        }

        /// Arbitrary bytes after a valid record never panic and never lose it.
        #[test]
        fn garbage_tail_never_panics(tail in prop::collection::vec(any::<u8>(), 0..200)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db");
            drop(Log::create(&path, &[json!({"a": 1})]).unwrap());
            let mut bytes = std::fs::read(&path).unwrap();
            let good = bytes.len();
            bytes.extend_from_slice(&tail);
            std::fs::write(&path, &bytes).unwrap();
            let (_, got, rec) = reopen(&path);
            prop_assert_eq!(got[0].clone(), json!({"a": 1}));
            prop_assert!(rec.valid_len >= good as u64);
        }
    }
}
