//! End-to-end tests of the SSH transport against the project's real test host
//! (`tests/support/testhost.sh`: debootstrap rootfs, real sshd, namespaces).
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); needs root. Each test
//! has a deadline; on expiry it names its last step and shows the host's
//! sshd log.
#[path = "support/gate.rs"]
mod gate;
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

/// A test's allowance once the rootfs is built: seconds of work each, with
/// room for a busy 2-core machine running the suite's tests in parallel.
const LIMIT: Duration = Duration::from_secs(180);

/// Gate the test, build the rootfs if needed, arm the test's deadline.
fn begin(test: &str, what: &str) -> Option<gate::Deadline> {
    testhost::begin(test, what, "", LIMIT)
}

#[test]
fn harness_starts_a_host_with_root_and_vagrant() {
    let Some(d) = begin(
        "harness_starts_a_host_with_root_and_vagrant",
        "real sshd test host (root, namespaces)",
    ) else {
        return;
    };
    d.step("start a test host");
    let host = TestHost::start("harness");
    d.step("root, its files and the vagrant user");
    assert_eq!(host.sh("id -un").trim(), "root");
    assert!(host.root.join("etc/os-release").exists());
    assert!(host.sh("getent passwd vagrant").starts_with("vagrant:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_returns_output_status_and_feeds_stdin() {
    let Some(d) = begin(
        "exec_returns_output_status_and_feeds_stdin",
        "real sshd test host",
    ) else {
        return;
    };
    d.step("start a test host and connect");
    let host = TestHost::start("exec");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;

    d.step("exit status and both streams");
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

    d.step("arguments with shell metacharacters");
    // arguments with shell metacharacters arrive unchanged
    let nasty = "a b 'c' $(echo no) `x` ; *";
    let out = t
        .exec(&RemoteCommand::new("printf").args(["%s", nasty]))
        .await
        .unwrap();
    assert_eq!(out.stdout_str(), nasty);

    d.step("3 MB of output");
    // > 1 MB of output, read to the end
    let out = t
        .exec(&run("head -c 3000000 /dev/zero | tr '\\0' a"))
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 3_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'a'));

    d.step("2 MB on stdin through `cat`");
    // stdin, large enough to need flow control both ways
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = t
        .exec(&RemoteCommand::new("cat").stdin(input.clone()))
        .await
        .unwrap();
    assert!(out.success());
    assert_eq!(out.stdout, input);

    d.step("a command that ignores its stdin");
    // a command that ignores its stdin
    let out = t
        .exec(&RemoteCommand::new("true").stdin(vec![b'x'; 100_000]))
        .await
        .unwrap();
    assert!(out.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_execs_share_one_connection() {
    let Some(d) = begin(
        "twenty_concurrent_execs_share_one_connection",
        "real sshd test host",
    ) else {
        return;
    };
    d.step("start a test host and connect");
    let host = TestHost::start("concurrent");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    // three rounds: a leaked channel would hit sshd's MaxSessions (10)
    for round in 0..3 {
        d.step(&format!("round {round}: 20 concurrent execs"));
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
    d.step("no command process left on the host");
    // every channel closed: no command processes remain on the host
    let left = host
        .sh("for p in /proc/[0-9]*; do cat $p/comm; done 2>/dev/null | grep -c '^sleep$' || true");
    assert_eq!(left.trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_and_put_as_vagrant_and_root() {
    let Some(d) = begin("sudo_and_put_as_vagrant_and_root", "real sshd test host") else {
        return;
    };
    d.step("start a test host and connect as vagrant");
    let host = TestHost::start("put");
    let project = tempfile::tempdir().unwrap();
    let v = connect(&host, "vagrant", project.path()).await;
    d.step("sudo to root and to nobody");
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

    d.step("put as the login user");
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

    d.step("put as root through sudo (5 MB, then a replacement)");
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

    d.step("puts that must fail, leaving no temp file");
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
    let Some(d) = begin(
        "host_keys_are_trusted_on_first_use_and_changes_refused",
        "real sshd test host",
    ) else {
        return;
    };
    d.step("start a test host");
    let host = TestHost::start("hostkey");
    let project = tempfile::tempdir().unwrap();
    let kh = project.path().join(".vmbuild/known_hosts");
    d.step("strict policy with nothing recorded");

    // strict with nothing recorded: refused, nothing written
    let mut strict = config(&host, "root", &host.key_path, project.path());
    strict.policy = HostKeyPolicy::Strict;
    let err = SshTransport::connect(strict.clone()).await.unwrap_err();
    assert!(matches!(err, RemoteError::HostKeyUnknown { .. }), "{err}");
    assert!(!kh.exists());

    d.step("trust on first use, then strict");
    // trust on first use records the key; strict then accepts it
    let t = connect(&host, "root", project.path()).await;
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(
        text.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", host.port)),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);
    drop(SshTransport::connect(strict).await.unwrap());

    d.step("new host keys: connect and reconnect refused");
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
    let Some(d) = begin(
        "ed25519_rsa_pem_and_vagrant_keys_authenticate",
        "real sshd test host",
    ) else {
        return;
    };
    d.step("start a test host");
    let host = TestHost::start("keys");
    let project = tempfile::tempdir().unwrap();
    for key in [
        &host.key_path,
        &host.rsa_key_path,
        &host.rsa_pem_key_path,
        &host.vagrant_key_path,
    ] {
        for user in ["root", "vagrant"] {
            d.step(&format!("connect as {user} with {}", key.display()));
            let t = SshTransport::connect(config(&host, user, key, project.path()))
                .await
                .unwrap_or_else(|e| panic!("{} as {user}: {e}", key.display()));
            let out = t.exec(&run("id -un")).await.unwrap();
            assert_eq!(out.stdout_str(), format!("{user}\n"));
        }
    }
    d.step("an unknown key, then several keys");
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
    let Some(d) = begin(
        "dropped_connections_reconnect_and_retry_by_the_rule",
        "real sshd test host",
    ) else {
        return;
    };
    d.step("start a test host and connect");
    let host = TestHost::start("drop");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    assert!(t.exec(&run("true")).await.unwrap().success());
    d.step("idle connection killed, then an exec");

    // idle connection killed: the next exec reconnects and succeeds
    host.kill_sessions();
    let out = t.exec(&run("echo again")).await.unwrap();
    assert_eq!(out.stdout_str(), "again\n");
    let made = t.connections_made();
    assert!(made >= 2, "no reconnect happened ({made} connection)");

    d.step("killed mid-command, not idempotent");
    // killed mid-command, not idempotent: an error saying it may have run
    let cmd = run("touch /tmp/started1; sleep 30; echo done");
    let (res, ()) = tokio::join!(t.exec(&cmd), async {
        wait_for(&host.root.join("tmp/started1")).await;
        host.kill_sessions();
    });
    let err = res.unwrap_err();
    assert!(matches!(err, RemoteError::Interrupted { .. }), "{err}");
    assert!(err.to_string().contains("sleep 30"), "{err}");

    d.step("killed mid-command, idempotent");
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
    let Some(d) = begin("exec_waits_for_a_rebooting_host", "real sshd test host") else {
        return;
    };
    d.step("start a test host and connect");
    let host = TestHost::start("reboot");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    host.sh("echo kept > /root/kept");
    d.step("host stopped; an exec waits for its restart");
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
    let Some(d) = begin("a_killed_command_has_no_exit_status", "real sshd test host") else {
        return;
    };
    d.step("start a test host and connect");
    let host = TestHost::start("signal");
    let project = tempfile::tempdir().unwrap();
    let t = connect(&host, "root", project.path()).await;
    d.step("a command killed by SIGKILL");
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

/// How many logins sshd on `host` accepted (its own log, not the transport's
/// word).
fn accepted_logins(host: &TestHost) -> usize {
    std::fs::read_to_string(host.sshd_log())
        .unwrap_or_else(|e| panic!("{}: {e}", host.sshd_log().display()))
        .lines()
        .filter(|l| l.contains("Accepted publickey for root"))
        .count()
}

/// Latency figures for the report and bench/ (printed, never asserted: timed
/// goals do not belong in tests), taken from runs whose results are checked:
/// each command's own output comes back, a transport makes one connection,
/// and sshd on the host counts exactly the logins the transport says it made
/// (no hidden reconnects while 100 commands share one connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_report() {
    let Some(d) = begin("latency_report", "real sshd test host") else {
        return;
    };
    d.step("start a test host");
    let host = TestHost::start("latency");
    let project = tempfile::tempdir().unwrap();
    let logins_before = accepted_logins(&host);

    let n = 5;
    d.step(&format!("{n} connections, one command each"));
    let t0 = Instant::now();
    for i in 0..n {
        let t = connect(&host, "root", project.path()).await;
        let out = t
            .exec(&RemoteCommand::new("echo").arg(format!("conn-{i}")))
            .await
            .unwrap();
        assert_eq!(out.stdout_str(), format!("conn-{i}\n"));
        assert_eq!(t.connections_made(), 1);
        t.disconnect().await;
    }
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0 / n as f64;

    let m = 50;
    d.step(&format!("{m} commands in sequence over one connection"));
    let t = connect(&host, "root", project.path()).await;
    let t0 = Instant::now();
    for i in 0..m {
        let out = t
            .exec(&RemoteCommand::new("echo").arg(format!("seq-{i}")))
            .await
            .unwrap();
        assert_eq!((out.status, out.stdout_str()), (0, format!("seq-{i}\n")));
    }
    let seq_ms = t0.elapsed().as_secs_f64() * 1000.0 / m as f64;

    d.step(&format!("{m} commands at once over the same connection"));
    let cmds: Vec<RemoteCommand> = (0..m)
        .map(|i| RemoteCommand::new("echo").arg(format!("par-{i}")))
        .collect();
    let t0 = Instant::now();
    let outs = futures::future::join_all(cmds.iter().map(|c| t.exec(c))).await;
    let par_ms = t0.elapsed().as_secs_f64() * 1000.0 / m as f64;
    for (i, out) in outs.into_iter().enumerate() {
        let out = out.unwrap();
        assert_eq!((out.status, out.stdout_str()), (0, format!("par-{i}\n")));
    }
    assert_eq!(
        t.connections_made(),
        1,
        "{} commands, one connection",
        2 * m
    );
    t.disconnect().await;
    assert_eq!(
        accepted_logins(&host) - logins_before,
        n + 1,
        "logins sshd accepted: one per transport"
    );
    eprintln!(
        "LATENCY connect+auth+`echo`: {connect_ms:.1} ms; `echo` over an open connection: \
         {seq_ms:.1} ms sequential, {par_ms:.1} ms/command with {m} commands in flight"
    );
}
