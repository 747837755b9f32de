//! The commands: bridge/port/interface commands over `ovs-vsctl`'s model of
//! real and fake (VLAN) bridges, controller/manager commands, and the
//! generic database commands on any table.
//!
//! Contract: each command reads and changes only the [`Ctx`]; it appends
//! its text output to `out` (or fills `table`); a failure is a [`Fatal`]
//! and the whole chain is abandoned without committing anything.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::datum::{Atom, Datum, Uuid};
use ovsdb::schema::{AtomicType, BaseType, ColumnSchema, Max, Type};

use crate::ctx::{CmdResult, Ctx, Fatal, fatal};
use crate::table::Table;
use crate::value::{atom_to_string, datum_to_string, parse_atom, parse_datum, parse_datum_relaxed};

/// One parsed command of the chain.
#[derive(Debug, Default)]
pub struct Command {
    pub name: String,
    pub args: Vec<String>,
    pub opts: BTreeMap<String, Option<String>>,
    pub out: String,
    pub table: Option<Table>,
    /// Set by `wait-until` while its condition does not hold yet.
    pub try_again: bool,
}

impl Command {
    fn has(&self, o: &str) -> bool {
        self.opts.contains_key(o)
    }
    fn opt(&self, o: &str) -> Option<&str> {
        self.opts.get(o).and_then(|v| v.as_deref())
    }
}

/// Static description of a command.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub opts: &'static [&'static str],
    pub run: fn(&mut Ctx, &mut Command) -> CmdResult,
}

const MANY: usize = usize::MAX;

/// Every command.
pub static SPECS: &[Spec] = &[
    Spec {
        name: "init",
        min: 0,
        max: 0,
        opts: &[],
        run: cmd_init,
    },
    Spec {
        name: "show",
        min: 0,
        max: 0,
        opts: &[],
        run: cmd_show,
    },
    Spec {
        name: "emer-reset",
        min: 0,
        max: 0,
        opts: &[],
        run: cmd_emer_reset,
    },
    Spec {
        name: "add-br",
        min: 1,
        max: 3,
        opts: &["--may-exist"],
        run: cmd_add_br,
    },
    Spec {
        name: "del-br",
        min: 1,
        max: 1,
        opts: &["--if-exists"],
        run: cmd_del_br,
    },
    Spec {
        name: "list-br",
        min: 0,
        max: 0,
        opts: &["--real", "--fake"],
        run: cmd_list_br,
    },
    Spec {
        name: "br-exists",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_br_exists,
    },
    Spec {
        name: "br-to-vlan",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_br_to_vlan,
    },
    Spec {
        name: "br-to-parent",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_br_to_parent,
    },
    Spec {
        name: "br-set-external-id",
        min: 2,
        max: 3,
        opts: &[],
        run: cmd_br_set_external_id,
    },
    Spec {
        name: "br-get-external-id",
        min: 1,
        max: 2,
        opts: &[],
        run: cmd_br_get_external_id,
    },
    Spec {
        name: "list-ports",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_list_ports,
    },
    Spec {
        name: "add-port",
        min: 2,
        max: MANY,
        opts: &["--may-exist"],
        run: cmd_add_port,
    },
    Spec {
        name: "add-bond",
        min: 4,
        max: MANY,
        opts: &["--may-exist", "--fake-iface"],
        run: cmd_add_bond,
    },
    Spec {
        name: "del-port",
        min: 1,
        max: 2,
        opts: &["--if-exists", "--with-iface"],
        run: cmd_del_port,
    },
    Spec {
        name: "port-to-br",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_port_to_br,
    },
    Spec {
        name: "list-ifaces",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_list_ifaces,
    },
    Spec {
        name: "iface-to-br",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_iface_to_br,
    },
    Spec {
        name: "get-controller",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_get_controller,
    },
    Spec {
        name: "del-controller",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_del_controller,
    },
    Spec {
        name: "set-controller",
        min: 1,
        max: MANY,
        opts: &[],
        run: cmd_set_controller,
    },
    Spec {
        name: "get-fail-mode",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_get_fail_mode,
    },
    Spec {
        name: "del-fail-mode",
        min: 1,
        max: 1,
        opts: &[],
        run: cmd_del_fail_mode,
    },
    Spec {
        name: "set-fail-mode",
        min: 2,
        max: 2,
        opts: &[],
        run: cmd_set_fail_mode,
    },
    Spec {
        name: "get-manager",
        min: 0,
        max: 0,
        opts: &[],
        run: cmd_get_manager,
    },
    Spec {
        name: "del-manager",
        min: 0,
        max: 0,
        opts: &[],
        run: cmd_del_manager,
    },
    Spec {
        name: "set-manager",
        min: 1,
        max: MANY,
        opts: &[],
        run: cmd_set_manager,
    },
    Spec {
        name: "list",
        min: 1,
        max: MANY,
        opts: &["--if-exists", "--columns"],
        run: cmd_list,
    },
    Spec {
        name: "find",
        min: 1,
        max: MANY,
        opts: &["--columns"],
        run: cmd_find,
    },
    Spec {
        name: "get",
        min: 2,
        max: MANY,
        opts: &["--if-exists", "--id"],
        run: cmd_get,
    },
    Spec {
        name: "set",
        min: 3,
        max: MANY,
        opts: &["--if-exists"],
        run: cmd_set,
    },
    Spec {
        name: "add",
        min: 4,
        max: MANY,
        opts: &["--if-exists"],
        run: cmd_add,
    },
    Spec {
        name: "remove",
        min: 4,
        max: MANY,
        opts: &["--if-exists"],
        run: cmd_remove,
    },
    Spec {
        name: "clear",
        min: 3,
        max: MANY,
        opts: &["--if-exists"],
        run: cmd_clear,
    },
    Spec {
        name: "create",
        min: 2,
        max: MANY,
        opts: &["--id"],
        run: cmd_create,
    },
    Spec {
        name: "destroy",
        min: 1,
        max: MANY,
        opts: &["--if-exists", "--all"],
        run: cmd_destroy,
    },
    Spec {
        name: "wait-until",
        min: 2,
        max: MANY,
        opts: &[],
        run: cmd_wait_until,
    },
];

/// Looks a command up by name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

const OVS: &str = "Open_vSwitch";

