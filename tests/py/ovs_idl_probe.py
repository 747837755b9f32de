#!/usr/bin/python3
"""Drives an OVSDB server with the Python `ovs` IDL (what ovsdbapp wraps).

Usage: ovs_idl_probe.py REMOTE [IDLE_SECONDS]

REMOTE is an OVSDB remote (unix:PATH or tcp:IP:PORT) serving a fresh,
initialised Open_vSwitch database (`ovs-vsctl init` done, no bridges). The
probe prints a transcript with UUIDs left out, so that the transcripts of
two servers can be compared, and ends with the line "OK"; any failure exits
non-zero with a message on stderr.

Steps:
 1. fetch the schema with `get_schema` on a separate connection (as ovsdbapp
    does) and register every table;
 2. connect the IDL and wait for the initial contents;
 3. take a lock, commit a transaction (insert a Bridge, add it to
    Open_vSwitch.bridges with a mutate, set external_ids) and check that the
    replica sees it with its permanent UUID;
 4. see changes made concurrently by `ovs-vsctl` (insert, modify, delete)
    arrive as monitor updates;
 5. narrow the Bridge condition (monitor_cond_change), then widen it back;
 6. commit a failing transaction (duplicate bridge name) and a delete;
 7. with IDLE_SECONDS, stay idle that long (servers probe idle TCP sessions
    with "echo" after about 5 s) and check the session survived: same
    connection, and one more transaction works.
"""

import json
import subprocess
import sys
import time

import ovs.db.idl
import ovs.jsonrpc
import ovs.poller
import ovs.stream
import ovs.vlog

SCHEMA_NAME = "Open_vSwitch"
TIMEOUT = 10.0


def fail(msg):
    sys.stderr.write("ovs_idl_probe: FAIL: %s\n" % msg)
    sys.exit(1)


def say(msg):
    print(msg)
    sys.stdout.flush()


def get_schema_helper(remote):
    """Like ovsdbapp's idlutils.get_schema_helper."""
    err, strm = ovs.stream.Stream.open_block(
        ovs.stream.Stream.open(remote), 5000)
    if err:
        fail("cannot connect to %s: %s" % (remote, err))
    rpc = ovs.jsonrpc.Connection(strm)
    req = ovs.jsonrpc.Message.create_request("get_schema", [SCHEMA_NAME])
    err, resp = rpc.transact_block(req)
    rpc.close()
    if err:
        fail("get_schema: %s" % err)
    if resp.error:
        fail("get_schema error: %s" % resp.error)
    return ovs.db.idl.SchemaHelper(None, resp.result)


