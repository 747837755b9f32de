//! Monitor updates for a client that does not keep up (our server,
//! `vswitchd --db-only`, over its unix socket):
//!
//! * a monitoring session that stops reading while many transactions
//!   commit gets fewer `update2` notifications than transactions (the
//!   server merges what it cannot send yet), and once it reads again, the
//!   state it rebuilds from them equals the last committed state;
//! * such a session's own transaction is answered only after the updates
//!   it was owed, including that transaction's own change: when the reply
//!   arrives, its view already holds everything committed before.
//! * with several clients committing at once (the server batches their
//!   updates), each one's monitor holds its own change when its reply
//!   arrives, and the monitors end in the final state.
//!
//! Every wait is bounded; the server is killed on drop.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use tests::OurOvsdb;

const DB: &str = "Open_vSwitch";
const TIMEOUT: Duration = Duration::from_secs(20);

/// A JSON-RPC connection: requests out, whole JSON values in.
struct Conn {
    out: UnixStream,
    values: serde_json::StreamDeserializer<'static, serde_json::de::IoRead<UnixStream>, Value>,
    next_id: u64,
}

impl Conn {
    fn connect(ovs: &OurOvsdb) -> Conn {
        let s = UnixStream::connect(ovs.socket()).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let rd = s.try_clone().expect("clone");
        Conn {
            out: s,
            values: serde_json::Deserializer::from_reader(rd).into_iter(),
            next_id: 0,
        }
    }

    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let m = json!({"method": method, "params": params, "id": self.next_id});
        self.out.write_all(m.to_string().as_bytes()).expect("send");
        self.next_id
    }

    fn next(&mut self) -> Value {
        self.values
            .next()
            .expect("server closed the connection")
            .expect("a JSON value within the timeout")
    }

    /// Sends a request and returns its result; notifications that arrive
    /// first go to `note`.
    fn call(&mut self, method: &str, params: Value, mut note: impl FnMut(&Value)) -> Value {
        let id = self.send(method, params);
        loop {
            let m = self.next();
            if m["id"] == json!(id) {
                assert!(m["error"].is_null(), "{method} failed: {m}");
                return m["result"].clone();
            }
            note(&m);
        }
    }
}

/// The rows a `monitor_cond` client sees: uuid -> external_ids.
#[derive(Debug, Default, PartialEq)]
struct View(BTreeMap<String, BTreeMap<String, String>>);