// ---------------------------------------------------------------------
// The bridge model.

#[derive(Debug, Clone)]
struct Br {
    name: String,
    /// The Bridge row (the parent's for a fake bridge).
    row: Uuid,
    parent: Option<String>,
    vlan: i64,
    /// The fake bridge's own Port row.
    port: Option<Uuid>,
}

#[derive(Debug, Clone)]
struct PortInfo {
    row: Uuid,
    bridge: String,
}

#[derive(Debug, Clone)]
struct IfaceInfo {
    port: String,
}

#[derive(Debug, Default)]
struct Model {
    bridges: BTreeMap<String, Br>,
    ports: BTreeMap<String, PortInfo>,
    ifaces: BTreeMap<String, IfaceInfo>,
}

fn root(ctx: &Ctx) -> Uuid {
    ctx.rows(OVS)[0]
}

fn is_fake_bridge_port(ctx: &Ctx, p: Uuid) -> bool {
    ctx.get_bool("Port", p, "fake_bridge")
        && ctx
            .get_int("Port", p, "tag")
            .is_some_and(|t| (0..=4095).contains(&t))
}

fn model(ctx: &mut Ctx) -> Model {
    let mut m = Model::default();
    let r = root(ctx);
    ctx.verify(OVS, r, "bridges");
    let brs = ctx.get_refs(OVS, r, "bridges");
    for &b in &brs {
        ctx.verify("Bridge", b, "ports");
        let name = ctx.get_str("Bridge", b, "name");
        if m.bridges.contains_key(&name) {
            continue;
        }
        m.bridges.insert(
            name.clone(),
            Br {
                name: name.clone(),
                row: b,
                parent: None,
                vlan: 0,
                port: None,
            },
        );
        for p in ctx.get_refs("Bridge", b, "ports") {
            if is_fake_bridge_port(ctx, p) {
                let pname = ctx.get_str("Port", p, "name");
                m.bridges.entry(pname.clone()).or_insert(Br {
                    name: pname,
                    row: b,
                    parent: Some(name.clone()),
                    vlan: ctx.get_int("Port", p, "tag").unwrap_or(0),
                    port: Some(p),
                });
            }
        }
    }
    for &b in &brs {
        let bname = ctx.get_str("Bridge", b, "name");
        for p in ctx.get_refs("Bridge", b, "ports") {
            ctx.verify("Port", p, "interfaces");
            let pname = ctx.get_str("Port", p, "name");
            if m.ports.contains_key(&pname) {
                continue;
            }
            let mut owner = bname.clone();
            if let Some(tag) = ctx.get_int("Port", p, "tag")
                && let Some(fb) = m
                    .bridges
                    .values()
                    .find(|x| x.parent.as_deref() == Some(&bname) && x.vlan == tag)
            {
                owner = fb.name.clone();
            }
            m.ports.insert(
                pname.clone(),
                PortInfo {
                    row: p,
                    bridge: owner,
                },
            );
            for i in ctx.get_refs("Port", p, "interfaces") {
                let iname = ctx.get_str("Interface", i, "name");
                m.ifaces.entry(iname).or_insert(IfaceInfo {
                    port: pname.clone(),
                });
            }
        }
    }
    m
}

fn find_bridge<'a>(m: &'a Model, name: &str) -> CmdResult<&'a Br> {
    m.bridges
        .get(name)
        .map_or_else(|| fatal(format!("no bridge named {name}")), Ok)
}

fn str_datum(s: &str) -> Datum {
    Datum::scalar(Atom::String(s.to_owned()))
}

fn uuid_set(us: impl IntoIterator<Item = Uuid>) -> Datum {
    Datum::Set(us.into_iter().map(Atom::Uuid).collect())
}

fn empty() -> Datum {
    Datum::Set(BTreeSet::new())
}

fn check_conflicts(m: &Model, name: &str, what: &str) -> CmdResult {
    if m.bridges.contains_key(name) {
        return fatal(format!(
            "{what} because a bridge named {name} already exists"
        ));
    }
    if let Some(p) = m.ports.get(name) {
        return fatal(format!(
            "{what} because a port named {name} already exists on bridge {}",
            p.bridge
        ));
    }
    if let Some(i) = m.ifaces.get(name) {
        let br = &m.ports[&i.port].bridge;
        return fatal(format!(
            "{what} because an interface named {name} already exists on bridge {br}"
        ));
    }
    Ok(())
}

fn cmd_init(_: &mut Ctx, _: &mut Command) -> CmdResult {
    Ok(())
}

fn c_atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let v: i64 = digits.parse().unwrap_or(0);
    if neg { -v } else { v }
}

fn cmd_add_br(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let name = c.args[0].clone();
    let (parent, vlan) = match c.args.len() {
        1 => (None, 0),
        3 => (Some(c.args[1].clone()), c_atoi(&c.args[2])),
        _ => return fatal("'add-br' command takes exactly 1 or 3 arguments"),
    };
    if parent.is_some() && !(0..=4095).contains(&vlan) {
        return fatal(format!("{}: vlan must be between 0 and 4095", c.name));
    }
    let m = model(ctx);
    if c.has("--may-exist")
        && let Some(br) = m.bridges.get(&name)
    {
        let cmdline = format!("--may-exist add-br {}", c.args.join(" "));
        match (&parent, &br.parent) {
            (None, Some(_)) => {
                return fatal(format!(
                    "\"{cmdline}\" but {name} is a VLAN bridge for VLAN {}",
                    br.vlan
                ));
            }
            (Some(_), None) => {
                return fatal(format!("\"{cmdline}\" but {name} is not a VLAN bridge"));
            }
            (Some(p), Some(bp)) if p != bp => {
                return fatal(format!(
                    "\"{cmdline}\" but {name} has the wrong parent {bp}"
                ));
            }
            (Some(_), Some(_)) if vlan != br.vlan => {
                return fatal(format!(
                    "\"{cmdline}\" but {name} is a VLAN bridge for the wrong VLAN {}",
                    br.vlan
                ));
            }
            _ => return Ok(()),
        }
    }
    check_conflicts(&m, &name, &format!("cannot create a bridge named {name}"))?;
    let iface = ctx.insert("Interface", None);
    ctx.set("Interface", iface, "name", str_datum(&name));
    ctx.set("Interface", iface, "type", str_datum("internal"));
    let port = ctx.insert("Port", None);
    ctx.set("Port", port, "name", str_datum(&name));
    ctx.set("Port", port, "interfaces", uuid_set([iface]));
    match parent {
        None => {
            let br = ctx.insert("Bridge", None);
            ctx.set("Bridge", br, "name", str_datum(&name));
            ctx.set("Bridge", br, "ports", uuid_set([port]));
            let r = root(ctx);
            ctx.add_ref(OVS, r, "bridges", br);
        }
        Some(p) => {
            let Some(pb) = m.bridges.get(&p) else {
                return fatal(format!("parent bridge {p} does not exist"));
            };
            if pb.parent.is_some() {
                return fatal("cannot create bridge with fake bridge as parent");
            }
            ctx.set(
                "Port",
                port,
                "fake_bridge",
                Datum::scalar(Atom::Boolean(true)),
            );
            ctx.set("Port", port, "tag", Datum::scalar(Atom::Integer(vlan)));
            ctx.add_ref("Bridge", pb.row, "ports", port);
        }
    }
    Ok(())
}

