//! End-to-end tests of the SSH transport against the project's real test host
//! (`tests/support/testhost.sh`: debootstrap rootfs, real sshd, namespaces).
//! Gated by `VMBUILD_E2E=1`; needs root.
#[path = "support/testhost.rs"]
mod testhost;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testhost::TestHost;
use vmbuild::remote::ssh::{HostKeyPolicy, SshConfig, SshTransport, Target};
use vmbuild::remote::{RemoteCommand, RemoteError, Transport};

fn config(host: &TestHost, user: &str, key: &Path, project: &Path) -> SshConfig {
    let target = Target {
        user: user.into(),
        host: host.addr.clone(),
        port: host.port,
    };
    let mut cfg = SshConfig::new(&target, vec![key.to_path_buf()], project);
    cfg.retry_budget = Duration::from_secs(30);
    cfg
}

async fn connect(host: &TestHost, user: &str, project: &Path) -> SshTransport {
    SshTransport::connect(config(host, user, &host.key_path, project))
        .await
        .expect("connect")
}

fn run(cmd: &str) -> RemoteCommand {
    RemoteCommand::shell(cmd)
}

#[test]
fn harness_starts_a_host_with_root_and_vagrant() {
    if !testhost::e2e_enabled("real sshd test host (root, namespaces)") {
        return;
    }
    let host = TestHost::start("harness");
    assert_eq!(host.sh("id -un").trim(), "root");
    assert!(host.root.join("etc/os-release").exists());
    assert!(host.sh("getent passwd vagrant").starts_with("vagrant:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_output_status_and_feeds_stdin() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("exec");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;

    let out = t
        .exec(&run("echo out; echo err >&2; exit 3"))
        .await
        .unwrap();
    assert_eq!(
        (
            out.status,
            out.stdout_str().as_str(),
            out.stderr_str().as_str()
        ),
        (3, "out\n", "err\n")
    );

    // arguments with shell metacharacters arrive unchanged
    let nasty = "a b 'c' $(echo no) `x` ; *";
    let out = t
        .exec(&RemoteCommand::new("printf").args(["%s", nasty]))
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), nasty);

    // > 1 MB of output, read to the end
    let out = t
        .exec(&run("head -c 3000000 /dev/zero | tr '\\0' a"))
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 3_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'a'));

    // stdin, large enough to need flow control both ways
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = t
        .exec(&RemoteCommand::new("cat").stdin(input.clone()))
        .await
        .unwrap();
    assert!(out.success());
    assert_eq!(out.stdout, input);

    // a command that ignores its stdin
    let out = t
        .exec(&RemoteCommand::new("true").stdin(vec![b'x'; 100_000]))
        .await
        .unwrap();
    assert!(out.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_execs_share_one_connection() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("concurrent");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    // three rounds: a leaked channel would hit sshd's MaxSessions (10)
    for round in 0..3 {
        let cmds: Vec<RemoteCommand> = (0..20)
            .map(|i| run(&format!("sleep 0.2; echo {round}-{i}")))
            .collect();
        let outs = futures::future::join_all(cmds.iter().map(|c| t.exec(c))).await;
        for (i, out) in outs.into_iter().enumerate() {
            let out = out.unwrap();
            assert_eq!(out.stdout_str(), format!("{round}-{i}\n"));
        }
    }
    assert_eq!(t.connections_made(), 1);
    // every channel closed: no command processes remain on the host
    let left = host
        .sh("for p in /proc/[0-9]*; do cat $p/comm; done 2>/dev/null | grep -c '^sleep$' || true");
    assert_eq!(left.trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_and_put_as_vagrant_and_root() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("put");
    let project = tempfile::tempdir().unwrap();
    let v = connect(&host, "vagrant", project.path()).await;
    assert_eq!(
        v.exec(&RemoteCommand::new("id").arg("-un"))
            .await
            .unwrap()
            .stdout_str(),
        "vagrant\n"
    );
    let out = v
        .exec(&RemoteCommand::new("id").arg("-un").sudo())
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), "root\n");
    let out = v
        .exec(&RemoteCommand::new("id").arg("-un").sudo_user("nobody"))
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), "nobody\n");

    // as the login user
    v.put(b"user file\n", "/home/vagrant/my file", 0o600, false)
        .await
        .unwrap();
    let p = host.root.join("home/vagrant/my file");
    assert_eq!(std::fs::read(&p).unwrap(), b"user file\n");
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o600);
    assert_eq!(
        m.uid(),
        std::fs::metadata(host.root.join("home/vagrant"))
            .unwrap()
            .uid()
    );

    // as root through sudo, replacing an existing file, large content
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
    v.put(&big, "/etc/vmbuild-test.bin", 0o644, true)
        .await
        .unwrap();
    v.put(b"small\n", "/etc/vmbuild-test.conf", 0o640, true)
        .await
        .unwrap();
    v.put(b"replaced\n", "/etc/vmbuild-test.conf", 0o640, true)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(host.root.join("etc/vmbuild-test.bin")).unwrap(),
        big
    );
    let conf = host.root.join("etc/vmbuild-test.conf");
    assert_eq!(std::fs::read(&conf).unwrap(), b"replaced\n");
    let m = std::fs::metadata(&conf).unwrap();
    assert_eq!((m.permissions().mode() & 0o7777, m.uid()), (0o640, 0));

    // without sudo the login user cannot write /etc: an error, no temp file left
    let err = v
        .put(b"x", "/etc/denied.conf", 0o644, false)
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Upload { .. }), "{err}");
    assert!(err.to_string().contains("/etc/denied.conf"), "{err}");
    // into a missing directory: error
    let err = v
        .put(b"x", "/nonexistent/dir/f", 0o644, true)
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Upload { .. }), "{err}");
    let leftovers = host.sh("find /etc /home/vagrant -name '*.vmbuild-tmp-*' | wc -l");
    assert_eq!(leftovers.trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_are_trusted_on_first_use_and_changes_refused() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("hostkey");
    let project = tempfile::tempdir().unwrap();
    let kh = project.path().join(".vmbuild/known_hosts");

    // strict with nothing recorded: refused, nothing written
    let mut strict = config(&host, "root", &host.key_path, project.path());
    strict.policy = HostKeyPolicy::Strict;
    let err = SshTransport::connect(strict.clone()).await.unwrap_err();
    assert!(matches!(err, RemoteError::HostKeyUnknown { .. }), "{err}");
    assert!(!kh.exists());

    // trust on first use records the key; strict then accepts it
    let t = connect(&host, "root", project.path()).await;
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(
        text.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", host.port)),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
    drop(SshTransport::connect(strict).await.unwrap());

    // new host keys: a fresh connection and a reconnect are both refused
    host.rekey();
    let err = SshTransport::connect(config(&host, "root", &host.key_path, project.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::HostKeyChanged { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("has changed") && msg.contains("known_hosts:1"),
        "{msg}"
    );
    host.kill_sessions();
    let err = t.exec(&run("true")).await.unwrap_err();
    assert!(matches!(err, RemoteError::HostKeyChanged { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_rsa_pem_and_vagrant_keys_authenticate() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("keys");
    let project = tempfile::tempdir().unwrap();
    for key in [
        &host.key_path,
        &host.rsa_key_path,
        &host.rsa_pem_key_path,
        &host.vagrant_key_path,
    ] {
        for user in ["root", "vagrant"] {
            let t = SshTransport::connect(config(&host, user, key, project.path()))
                .await
                .unwrap_or_else(|e| panic!("{} as {user}: {e}", key.display()));
            let out = t.exec(&run("id -un")).await.unwrap();
            assert_eq!(out.stdout_str(), format!("{user}\n"));
        }
    }
    // a key the host does not know: refused, the message names the key
    let unknown = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh/id_ed25519");
    let err = SshTransport::connect(config(&host, "root", &unknown, project.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, RemoteError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("fixtures/ssh/id_ed25519"), "{err}");
    // several keys: the first refused, the next accepted
    let mut cfg = config(&host, "root", &unknown, project.path());
    cfg.key_paths.push(host.rsa_key_path.clone());
    SshTransport::connect(cfg).await.unwrap();
}

/// Wait until `path` exists on the host (the remote command reached a point).
async fn wait_for(path: &Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_reconnect_and_retry_by_the_rule() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("drop");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    assert!(t.exec(&run("true")).await.unwrap().success());

    // idle connection killed: the next exec reconnects and succeeds
    host.kill_sessions();
    let out = t.exec(&run("echo again")).await.unwrap();
    assert_eq!(out.stdout_str(), "again\n");
    let made = t.connections_made();
    assert!(made >= 2, "no reconnect happened ({made} connection)");

    // killed mid-command, not idempotent: an error saying it may have run
    let cmd = run("touch /tmp/started1; sleep 30; echo done");
    let (res, ()) = tokio::join!(t.exec(&cmd), async {
        wait_for(&host.root.join("tmp/started1")).await;
        host.kill_sessions();
    });
    let err = res.unwrap_err();
    assert!(matches!(err, RemoteError::Interrupted { .. }), "{err}");
    assert!(err.to_string().contains("sleep 30"), "{err}");

    // killed mid-command, idempotent: run again on a new connection
    let cmd = run("echo run >> /tmp/runs; [ -e /tmp/started2 ] || { touch /tmp/started2; sleep 30; }; echo done")
        .idempotent();
    let (res, ()) = tokio::join!(t.exec(&cmd), async {
        wait_for(&host.root.join("tmp/started2")).await;
        host.kill_sessions();
    });
    assert_eq!(res.unwrap().stdout_str(), "done\n");
    assert_eq!(
        std::fs::read_to_string(host.root.join("tmp/runs")).unwrap(),
        "run\nrun\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_waits_for_a_rebooting_host() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("reboot");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    host.sh("echo kept > /root/kept");
    // down for a while: the exec meets refused connections and backs off
    host.stop();
    let cmd = run("cat /root/kept").idempotent();
    let (out, ()) = tokio::join!(t.exec(&cmd), async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::block_in_place(|| host.restart());
    });
    assert_eq!(out.unwrap().stdout_str(), "kept\n");
    assert_eq!(t.connections_made(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_command_has_no_exit_status() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    let host = TestHost::start("signal");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    let err = t.exec(&run("echo partial; kill -9 $$")).await.unwrap_err();
    match &err {
        RemoteError::Signaled { signal, command } => {
            assert_eq!(signal, "KILL");
            assert!(command.contains("kill -9"), "{command}");
        }
        other => panic!("expected Signaled, got {other}"),
    }
    // the connection is still fine
    assert!(t.exec(&run("true")).await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_report() {
    if !testhost::e2e_enabled("real sshd test host") {
        return;
    }
    // Figures only (no timed assertions): printed for the report/bench.
    let host = TestHost::start("latency");
    let project = tempfile::tempdir().unwrap();
    let n = 5;
    let t0 = Instant::now();
    for _ in 0..n {
        let t = connect(&host, "root", project.path()).await;
        t.exec(&run("true")).await.unwrap();
        t.disconnect().await;
    }
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0 / n as f64;
    let t = connect(&host, "root", project.path()).await;
    let m = 50;
    let t0 = Instant::now();
    for _ in 0..m {
        t.exec(&RemoteCommand::new("true")).await.unwrap();
    }
    let seq_ms = t0.elapsed().as_secs_f64() * 1000.0 / m as f64;
    let cmds: Vec<RemoteCommand> = (0..m).map(|_| RemoteCommand::new("true")).collect();
    let t0 = Instant::now();
    for r in futures::future::join_all(cmds.iter().map(|c| t.exec(c))).await {
        r.unwrap();
    }
    let par_ms = t0.elapsed().as_secs_f64() * 1000.0 / m as f64;
    eprintln!(
        "LATENCY connect+auth+`true`: {connect_ms:.1} ms; `true` over an open connection: \
         {seq_ms:.1} ms sequential, {par_ms:.1} ms/command with 8 channels in flight"
    );
}
