//! A bare OVSDB server for profiling the `ovsdb` crate without building
//! `vswitchd`: serves the shipped `Open_vSwitch` schema from
//! `DIR/conf.rvsdb` on `DIR/db.sock`, with the same runtime as
//! `vswitchd --db-only` (two worker threads), without fsync on commit
//! (as `--no-db-sync`) unless `--sync` is given. `SERVE_THREADS` sets the
//! number of runtime workers, `SERVE_OWN_THREAD=0` serves sessions on them
//! rather than on the server's own thread.
//!
//! ```text
//! cargo run --release -p ovsdb --example serve -- DIR [--sync]
//! ```

use ovsdb::server::{Core, DbStore, Server, ServerConfig, ServerDb};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: serve DIR [--sync]"));
    let sync = args.next().as_deref() == Some("--sync");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::env::var("SERVE_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2),
        )
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        std::fs::create_dir_all(&dir).expect("create DIR");
        let schema = ovsdb::schemas::vswitch_json();
        let (store, warnings) =
            DbStore::open_or_create(&dir.join("conf.rvsdb"), &schema, sync).expect("open");
        for w in warnings {
            eprintln!("warning: {w}");
        }
        let served = vec![(store.name().to_owned(), store.schema_value())];
        let mut core = Core::new();
        core.add_db(Box::new(store));
        core.add_db(Box::new(ServerDb::new(&served)));
        let config = ServerConfig {
            own_thread: std::env::var("SERVE_OWN_THREAD").as_deref() != Ok("0"),
            ..ServerConfig::default()
        };
        let server = Server::new(core, config);
        server
            .listen_unix(&dir.join("db.sock"))
            .await
            .expect("listen");
        server.spawn_timers();
        let _ = tokio::signal::ctrl_c().await;
    });
}