def run_until(idl, cond, what, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while True:
        idl.run()
        if cond():
            return
        if time.time() > deadline:
            fail("timed out waiting for %s" % what)
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.timer_wait(100)
        poller.block()


def vsctl(remote, *args):
    cmd = ["ovs-vsctl", "--no-wait", "--timeout=10", "--db=" + remote]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail("%s failed: %s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def bridges(idl):
    return {r.name: r for r in idl.tables["Bridge"].rows.values()}


def root(idl):
    rows = list(idl.tables["Open_vSwitch"].rows.values())
    if len(rows) != 1:
        fail("expected one Open_vSwitch row, have %d" % len(rows))
    return rows[0]


def describe(idl):
    """The replica's bridges, in a server-independent form."""
    ovs_row = root(idl)
    in_root = sorted(b.name for b in ovs_row.bridges)
    out = []
    for name, b in sorted(bridges(idl).items()):
        out.append("%s(ext=%s, stp=%s, ports=%d, in_root=%s)" % (
            name, sorted(b.external_ids.items()), b.stp_enable,
            len(b.ports), name in in_root))
    return "[" + ", ".join(out) + "]"


def commit(idl, txn, what):
    status = txn.commit_block()
    name = ovs.db.idl.Transaction.status_to_string(status)
    detail = ""
    if status == ovs.db.idl.Transaction.ERROR:
        # The error's kind and its first sentence: the rest names the two
        # rows in an order that follows their (random) UUIDs.
        err = json.loads(txn.get_error())
        detail = " (%s: %s)" % (err.get("error"),
                                err.get("details", "").split(".  ")[0])
    say("%s: %s%s" % (what, name, detail))
    return status


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: ovs_idl_probe.py REMOTE [IDLE_SECONDS]")
    remote = sys.argv[1]
    idle = float(sys.argv[2]) if len(sys.argv) == 3 else 0.0
    ovs.vlog.Vlog.init(None)

    # 1. Schema from the server, every table.
    helper = get_schema_helper(remote)
    helper.register_all()

    # 2. Initial contents.
    idl = ovs.db.idl.Idl(remote, helper)
    idl.set_lock("ovs_idl_probe")
    run_until(idl, lambda: idl.change_seqno != 0 and
              len(idl.tables["Open_vSwitch"].rows) == 1,
              "initial contents")
    say("connected: tables=%d bridges=%s" % (len(idl.tables), describe(idl)))
    run_until(idl, lambda: idl.has_lock, "the lock")
    say("has_lock: %s" % idl.has_lock)

    # 3. Our own transaction.
    txn = ovs.db.idl.Transaction(idl)
    br = txn.insert(idl.tables["Bridge"])
    br.name = "br-py"
    br.datapath_type = "netdev"
    br.external_ids = {"owner": "idl", "k": "v"}
    root(idl).addvalue("bridges", br.uuid)
    temp_uuid = br.uuid
    if commit(idl, txn, "insert br-py") != ovs.db.idl.Transaction.SUCCESS:
        fail("insert br-py did not succeed")
    real_uuid = txn.get_insert_uuid(temp_uuid)
    if real_uuid is None:
        fail("no UUID for the inserted bridge")
    run_until(idl, lambda: "br-py" in bridges(idl), "br-py in the replica")
    if bridges(idl)["br-py"].uuid != real_uuid:
        fail("replica's br-py has UUID %s, the server said %s"
             % (bridges(idl)["br-py"].uuid, real_uuid))
    say("replica after insert: %s" % describe(idl))
    out = vsctl(remote, "get", "Bridge", "br-py", "external_ids",
                "datapath_type")
    say("ovs-vsctl sees: %s" % out.strip().replace("\n", " | "))

    # 4. Concurrent changes by ovs-vsctl.
    vsctl(remote, "add-br", "br-vs", "--", "set", "Bridge", "br-vs",
          "external_ids:from=vsctl")
    run_until(idl, lambda: "br-vs" in bridges(idl) and
              bridges(idl)["br-vs"].external_ids.get("from") == "vsctl"
              and len(bridges(idl)["br-vs"].ports) == 1,
              "br-vs from ovs-vsctl")
    say("replica after vsctl add-br: %s" % describe(idl))
    port_names = sorted(p.name for p in idl.tables["Port"].rows.values())
    iface_types = sorted((i.name, i.type)
                         for i in idl.tables["Interface"].rows.values())
    say("ports: %s interfaces: %s" % (port_names, iface_types))

    vsctl(remote, "set", "Bridge", "br-py", "external_ids:k=v2",
          "stp_enable=true")
    run_until(idl, lambda: bridges(idl)["br-py"].external_ids.get("k") ==
              "v2", "modify of br-py")
    say("replica after vsctl set: %s" % describe(idl))

    vsctl(remote, "del-br", "br-vs")
    run_until(idl, lambda: "br-vs" not in bridges(idl) and
              not idl.tables["Port"].rows, "delete of br-vs")
    say("replica after vsctl del-br: %s ports=%d interfaces=%d" % (
        describe(idl), len(idl.tables["Port"].rows),
        len(idl.tables["Interface"].rows)))

    # 5. Conditional monitoring (monitor_cond_change).
    vsctl(remote, "add-br", "br-c1", "--", "add-br", "br-c2")
    run_until(idl, lambda: {"br-c1", "br-c2"} <= set(bridges(idl)),
              "br-c1 and br-c2")
    seq = idl.cond_seqno
    idl.cond_change("Bridge", [["name", "==", "br-c1"]])
    run_until(idl, lambda: idl.cond_seqno > seq and
              set(bridges(idl)) == {"br-c1"}, "narrowed condition")
    say("condition name==br-c1: %s" % sorted(bridges(idl)))
    vsctl(remote, "set", "Bridge", "br-c2", "external_ids:x=1", "--",
          "set", "Bridge", "br-c1", "external_ids:x=2")
    run_until(idl, lambda: bridges(idl)["br-c1"].external_ids.get("x") ==
              "2", "update under condition")
    say("under condition after vsctl set: %s" % sorted(
        (n, sorted(b.external_ids.items())) for n, b in
        bridges(idl).items()))
    seq = idl.cond_seqno
    idl.cond_change("Bridge", [True])
    run_until(idl, lambda: idl.cond_seqno > seq and
              {"br-py", "br-c1", "br-c2"} <= set(bridges(idl)),
              "widened condition")
    say("condition true: %s" % describe(idl))
    vsctl(remote, "del-br", "br-c1", "--", "del-br", "br-c2")
    run_until(idl, lambda: set(bridges(idl)) == {"br-py"},
              "delete of br-c1 and br-c2")

    # 6. A failing transaction, then a delete.
    txn = ovs.db.idl.Transaction(idl)
    dup = txn.insert(idl.tables["Bridge"])
    dup.name = "br-py"
    root(idl).addvalue("bridges", dup.uuid)
    if commit(idl, txn, "duplicate br-py") != ovs.db.idl.Transaction.ERROR:
        fail("a duplicate bridge name was accepted")

    txn = ovs.db.idl.Transaction(idl)
    b = bridges(idl)["br-py"]
    root(idl).delvalue("bridges", b.uuid)
    b.delete()
    if commit(idl, txn, "delete br-py") != ovs.db.idl.Transaction.SUCCESS:
        fail("delete br-py did not succeed")
    run_until(idl, lambda: not bridges(idl), "empty replica")
    say("replica after delete: %s root.bridges=%d" % (
        describe(idl), len(root(idl).bridges)))
    say("ovs-vsctl list-br: %r" % vsctl(remote, "list-br"))

    # Nothing more arrives for a no-op transaction.
    txn = ovs.db.idl.Transaction(idl)
    commit(idl, txn, "empty transaction")

    # 7. Idle, then one more transaction on the same session.
    if idle > 0:
        seqno = idl._session.get_seqno()
        end = time.time() + idle
        while time.time() < end:
            idl.run()
            poller = ovs.poller.Poller()
            idl.wait(poller)
            poller.timer_wait(100)
            poller.block()
        if idl._session.get_seqno() != seqno or not idl._session.is_connected():
            fail("the session was dropped while idle")
        txn = ovs.db.idl.Transaction(idl)
        root(idl).setkey("external_ids", "idle", "survived")
        if commit(idl, txn, "after idle") != ovs.db.idl.Transaction.SUCCESS:
            fail("transaction after idle failed")
    idl.close()
    say("OK")


if __name__ == "__main__":
    main()