/// Deletes a Port row and its Interfaces, unlinking it from `bridge_row`.
fn del_port_row(ctx: &mut Ctx, bridge_row: Uuid, p: Uuid) {
    ctx.remove_ref("Bridge", bridge_row, "ports", p);
    for i in ctx.get_refs("Port", p, "interfaces") {
        ctx.delete("Interface", i);
    }
    ctx.delete("Port", p);
}

fn cmd_del_br(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let Some(br) = m.bridges.get(&c.args[0]) else {
        if c.has("--if-exists") {
            return Ok(());
        }
        return fatal(format!("no bridge named {}", c.args[0]));
    };
    if br.parent.is_some() {
        let ports: Vec<Uuid> = m
            .ports
            .values()
            .filter(|p| p.bridge == br.name)
            .map(|p| p.row)
            .collect();
        for p in ports {
            del_port_row(ctx, br.row, p);
        }
    } else {
        for p in ctx.get_refs("Bridge", br.row, "ports") {
            del_port_row(ctx, br.row, p);
        }
        let r = root(ctx);
        ctx.remove_ref(OVS, r, "bridges", br.row);
        ctx.delete("Bridge", br.row);
    }
    Ok(())
}

fn cmd_list_br(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let real = c.has("--real");
    let fake = c.has("--fake");
    for b in m.bridges.values() {
        let show = match (real, fake) {
            (true, false) => b.parent.is_none(),
            (false, true) => b.parent.is_some(),
            _ => true,
        };
        if show {
            c.out.push_str(&format!("{}\n", b.name));
        }
    }
    Ok(())
}

fn cmd_br_exists(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    if !m.bridges.contains_key(&c.args[0]) {
        return Err(Fatal {
            msg: String::new(),
            code: 2,
        });
    }
    Ok(())
}

fn cmd_br_to_vlan(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    c.out.push_str(&format!("{}\n", b.vlan));
    Ok(())
}

fn cmd_br_to_parent(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    c.out
        .push_str(&format!("{}\n", b.parent.as_deref().unwrap_or(&b.name)));
    Ok(())
}

/// (table, row, key prefix) holding a bridge's external ids.
fn br_ext_ids(b: &Br) -> (&'static str, Uuid, &'static str) {
    match b.port {
        Some(p) => ("Port", p, "fake-bridge-"),
        None => ("Bridge", b.row, ""),
    }
}

fn cmd_br_set_external_id(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    let (t, row, prefix) = br_ext_ids(b);
    ctx.verify(t, row, "external_ids");
    let mut d = ctx.get(t, row, "external_ids");
    if let Datum::Map(map) = &mut d {
        let key = Atom::String(format!("{prefix}{}", c.args[1]));
        match c.args.get(2) {
            Some(v) => {
                map.insert(key, Atom::String(v.clone()));
            }
            None => {
                map.remove(&key);
            }
        }
    }
    ctx.set(t, row, "external_ids", d);
    Ok(())
}

fn cmd_br_get_external_id(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    let (t, row, prefix) = br_ext_ids(b);
    ctx.verify(t, row, "external_ids");
    if let Datum::Map(map) = ctx.get(t, row, "external_ids") {
        for (k, v) in &map {
            let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            let Some(k) = k.strip_prefix(prefix) else {
                continue;
            };
            match c.args.get(1) {
                Some(want) if want == k => c.out.push_str(&format!("{v}\n")),
                Some(_) => {}
                None => c.out.push_str(&format!("{k}={v}\n")),
            }
        }
    }
    Ok(())
}

fn cmd_list_ports(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    for (name, p) in &m.ports {
        if p.bridge == b.name && *name != b.name {
            c.out.push_str(&format!("{name}\n"));
        }
    }
    Ok(())
}

fn add_port(
    ctx: &mut Ctx,
    c: &Command,
    br_name: &str,
    port_name: &str,
    ifaces: &[String],
    settings: &[String],
    fake_iface: bool,
) -> CmdResult {
    let m = model(ctx);
    if c.has("--may-exist")
        && let Some(p) = m.ports.get(port_name)
    {
        let cmdline = format!("--may-exist {} {}", c.name, c.args.join(" "));
        let b = find_bridge(&m, br_name)?;
        if p.bridge != b.name {
            return fatal(format!(
                "\"{cmdline}\" but {port_name} is actually attached to bridge {}",
                p.bridge
            ));
        }
        let want: BTreeSet<&str> = ifaces.iter().map(String::as_str).collect();
        let have: BTreeSet<String> = ctx
            .get_refs("Port", p.row, "interfaces")
            .into_iter()
            .map(|i| ctx.get_str("Interface", i, "name"))
            .collect();
        let have_ref: BTreeSet<&str> = have.iter().map(String::as_str).collect();
        if want != have_ref {
            let list: Vec<&str> = have_ref.iter().copied().collect();
            return fatal(format!(
                "\"{cmdline}\" but {port_name} actually has interface(s) {}",
                list.join(", ")
            ));
        }
        return Ok(());
    }
    check_conflicts(
        &m,
        port_name,
        &format!("cannot create a port named {port_name}"),
    )?;
    for i in ifaces {
        check_conflicts(&m, i, &format!("cannot create an interface named {i}"))?;
    }
    let b = find_bridge(&m, br_name)?.clone();
    let mut irows = Vec::new();
    for i in ifaces {
        let r = ctx.insert("Interface", None);
        ctx.set("Interface", r, "name", str_datum(i));
        irows.push(r);
    }
    let p = ctx.insert("Port", None);
    ctx.set("Port", p, "name", str_datum(port_name));
    ctx.set("Port", p, "interfaces", uuid_set(irows));
    if fake_iface {
        ctx.set(
            "Port",
            p,
            "bond_fake_iface",
            Datum::scalar(Atom::Boolean(true)),
        );
    }
    if b.parent.is_some() {
        ctx.set("Port", p, "tag", Datum::scalar(Atom::Integer(b.vlan)));
    }
    for s in settings {
        set_column(ctx, "Port", p, s)?;
    }
    ctx.add_ref("Bridge", b.row, "ports", p);
    Ok(())
}