impl View {
    /// Applies one table-updates object (`update2` semantics for a map
    /// column: a listed key with the same value is removed, otherwise set).
    fn apply(&mut self, updates: &Value) {
        let Some(rows) = updates["Open_vSwitch"].as_object() else {
            return;
        };
        for (uuid, u) in rows {
            let pairs = |v: &Value| -> Vec<(String, String)> {
                v["external_ids"][1]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            if let Some(row) = u.get("initial").or_else(|| u.get("insert")) {
                self.0
                    .insert(uuid.clone(), pairs(row).into_iter().collect());
            } else if let Some(diff) = u.get("modify") {
                let ids = self.0.entry(uuid.clone()).or_default();
                for (k, v) in pairs(diff) {
                    if ids.get(&k) == Some(&v) {
                        ids.remove(&k);
                    } else {
                        ids.insert(k, v);
                    }
                }
            } else if u.get("delete").is_some() {
                self.0.remove(uuid);
            }
        }
    }
}

/// Whether `m` is an `update2`; applies it to `view` if so.
fn take_update(view: &mut View, m: &Value) -> bool {
    if m["method"] != json!("update2") {
        return false;
    }
    view.apply(&m["params"][1]);
    true
}

struct Setup {
    ovs: OurOvsdb,
    writer: Conn,
    uuid: String,
}

fn setup() -> Setup {
    let ovs = OurOvsdb::start();
    let mut writer = Conn::connect(&ovs);
    let r = writer.call(
        "transact",
        json!([DB, {"op": "insert", "table": "Open_vSwitch", "row": {}}]),
        |_| {},
    );
    let uuid = r[0]["uuid"][1].as_str().expect("uuid").to_owned();
    Setup { ovs, writer, uuid }
}

fn monitor(c: &mut Conn, view: &mut View) {
    let initial = c.call(
        "monitor_cond",
        json!([DB, "m", {"Open_vSwitch": [{"columns": ["external_ids"]}]}]),
        |_| {},
    );
    view.apply(&initial);
}

/// Commits `n` transactions, each setting `seq` and a large `pad`, so that
/// a monitor that does not read soon has more queued than its socket holds.
fn commit_many(w: &mut Conn, uuid: &str, n: usize) -> BTreeMap<String, String> {
    let pad = "x".repeat(4096);
    let mut last = BTreeMap::new();
    for i in 1..=n {
        let ids = json!([
            "map",
            [["pad", format!("{pad}{i}")], ["seq", i.to_string()]]
        ]);
        w.call(
            "transact",
            json!([DB, {"op": "update", "table": "Open_vSwitch",
                        "where": [["_uuid", "==", ["uuid", uuid]]],
                        "row": {"external_ids": ids}}]),
            |_| {},
        );
        last = [
            ("pad".to_owned(), format!("{pad}{i}")),
            ("seq".to_owned(), i.to_string()),
        ]
        .into_iter()
        .collect();
    }
    last
}

#[test]
fn ovsdb_a_lagging_monitor_gets_merged_updates_that_end_in_the_committed_state() {
    let Setup {
        ovs,
        mut writer,
        uuid,
    } = setup();
    let mut slow = Conn::connect(&ovs);
    let mut view = View::default();
    monitor(&mut slow, &mut view);
    const TXNS: usize = 400; // about 1.6 MB of updates if sent one by one
    let last = commit_many(&mut writer, &uuid, TXNS);
    // Now read: an echo round trip marks the end of what was owed.
    let mut notes = 0;
    slow.call("echo", json!([]), |m| {
        if take_update(&mut view, m) {
            notes += 1;
        }
    });
    assert_eq!(view.0.get(&uuid), Some(&last), "final state");
    assert!(
        notes < TXNS / 2,
        "{notes} notifications for {TXNS} transactions: nothing was merged"
    );
    drop(ovs);
}

#[test]
fn ovsdb_a_lagging_monitor_sees_its_own_change_before_its_reply() {
    let Setup {
        ovs,
        mut writer,
        uuid,
    } = setup();
    let mut slow = Conn::connect(&ovs);
    let mut view = View::default();
    monitor(&mut slow, &mut view);
    let mut last = commit_many(&mut writer, &uuid, 200);
    // The lagging session commits a change of its own ("mutate": keep the
    // other keys), then reads up to the reply.
    slow.call(
        "transact",
        json!([DB, {"op": "mutate", "table": "Open_vSwitch",
                    "where": [["_uuid", "==", ["uuid", uuid]]],
                    "mutations": [["external_ids", "insert", ["map", [["mine", "yes"]]]]]}]),
        |m| {
            take_update(&mut view, m);
        },
    );
    last.insert("mine".into(), "yes".into());
    assert_eq!(view.0.get(&uuid), Some(&last), "state when the reply came");
    drop(ovs);
}

#[test]
fn ovsdb_concurrent_committers_see_their_own_change_before_each_reply() {
    let Setup { ovs, uuid, .. } = setup();
    const WRITERS: usize = 6;
    const TXNS: usize = 150;
    let views: Vec<View> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (ovs, uuid) = (&ovs, &uuid);
                sc.spawn(move || {
                    let mut c = Conn::connect(ovs);
                    let mut view = View::default();
                    monitor(&mut c, &mut view);
                    let key = format!("w{w}");
                    for i in 1..=TXNS {
                        c.call(
                            "transact",
                            json!([DB, {"op": "mutate", "table": "Open_vSwitch",
                            "where": [["_uuid", "==", ["uuid", uuid]]],
                            "mutations": [
                                ["external_ids", "delete", ["set", [key]]],
                                ["external_ids", "insert", ["map", [[key, i.to_string()]]]]
                            ]}]),
                            |m| {
                                take_update(&mut view, m);
                            },
                        );
                        let seen = view.0.get(uuid.as_str()).and_then(|ids| ids.get(&key));
                        assert_eq!(seen, Some(&i.to_string()), "own change before the reply");
                    }
                    // Catch up with the others.
                    c.call("echo", json!([]), |m| {
                        take_update(&mut view, m);
                    });
                    view
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect()
    });
    // Every writer's echo came after all commits it waited for; the last
    // writer to finish saw everything; all views agree on what they share.
    let all: BTreeMap<String, String> = (0..WRITERS)
        .map(|w| (format!("w{w}"), TXNS.to_string()))
        .collect();
    assert!(
        views.iter().any(|v| v.0.get(&uuid) == Some(&all)),
        "no monitor saw the final state: {views:?}"
    );
    drop(ovs);
}
