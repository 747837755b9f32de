//! The minimal eBPF loader the `afxdp` backend needs, over the `bpf()`
//! system call: no libbpf, no C toolchain at build or run time.
//!
//! It creates an `XSKMAP`, loads a five-instruction XDP program that
//! redirects each frame to the AF_XDP socket registered for the frame's
//! receive queue (and passes it to the kernel stack when that queue has no
//! socket), and attaches it with a BPF link. The program, in pseudo-C:
//!
//! ```text
//! return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
//! ```
//!
//! Ownership: [`XskMap`], [`Program`] and [`XdpLink`] own their file
//! descriptors; closing the link's descriptor detaches the program (we never
//! pin), so a crashed or exiting switch leaves nothing attached.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_MAP_DELETE_ELEM: i32 = 3;
const BPF_PROG_LOAD: i32 = 5;
const BPF_LINK_CREATE: i32 = 28;

const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;
const BPF_FUNC_REDIRECT_MAP: i32 = 51;
const XDP_PASS: i32 = 2;

/// `XDP_FLAGS_SKB_MODE`: generic XDP, in the kernel's receive path.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`: native XDP, in the driver.
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// The `bpf_attr` union: 128 bytes is more than every command we use reads.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32_at(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64_at(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn bpf(cmd: i32, attr: &mut Attr) -> std::io::Result<i64> {
    // SAFETY: `attr` is a live, fully initialised 128-byte bpf_attr; every
    // pointer stored in it points at memory that outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            core::mem::size_of::<Attr>() as u32,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn fd_from(rc: i64) -> OwnedFd {
    // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(rc as i32) }
}

/// An `XSKMAP`: receive queue index -> AF_XDP socket.
#[derive(Debug)]
pub struct XskMap {
    fd: OwnedFd,
}

impl XskMap {
    /// A map with room for queue indices `0..entries`.
    pub fn new(entries: u32) -> std::io::Result<XskMap> {
        let mut a = Attr::new();
        a.u32_at(0, BPF_MAP_TYPE_XSKMAP)
            .u32_at(4, 4)
            .u32_at(8, 4)
            .u32_at(12, entries.max(1));
        Ok(XskMap {
            fd: fd_from(bpf(BPF_MAP_CREATE, &mut a)?),
        })
    }

    /// Registers `sock` for queue `queue`.
    pub fn set(&self, queue: u32, sock: i32) -> std::io::Result<()> {
        let key = queue;
        let value = sock as u32;
        let mut a = Attr::new();
        a.u32_at(0, self.fd.as_raw_fd() as u32)
            .u64_at(8, &key as *const u32 as u64)
            .u64_at(16, &value as *const u32 as u64)
            .u64_at(24, 0);
        bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
    }

    /// Unregisters queue `queue` (its frames go to the kernel stack again).
    pub fn clear(&self, queue: u32) -> std::io::Result<()> {
        let key = queue;
        let mut a = Attr::new();
        a.u32_at(0, self.fd.as_raw_fd() as u32)
            .u64_at(8, &key as *const u32 as u64);
        bpf(BPF_MAP_DELETE_ELEM, &mut a).map(|_| ())
    }
}

/// A loaded XDP program.
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
}

/// One eBPF instruction.
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut i = [0u8; 8];
    i[0] = code;
    i[1] = (dst & 0xf) | (src << 4);
    i[2..4].copy_from_slice(&off.to_ne_bytes());
    i[4..8].copy_from_slice(&imm.to_ne_bytes());
    i
}

impl Program {
    /// Loads the redirect program over `map`.
    pub fn redirect_to(map: &XskMap) -> std::io::Result<Program> {
        const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
        const LD_DW_IMM: u8 = 0x18; // BPF_LD | BPF_DW | BPF_IMM
        const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
        const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
        const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
        const PSEUDO_MAP_FD: u8 = 1;
        const RX_QUEUE_INDEX: i16 = 16; // offsetof(struct xdp_md, rx_queue_index)
        let prog: [[u8; 8]; 6] = [
            insn(LDX_W, 2, 1, RX_QUEUE_INDEX, 0),
            insn(LD_DW_IMM, 1, PSEUDO_MAP_FD, 0, map.fd.as_raw_fd()),
            insn(0, 0, 0, 0, 0),
            insn(MOV64_K, 3, 0, 0, XDP_PASS),
            insn(CALL, 0, 0, 0, BPF_FUNC_REDIRECT_MAP),
            insn(EXIT, 0, 0, 0, 0),
        ];
        let license = c"Dual MIT/GPL";
        let mut log = [0u8; 4096];
        let mut a = Attr::new();
        a.u32_at(0, BPF_PROG_TYPE_XDP)
            .u32_at(4, prog.len() as u32)
            .u64_at(8, prog.as_ptr() as u64)
            .u64_at(16, license.as_ptr() as u64)
            .u32_at(24, 1)
            .u32_at(28, log.len() as u32)
            .u64_at(32, log.as_mut_ptr() as u64)
            .u32_at(68, BPF_XDP);
        a.0[48..55].copy_from_slice(b"rvs_xsk");
        match bpf(BPF_PROG_LOAD, &mut a) {
            Ok(fd) => Ok(Program { fd: fd_from(fd) }),
            Err(e) => {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]);
                Err(std::io::Error::new(
                    e.kind(),
                    format!("BPF_PROG_LOAD: {e}; verifier: {}", text.trim()),
                ))
            }
        }
    }

    /// Attaches to interface `ifindex` in the mode `flags`
    /// ([`XDP_FLAGS_SKB_MODE`] or [`XDP_FLAGS_DRV_MODE`]).
    pub fn attach(&self, ifindex: u32, flags: u32) -> std::io::Result<XdpLink> {
        let mut a = Attr::new();
        a.u32_at(0, self.fd.as_raw_fd() as u32)
            .u32_at(4, ifindex)
            .u32_at(8, BPF_XDP)
            .u32_at(12, flags);
        Ok(XdpLink {
            _fd: fd_from(bpf(BPF_LINK_CREATE, &mut a)?),
        })
    }
}

/// An attached program; dropping it detaches.
#[derive(Debug)]
pub struct XdpLink {
    _fd: OwnedFd,
}