fn cmd_add_port(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let (br, port) = (c.args[0].clone(), c.args[1].clone());
    let settings = c.args[2..].to_vec();
    add_port(
        ctx,
        c,
        &br,
        &port,
        std::slice::from_ref(&port),
        &settings,
        false,
    )
}

fn cmd_add_bond(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let (br, port) = (c.args[0].clone(), c.args[1].clone());
    let mut ifaces = Vec::new();
    let mut settings = Vec::new();
    for a in &c.args[2..] {
        if a.contains('=') {
            settings.push(a.clone());
        } else {
            ifaces.push(a.clone());
        }
    }
    if ifaces.len() < 2 {
        return fatal(format!(
            "add-bond requires at least 2 interfaces, but only {} were specified",
            ifaces.len()
        ));
    }
    let fake = c.has("--fake-iface");
    add_port(ctx, c, &br, &port, &ifaces, &settings, fake)
}

fn cmd_del_port(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let target = c.args.last().cloned().unwrap_or_default();
    let mut port = m.ports.get(&target).map(|p| (target.clone(), p.clone()));
    if port.is_none() && c.has("--with-iface") {
        port = m
            .ifaces
            .get(&target)
            .map(|i| (i.port.clone(), m.ports[&i.port].clone()));
    }
    let br = if c.args.len() == 2 {
        Some(find_bridge(&m, &c.args[0])?.clone())
    } else {
        None
    };
    let Some((pname, p)) = port else {
        if c.has("--if-exists") {
            return Ok(());
        }
        return fatal(format!("no port named {target}"));
    };
    if let Some(b) = &br
        && p.bridge != b.name
    {
        // A port of a fake bridge may be deleted through its parent.
        let through_parent = m.bridges[&p.bridge].parent.as_deref() == Some(&b.name);
        if !through_parent {
            if m.ifaces.contains_key(&target) && c.has("--with-iface") {
                return fatal(format!(
                    "bridge {} does not have an interface {target}",
                    b.name
                ));
            }
            return fatal(format!("bridge {} does not have a port {target}", b.name));
        }
    }
    let owner = &m.bridges[&p.bridge];
    if owner.parent.is_none() && pname == owner.name {
        return fatal(format!(
            "cannot delete port {pname} because it is the local port for bridge {} \
             (deleting this port requires deleting the entire bridge)",
            owner.name
        ));
    }
    del_port_row(ctx, owner.row, p.row);
    Ok(())
}

fn cmd_port_to_br(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    match m.ports.get(&c.args[0]) {
        Some(p) => {
            c.out.push_str(&format!("{}\n", p.bridge));
            Ok(())
        }
        None => fatal(format!("no port named {}", c.args[0])),
    }
}

fn cmd_list_ifaces(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    for (name, i) in &m.ifaces {
        if m.ports[&i.port].bridge == b.name && *name != b.name {
            c.out.push_str(&format!("{name}\n"));
        }
    }
    Ok(())
}

fn cmd_iface_to_br(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    match m.ifaces.get(&c.args[0]) {
        Some(i) => {
            c.out.push_str(&format!("{}\n", m.ports[&i.port].bridge));
            Ok(())
        }
        None => fatal(format!("no interface named {}", c.args[0])),
    }
}

fn sorted_targets(ctx: &Ctx, t: &str, rows: &[Uuid]) -> String {
    let mut v: Vec<String> = rows.iter().map(|r| ctx.get_str(t, *r, "target")).collect();
    v.sort();
    v.iter().map(|s| format!("{s}\n")).collect()
}

fn cmd_get_controller(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    ctx.verify("Bridge", b.row, "controller");
    let rows = ctx.get_refs("Bridge", b.row, "controller");
    c.out.push_str(&sorted_targets(ctx, "Controller", &rows));
    Ok(())
}

fn del_controllers(ctx: &mut Ctx, br: Uuid) {
    let rows = ctx.get_refs("Bridge", br, "controller");
    ctx.set("Bridge", br, "controller", empty());
    for r in rows {
        ctx.delete("Controller", r);
    }
}

fn cmd_del_controller(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    del_controllers(ctx, b.row);
    Ok(())
}

fn cmd_set_controller(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?.row;
    del_controllers(ctx, b);
    let mut rows = Vec::new();
    for t in &c.args[1..] {
        let r = ctx.insert("Controller", None);
        ctx.set("Controller", r, "target", str_datum(t));
        rows.push(r);
    }
    ctx.set("Bridge", b, "controller", uuid_set(rows));
    Ok(())
}

fn cmd_get_fail_mode(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    ctx.verify("Bridge", b.row, "fail_mode");
    let mode = ctx.get_str("Bridge", b.row, "fail_mode");
    if !mode.is_empty() {
        c.out.push_str(&format!("{mode}\n"));
    }
    Ok(())
}

fn cmd_del_fail_mode(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    ctx.set("Bridge", b.row, "fail_mode", empty());
    Ok(())
}

fn cmd_set_fail_mode(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let m = model(ctx);
    let b = find_bridge(&m, &c.args[0])?;
    let mode = &c.args[1];
    if mode != "standalone" && mode != "secure" {
        return fatal("fail-mode must be \"standalone\" or \"secure\"");
    }
    ctx.set("Bridge", b.row, "fail_mode", str_datum(mode));
    Ok(())
}

