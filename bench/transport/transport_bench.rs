//! Benchmark driver for `bench/transport/run.sh` (speed figures live here, not in tests).
//!
//! `transport_bench PORT KEY N`: against root@127.0.0.1:PORT, print one JSON
//! line: mean new connection + `true`, mean `true` over an open connection
//! (sequential and with all N submitted at once, 8 channels in flight), and
//! upload throughput of a 32 MiB `put`.
use std::path::PathBuf;
use std::time::Instant;

use vmbuild::remote::ssh::{SshConfig, SshTransport, Target};
use vmbuild::remote::{RemoteCommand, Transport};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, key, n] = &args[..] else {
        eprintln!("usage: transport_bench PORT KEY N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N");
    let project = tempfile::tempdir().expect("tempdir");
    let target = Target {
        user: "root".into(),
        host: "127.0.0.1".into(),
        port: port.parse().expect("PORT"),
    };
    let cfg = SshConfig::new(&target, vec![PathBuf::from(key)], project.path());
    let true_cmd = RemoteCommand::new("true");

    let conns = 10;
    let t0 = Instant::now();
    for _ in 0..conns {
        let t = SshTransport::connect(cfg.clone()).await.expect("connect");
        t.exec(&true_cmd).await.expect("exec");
        t.disconnect().await;
    }
    let connect_ms = t0.elapsed().as_secs_f64() * 1e3 / conns as f64;

    let t = SshTransport::connect(cfg).await.expect("connect");
    let t0 = Instant::now();
    for _ in 0..n {
        t.exec(&true_cmd).await.expect("exec");
    }
    let seq_ms = t0.elapsed().as_secs_f64() * 1e3 / n as f64;

    let t0 = Instant::now();
    let all = futures::future::join_all((0..n).map(|_| t.exec(&true_cmd))).await;
    assert!(all.into_iter().all(|r| r.expect("exec").success()));
    let par_ms = t0.elapsed().as_secs_f64() * 1e3 / n as f64;

    let data = vec![0x5au8; 32 << 20];
    let t0 = Instant::now();
    t.put(&data, "/tmp/bench.bin", 0o600, false)
        .await
        .expect("put");
    let put_mb_s = data.len() as f64 / 1e6 / t0.elapsed().as_secs_f64();

    println!(
        "{{\"connect_true_ms\":{connect_ms:.2},\"seq_true_ms\":{seq_ms:.2},\"par_true_ms\":{par_ms:.2},\"put_mb_s\":{put_mb_s:.1}}}"
    );
}
