//! The daemon's service life cycle, as an operator and the real Open vSwitch
//! tools see it: `--detach`, the pidfile, the log file, the control socket
//! (with the real `ovs-appctl` and our `vswitchd appctl`), run-time log
//! levels, `exit`, SIGTERM, and refusing a second daemon on the same run
//! directory.

use std::process::Command;
use std::time::Duration;
use tests::daemon::{OurDaemon as Detached, alive};
use tests::{TempDir, our_bin, require, run, run_ok, wait_for};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn detached_daemon_serves_appctl_and_exits_cleanly() {
    require("ovs-appctl", "openvswitch-common");
    require("ovs-vsctl", "openvswitch-switch");
    let d = Detached::start(&[]);
    let pid = d.pid().expect("pidfile written before --detach returns");
    assert!(alive(pid));
    let ctl = d.path().join(format!("ovs-vswitchd.{pid}.ctl"));
    assert!(ctl.exists(), "control socket {}", ctl.display());
    assert!(d.path().join("db.sock").exists());

    // version, through both clients.
    let out = d.ovs_appctl(&["version"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("vswitchd (rvs) "),
        "{}",
        text(&out.stdout)
    );
    let ours = d.our_appctl(&["version"]);
    assert_eq!(text(&ours.stdout), text(&out.stdout));

    // Unknown command: ovs-appctl's exit code 2 and the daemon's message.
    let out = d.ovs_appctl(&["no/such"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("\"no/such\" is not a valid command"),
        "{}",
        text(&out.stderr)
    );
    let ours = d.our_appctl(&["no/such"]);
    assert_eq!(ours.status.code(), Some(2));
    assert!(text(&ours.stderr).contains("\"no/such\" is not a valid command"));

    // Log levels change at run time and vlog/list shows them.
    let out = d.ovs_appctl(&["vlog/set", "ofproto:console:dbg", "ovsdb:file:warn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&d.ovs_appctl(&["vlog/list"]).stdout);
    let line = |m: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(m))
            .unwrap_or_else(|| panic!("no {m} in\n{list}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    // Detached: the console starts OFF; the file at INFO.
    assert_eq!(line("ofproto"), ["DBG", "INFO"]);
    assert_eq!(line("ovsdb"), ["OFF", "WARN"]);
    assert_eq!(line("datapath"), ["OFF", "INFO"]);
    let out = d.ovs_appctl(&["vlog/set", "loud"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no destination, level, or module \"loud\""));

    // The database is served to the real ovs-vsctl meanwhile.
    d.ovs_vsctl(&["--no-wait", "init"]);

    // --log-file with no value: <OVS_LOGDIR>/vswitchd.log.
    let log = d.log();
    assert!(log.contains("started, pid"), "log file: {log}");

    // list-commands lists the built-ins.
    let list = text(&d.ovs_appctl(&["list-commands"]).stdout);
    for c in ["exit", "version", "vlog/list", "vlog/set", "vlog/reopen"] {
        assert!(list.contains(&format!("  {c}")), "{c} missing from\n{list}");
    }

    // exit: the reply arrives, then the process, its sockets and pidfile go.
    let out = d.ovs_appctl(&["exit", "--cleanup"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        wait_for(Duration::from_secs(10), || !alive(pid)),
        "daemon still running after exit"
    );
    assert!(!ctl.exists(), "control socket left behind");
    assert!(!d.path().join("db.sock").exists(), "db.sock left behind");
    assert!(
        !d.path().join("ovs-vswitchd.pid").exists(),
        "pidfile left behind"
    );
}

#[test]
fn log_file_and_reopen() {
    require("ovs-appctl", "openvswitch-common");
    let logdir = TempDir::new("rvslog");
    let log = logdir.join("switch.log");
    let d = Detached::start(&[&format!("--log-file={}", log.display())]);
    assert!(
        wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("started, pid")),
        "no start-up line in the log file"
    );
    // logrotate moves the file away, then asks the daemon to reopen.
    let rotated = logdir.join("switch.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let out = d.ovs_appctl(&["vlog/reopen"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(log.exists(), "vlog/reopen did not recreate the log file");
    let out = d.ovs_appctl(&["exit"]);
    assert!(out.status.success());
    assert!(
        wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("exiting")),
        "the exit line went to the old file"
    );
}

#[test]
fn second_daemon_on_the_same_rundir_is_refused() {
    let d = Detached::start(&[]);
    let pid = d.pid().unwrap();
    let out = run(Command::new(our_bin("vswitchd"))
        .arg("--rundir")
        .arg(d.path())
        .arg("--detach"));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("locked"), "{err}");
    assert!(alive(pid), "the first daemon must keep running");
    assert_eq!(
        d.pid(),
        Some(pid),
        "the pidfile must still name the first daemon"
    );
}

#[test]
fn foreground_daemon_logs_to_stderr_and_cleans_up_on_sigterm() {
    let dir = TempDir::new("rvsf");
    let child = Command::new(our_bin("vswitchd"))
        .arg("--rundir")
        .arg(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let ctl = dir.join(&format!("ovs-vswitchd.{pid}.ctl"));
    assert!(
        wait_for(Duration::from_secs(10), || ctl.exists()),
        "no control socket"
    );
    run_ok(Command::new("kill").args(["-TERM", &pid.to_string()]));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let err = text(&out.stderr);
    assert!(err.contains("OVSDB listening on unix:"), "{err}");
    assert!(err.contains("exiting"), "{err}");
    assert!(
        !ctl.exists() && !dir.join("db.sock").exists() && !dir.join("ovs-vswitchd.pid").exists()
    );
}