fn cmd_get_manager(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let r = root(ctx);
    ctx.verify(OVS, r, "manager_options");
    let rows = ctx.get_refs(OVS, r, "manager_options");
    c.out.push_str(&sorted_targets(ctx, "Manager", &rows));
    Ok(())
}

fn del_managers(ctx: &mut Ctx) {
    let r = root(ctx);
    let rows = ctx.get_refs(OVS, r, "manager_options");
    ctx.set(OVS, r, "manager_options", empty());
    for m in rows {
        ctx.delete("Manager", m);
    }
}

fn cmd_del_manager(ctx: &mut Ctx, _: &mut Command) -> CmdResult {
    del_managers(ctx);
    Ok(())
}

fn cmd_set_manager(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    del_managers(ctx);
    let mut rows = Vec::new();
    for t in &c.args {
        let r = ctx.insert("Manager", None);
        ctx.set("Manager", r, "target", str_datum(t));
        rows.push(r);
    }
    let r = root(ctx);
    ctx.set(OVS, r, "manager_options", uuid_set(rows));
    Ok(())
}

fn cmd_emer_reset(ctx: &mut Ctx, _: &mut Command) -> CmdResult {
    let r = root(ctx);
    for col in ["manager_options", "ssl"] {
        ctx.set(OVS, r, col, empty());
    }
    for b in ctx.rows("Bridge") {
        for col in [
            "controller",
            "fail_mode",
            "mirrors",
            "netflow",
            "sflow",
            "ipfix",
            "flood_vlans",
        ] {
            ctx.set("Bridge", b, col, empty());
        }
        let mut oc = ctx.get("Bridge", b, "other_config");
        if let Datum::Map(m) = &mut oc {
            m.retain(|k, _| k.as_str() == Some("hwaddr"));
        }
        ctx.set("Bridge", b, "other_config", oc);
    }
    for p in ctx.rows("Port") {
        ctx.set("Port", p, "other_config", Datum::Map(BTreeMap::new()));
    }
    for t in [
        "Mirror",
        "Controller",
        "Manager",
        "NetFlow",
        "sFlow",
        "IPFIX",
    ] {
        for row in ctx.rows(t) {
            ctx.delete(t, row);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------
// show

fn show_row(ctx: &Ctx, t: &str, u: Uuid, level: usize, out: &mut String, seen: &mut Vec<Uuid>) {
    let ind = "    ".repeat(level);
    let (name_col, cols): (Option<&str>, &[&str]) = match t {
        "Open_vSwitch" => (None, &["manager_options", "bridges", "ovs_version"]),
        "Bridge" => (
            Some("name"),
            &["controller", "fail_mode", "datapath_type", "ports"],
        ),
        "Port" => (Some("name"), &["tag", "trunks", "interfaces"]),
        "Interface" => (Some("name"), &["type", "options", "error", "bfd_status"]),
        "Controller" => (Some("target"), &["is_connected"]),
        "Manager" => (Some("target"), &["is_connected"]),
        _ => return,
    };
    let ts = ctx.table_schema(t);
    match name_col {
        Some(n) => {
            let d = ctx.get(t, u, n);
            out.push_str(&format!(
                "{ind}{t} {}\n",
                datum_to_string(&d, &ts.column(n).expect("col").type_)
            ));
        }
        None => out.push_str(&format!("{ind}{u}\n")),
    }
    if seen.contains(&u) {
        return;
    }
    seen.push(u);
    for col in cols {
        let Some(cs) = ts.column(col) else { continue };
        let d = ctx.get(t, u, col);
        if let Some(rt) = &cs.type_.key.ref_table
            && matches!(
                rt.as_str(),
                "Bridge" | "Port" | "Interface" | "Controller" | "Manager"
            )
        {
            for r in d.uuids().collect::<Vec<_>>() {
                if ctx.row(rt, r).is_some() {
                    show_row(ctx, rt, r, level + 1, out, seen);
                }
            }
            continue;
        }
        if d == Datum::default_for(&cs.type_) {
            continue;
        }
        out.push_str(&format!(
            "{ind}    {col}: {}\n",
            datum_to_string(&d, &cs.type_)
        ));
    }
    seen.pop();
}

fn cmd_show(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let mut out = String::new();
    for r in ctx.rows(OVS) {
        show_row(ctx, OVS, r, 0, &mut out, &mut Vec::new());
    }
    c.out.push_str(&out);
    Ok(())
}

// ---------------------------------------------------------------------
// Database commands.

fn norm(c: char) -> char {
    if c == '-' {
        '_'
    } else {
        c.to_ascii_lowercase()
    }
}

/// ovs's partial-match score of `s` against `name`.
fn score(name: &str, s: &str) -> u32 {
    if name == s {
        return u32::MAX;
    }
    let (n, q): (Vec<char>, Vec<char>) = (name.chars().collect(), s.chars().collect());
    let mut i = 0;
    loop {
        let a = n.get(i).copied().map(norm);
        let b = q.get(i).copied().map(norm);
        if a != b {
            break;
        }
        if a.is_none() {
            return u32::MAX - 1;
        }
        i += 1;
    }
    if i == q.len() { i as u32 } else { 0 }
}

fn best_match<'a>(names: impl Iterator<Item = &'a str>, s: &str) -> (Vec<&'a str>, u32) {
    let mut best = 0;
    let mut found = Vec::new();
    for n in names {
        let sc = score(n, s);
        if sc > best {
            best = sc;
            found = vec![n];
        } else if sc == best && sc > 0 {
            found.push(n);
        }
    }
    (found, best)
}

fn get_table(ctx: &Ctx, s: &str) -> CmdResult<String> {
    let (found, _) = best_match(ctx.schema.tables.keys().map(String::as_str), s);
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => fatal(format!("unknown table \"{s}\"")),
        many => fatal(format!(
            "\"{s}\" matches multiple table names: {}",
            many.join(", ")
        )),
    }
}

fn get_column<'a>(ctx: &'a Ctx, t: &str, s: &str) -> CmdResult<&'a ColumnSchema> {
    let ts = ctx.table_schema(t);
    let (found, _) = best_match(ts.columns.iter().map(|c| c.name.as_str()), s);
    match found.as_slice() {
        [one] => Ok(ts.column(one).expect("column")),
        [] => fatal(format!(
            "{t} does not contain a column whose name matches \"{s}\""
        )),
        _ => fatal(format!(
            "{t} contains more than one column whose name matches \"{s}\""
        )),
    }
}

/// (referencing table, name column, reference column) ways to name rows.
fn row_ids(t: &str) -> &'static [(&'static str, Option<&'static str>, Option<&'static str>)] {
    match t {
        "Bridge" => &[("Bridge", Some("name"), None)],
        "Controller" => &[("Bridge", Some("name"), Some("controller"))],
        "Interface" => &[("Interface", Some("name"), None)],
        "Mirror" => &[("Mirror", Some("name"), None)],
        "Manager" => &[("Manager", Some("target"), None)],
        "NetFlow" => &[("Bridge", Some("name"), Some("netflow"))],
        "Open_vSwitch" => &[("Open_vSwitch", None, None)],
        "Port" => &[("Port", Some("name"), None)],
        "QoS" => &[("Port", Some("name"), Some("qos"))],
        "Queue" => &[("QoS", None, Some("queues"))],
        "SSL" => &[("Open_vSwitch", None, Some("ssl"))],
        "sFlow" => &[("Bridge", Some("name"), Some("sflow"))],
        "Flow_Table" => &[("Flow_Table", Some("name"), None)],
        "IPFIX" => &[("Bridge", Some("name"), Some("ipfix"))],
        "AutoAttach" => &[("Bridge", Some("name"), Some("auto_attach"))],
        _ => &[],
    }
}

fn find_row(ctx: &Ctx, t: &str, id: &str) -> CmdResult<Option<Uuid>> {
    if let Some(u) = Uuid::parse_strict(id)
        && ctx.row(t, u).is_some()
    {
        return Ok(Some(u));
    }
    for (rt, name_col, ref_col) in row_ids(t) {
        let mut hits = Vec::new();
        match name_col {
            Some(nc) => {
                for r in ctx.rows(rt) {
                    let d = ctx.get(rt, r, nc);
                    if d.as_scalar().and_then(Atom::as_str) == Some(id) {
                        hits.push(r);
                    }
                }
            }
            None => {
                if id == "." {
                    let rows = ctx.rows(rt);
                    if rows.len() == 1 {
                        hits.push(rows[0]);
                    }
                }
            }
        }
        let hits: Vec<Uuid> = match ref_col {
            None => hits,
            Some(rc) => hits
                .into_iter()
                .filter_map(|h| {
                    let refs = ctx.get_refs(rt, h, rc);
                    if refs.len() == 1 { Some(refs[0]) } else { None }
                })
                .collect(),
        };
        match hits.as_slice() {
            [] => {}
            [one] => return Ok(Some(*one)),
            _ => return fatal(format!("multiple rows in {t} match \"{id}\"")),
        }
    }
    // A uuid prefix.
    if id.len() >= 4 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        let hits: Vec<Uuid> = ctx
            .rows(t)
            .into_iter()
            .filter(|u| u.to_string().starts_with(id))
            .collect();
        match hits.as_slice() {
            [] => {}
            [one] => return Ok(Some(*one)),
            _ => return fatal(format!("multiple rows in {t} match \"{id}\"")),
        }
    }
    Ok(None)
}

fn must_find_row(ctx: &Ctx, t: &str, id: &str, if_exists: bool) -> CmdResult<Option<Uuid>> {
    match find_row(ctx, t, id)? {
        Some(u) => Ok(Some(u)),
        None if if_exists => Ok(None),
        None => fatal(format!("no row \"{id}\" in table {t}")),
    }
}

/// Splits `COLUMN[:KEY]` off `arg` up to one of `ops`; returns (column,
/// key text, rest starting at the operator).
fn split_column_key(arg: &str) -> (&str, Option<String>, &str) {
    let end = arg
        .find([':', '=', '!', '<', '>', '{'])
        .unwrap_or(arg.len());
    let col = &arg[..end];
    let rest = &arg[end..];
    if let Some(r) = rest.strip_prefix(':') {
        if r.starts_with('"') {
            // A quoted key.
            let mut esc = false;
            for (i, ch) in r.char_indices().skip(1) {
                if esc {
                    esc = false;
                } else if ch == '\\' {
                    esc = true;
                } else if ch == '"' {
                    return (col, Some(r[..=i].to_owned()), &r[i + 1..]);
                }
            }
            return (col, Some(r.to_owned()), "");
        }
        let kend = r.find(['=', '!', '<', '>', '{']).unwrap_or(r.len());
        return (col, Some(r[..kend].to_owned()), &r[kend..]);
    }
    (col, None, rest)
}

fn check_mutable(t: &str, cs: &ColumnSchema) -> CmdResult {
    if !cs.mutable {
        return fatal(format!(
            "cannot modify read-only column {} in table {t}",
            cs.name
        ));
    }
    Ok(())
}

fn parse_err<T>(r: Result<T, String>) -> CmdResult<T> {
    r.or_else(fatal)
}

/// `COLUMN[:KEY]=VALUE` applied to a row.
fn set_column(ctx: &mut Ctx, t: &str, row: Uuid, arg: &str) -> CmdResult {
    let (col, key, rest) = split_column_key(arg);
    if col.is_empty() {
        return fatal(format!("{arg}: missing column name"));
    }
    let cs = get_column(ctx, t, col)?.clone();
    let Some(value) = rest.strip_prefix('=') else {
        return fatal(format!(
            "{arg}: argument does not end in \"=\" followed by a value."
        ));
    };
    check_mutable(t, &cs)?;
    match key {
        Some(k) => {
            let Some(vt) = &cs.type_.value else {
                return fatal(format!(
                    "cannot specify key to set for non-map column {}",
                    cs.name
                ));
            };
            let k = parse_err(parse_atom(&k, &cs.type_.key, &mut ctx.syms))?;
            let v = parse_err(parse_atom(value, vt, &mut ctx.syms))?;
            let mut d = ctx.get(t, row, &cs.name);
            if let Datum::Map(m) = &mut d {
                m.insert(k, v);
            }
            check_count(&d, &cs, t, "set")?;
            ctx.set(t, row, &cs.name, d);
        }
        None => {
            let d = parse_err(parse_datum(value, &cs.type_, &mut ctx.syms))?;
            ctx.set(t, row, &cs.name, d);
        }
    }
    Ok(())
}

fn check_count(d: &Datum, cs: &ColumnSchema, t: &str, op: &str) -> CmdResult {
    let n = d.len();
    let what = if cs.type_.is_map() { "pairs" } else { "values" };
    if let Max::Limited(max) = cs.type_.max
        && n as u64 > max
    {
        return fatal(format!(
            "\"{op}\" operation would put {n} {what} in column {} of table {t} but the maximum number is {max}",
            cs.name
        ));
    }
    if n < cs.type_.min {
        return fatal(format!(
            "\"{op}\" operation would put {n} {what} in column {} of table {t} but the minimum number is {}",
            cs.name, cs.type_.min
        ));
    }
    Ok(())
}

fn table_for(ctx: &Ctx, t: &str, rows: &[Uuid], columns: Option<&str>) -> CmdResult<Table> {
    let ts = ctx.table_schema(t);
    let names: Vec<String> = match columns {
        Some(list) => {
            let mut v = Vec::new();
            for c in list.split(',').filter(|c| !c.is_empty()) {
                v.push(get_column(ctx, t, c)?.name.clone());
            }
            v
        }
        None => {
            let mut v: Vec<String> = ts
                .columns
                .iter()
                .map(|c| c.name.clone())
                .filter(|n| n != "_uuid" && n != "_version")
                .collect();
            v.sort();
            v.insert(0, "_uuid".into());
            v
        }
    };
    let uuid_ty = Type::scalar(BaseType::new(AtomicType::Uuid));
    let mut table = Table {
        headings: names.clone(),
        rows: Vec::new(),
    };
    for &r in rows {
        let cells = names
            .iter()
            .map(|n| {
                if n == "_uuid" {
                    (Datum::scalar(Atom::Uuid(r)), uuid_ty.clone())
                } else {
                    let ty = ts
                        .column(n)
                        .map(|c| c.type_.clone())
                        .unwrap_or(uuid_ty.clone());
                    (ctx.get(t, r, n), ty)
                }
            })
            .collect();
        table.rows.push(cells);
    }
    Ok(table)
}

fn cmd_list(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let rows = if c.args.len() > 1 {
        let mut v = Vec::new();
        for id in &c.args[1..] {
            if let Some(u) = must_find_row(ctx, &t, id, c.has("--if-exists"))? {
                v.push(u);
            }
        }
        v
    } else {
        ctx.rows(&t)
    };
    c.table = Some(table_for(ctx, &t, &rows, c.opt("--columns"))?);
    Ok(())
}

/// Evaluates one `COLUMN[:KEY]OP VALUE` condition on a row.
fn condition_holds(ctx: &mut Ctx, t: &str, row: Uuid, arg: &str) -> CmdResult<bool> {
    let (col, key, rest) = split_column_key(arg);
    let cs = get_column(ctx, t, col)?.clone();
    const OPS: [&str; 12] = [
        "{!=}", "{<=}", "{>=}", "{=}", "{<}", "{>}", "!=", "<=", ">=", "=", "<", ">",
    ];
    let Some(op) = OPS.iter().find(|o| rest.starts_with(**o)) else {
        return fatal(format!(
            "{arg}: argument does not end in \"=\", \"!=\", \"<\", \">\", \"<=\", \">=\", \"{{=}}\", \"{{!=}}\", \"{{<}}\", \"{{>}}\", \"{{<=}}\", or \"{{>=}}\" followed by a value."
        ));
    };
    let value = &rest[op.len()..];
    let (have, want) = match key {
        Some(k) => {
            let Some(vt) = cs.type_.value.clone() else {
                return fatal(format!(
                    "cannot specify key to check for non-map column {}",
                    cs.name
                ));
            };
            let k = parse_err(parse_atom(&k, &cs.type_.key, &mut ctx.syms))?;
            let have = match ctx.get(t, row, &cs.name) {
                Datum::Map(m) => m.get(&k).cloned(),
                _ => None,
            };
            let vty = Type {
                key: vt,
                value: None,
                min: 0,
                max: Max::Unlimited,
            };
            let want = parse_err(parse_datum_relaxed(value, &vty, &mut ctx.syms))?;
            (Datum::Set(have.into_iter().collect()), want)
        }
        None => {
            let want = parse_err(parse_datum_relaxed(
                value,
                &cs.type_.relaxed(true),
                &mut ctx.syms,
            ))?;
            (ctx.get(t, row, &cs.name), want)
        }
    };
    let subset = |a: &Datum, b: &Datum| match (a, b) {
        (Datum::Map(x), Datum::Map(y)) => x.iter().all(|(k, v)| y.get(k) == Some(v)),
        _ => a.keys().all(|k| b.contains_key(k)),
    };
    Ok(match *op {
        "=" => have == want,
        "!=" => have != want,
        "<" => have < want,
        ">" => have > want,
        "<=" => have <= want,
        ">=" => have >= want,
        "{=}" => have == want,
        "{!=}" => have != want,
        "{<}" => subset(&have, &want) && have != want,
        "{>}" => subset(&want, &have) && have != want,
        "{<=}" => subset(&have, &want),
        _ => subset(&want, &have),
    })
}

fn cmd_find(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let mut rows = Vec::new();
    for r in ctx.rows(&t) {
        let mut ok = true;
        for cond in &c.args[1..] {
            if !condition_holds(ctx, &t, r, cond)? {
                ok = false;
            }
        }
        if ok {
            rows.push(r);
        }
    }
    c.table = Some(table_for(ctx, &t, &rows, c.opt("--columns"))?);
    Ok(())
}

fn parse_id(c: &Command) -> CmdResult<Option<String>> {
    match c.opt("--id") {
        Some(id) if !id.starts_with('@') => {
            fatal(format!("row id \"{id}\" does not begin with \"@\""))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

fn cmd_get(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let id = parse_id(c)?;
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = must_find_row(ctx, &t, &c.args[1], c.has("--if-exists"))? else {
        return Ok(());
    };
    if let Some(id) = id {
        ctx.syms.map.insert(id, (row, true));
    }
    for arg in c.args.clone()[2..].iter() {
        let (col, key, rest) = split_column_key(arg);
        let cs = get_column(ctx, &t, col)?.clone();
        if !rest.is_empty() {
            return fatal(format!("{arg}: trailing garbage \"{rest}\" in argument"));
        }
        ctx.verify(&t, row, &cs.name);
        let d = ctx.get(&t, row, &cs.name);
        match key {
            Some(k) => {
                let Some(_) = &cs.type_.value else {
                    return fatal(format!(
                        "cannot specify key to get for non-map column {}",
                        cs.name
                    ));
                };
                let ka = parse_err(parse_atom(&k, &cs.type_.key, &mut ctx.syms))?;
                match &d {
                    Datum::Map(m) if m.contains_key(&ka) => {
                        c.out.push_str(&format!("{}\n", atom_to_string(&m[&ka])));
                    }
                    _ if c.has("--if-exists") => c.out.push('\n'),
                    _ => {
                        return fatal(format!(
                            "no key \"{k}\" in {t} record \"{}\" column {}",
                            c.args[1], cs.name
                        ));
                    }
                }
            }
            None => c
                .out
                .push_str(&format!("{}\n", datum_to_string(&d, &cs.type_))),
        }
    }
    Ok(())
}

fn cmd_set(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = must_find_row(ctx, &t, &c.args[1], c.has("--if-exists"))? else {
        return Ok(());
    };
    for arg in c.args.clone()[2..].iter() {
        set_column(ctx, &t, row, arg)?;
    }
    Ok(())
}

fn cmd_add(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = must_find_row(ctx, &t, &c.args[1], c.has("--if-exists"))? else {
        return Ok(());
    };
    let cs = get_column(ctx, &t, &c.args[2])?.clone();
    check_mutable(&t, &cs)?;
    let mut d = ctx.get(&t, row, &cs.name);
    let rty = cs.type_.relaxed(true);
    for v in c.args.clone()[3..].iter() {
        let add = parse_err(parse_datum_relaxed(v, &rty, &mut ctx.syms))?;
        match (&mut d, add) {
            (Datum::Set(s), Datum::Set(a)) => s.extend(a),
            (Datum::Map(m), Datum::Map(a)) => {
                for (k, v) in a {
                    m.entry(k).or_insert(v);
                }
            }
            _ => {}
        }
    }
    check_count(&d, &cs, &t, "add")?;
    ctx.set(&t, row, &cs.name, d);
    Ok(())
}

fn cmd_remove(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = must_find_row(ctx, &t, &c.args[1], c.has("--if-exists"))? else {
        return Ok(());
    };
    let cs = get_column(ctx, &t, &c.args[2])?.clone();
    check_mutable(&t, &cs)?;
    let mut d = ctx.get(&t, row, &cs.name);
    let rty = cs.type_.relaxed(true);
    for v in c.args.clone()[3..].iter() {
        match parse_datum_relaxed(v, &rty, &mut ctx.syms) {
            Ok(Datum::Map(rm)) => {
                if let Datum::Map(m) = &mut d {
                    for (k, val) in rm {
                        if m.get(&k) == Some(&val) {
                            m.remove(&k);
                        }
                    }
                }
            }
            Ok(Datum::Set(rs)) => {
                if let Datum::Set(s) = &mut d {
                    for a in rs {
                        s.remove(&a);
                    }
                }
            }
            Err(e) => {
                // For a map, a set of keys.
                let Some(_) = &cs.type_.value else {
                    return fatal(e);
                };
                let kty = Type {
                    key: cs.type_.key.clone(),
                    value: None,
                    min: 0,
                    max: Max::Unlimited,
                };
                let keys = parse_err(parse_datum_relaxed(v, &kty, &mut ctx.syms))?;
                if let Datum::Map(m) = &mut d {
                    for k in keys.keys() {
                        m.remove(k);
                    }
                }
            }
        }
    }
    check_count(&d, &cs, &t, "remove")?;
    ctx.set(&t, row, &cs.name, d);
    Ok(())
}

fn cmd_clear(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = must_find_row(ctx, &t, &c.args[1], c.has("--if-exists"))? else {
        return Ok(());
    };
    for col in c.args.clone()[2..].iter() {
        let cs = get_column(ctx, &t, col)?.clone();
        check_mutable(&t, &cs)?;
        if cs.type_.min > 0 {
            return fatal(format!(
                "\"clear\" operation cannot be applied to column {} of table {t}, which is not allowed to be empty",
                cs.name
            ));
        }
        ctx.set(&t, row, &cs.name, Datum::empty_for(&cs.type_));
    }
    Ok(())
}

fn cmd_create(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let id = parse_id(c)?;
    let t = get_table(ctx, &c.args[0])?;
    let is_root = ctx.table_schema(&t).is_root;
    let uuid = match &id {
        Some(id) => {
            let u = ctx
                .syms
                .map
                .get(id)
                .map(|s| s.0)
                .unwrap_or_else(Uuid::random);
            ctx.syms.map.insert(id.clone(), (u, true));
            Some(u)
        }
        None => {
            if !is_root {
                ctx.warnings.push((
                    "db_ctl_base",
                    format!(
                        "applying \"create\" command to table {t} without --id option will have no effect"
                    ),
                ));
            }
            None
        }
    };
    let row = ctx.insert(&t, uuid);
    for arg in c.args.clone()[1..].iter() {
        set_column(ctx, &t, row, arg)?;
    }
    c.out.push_str(&format!("{row}\n"));
    Ok(())
}

fn cmd_destroy(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    if c.has("--all") {
        if c.args.len() > 1 {
            return fatal("--all and records argument should not be specified together");
        }
        for r in ctx.rows(&t) {
            ctx.delete(&t, r);
        }
        return Ok(());
    }
    if c.args.len() < 2 {
        return fatal("either --all or records argument should be specified");
    }
    for id in c.args.clone()[1..].iter() {
        if let Some(r) = must_find_row(ctx, &t, id, c.has("--if-exists"))? {
            ctx.delete(&t, r);
        }
    }
    Ok(())
}

fn cmd_wait_until(ctx: &mut Ctx, c: &mut Command) -> CmdResult {
    let t = get_table(ctx, &c.args[0])?;
    let Some(row) = find_row(ctx, &t, &c.args[1])? else {
        c.try_again = true;
        return Ok(());
    };
    for cond in c.args.clone()[2..].iter() {
        if !condition_holds(ctx, &t, row, cond)? {
            c.try_again = true;
        }
    }
    Ok(())
}
