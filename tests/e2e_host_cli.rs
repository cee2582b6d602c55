//! `vmbuild provision --host` and `vmbuild hub --host` against a real sshd
//! test host (tests/support/testhost.sh): the host key is shown when it is
//! trusted on first use and refused under `--strict`; `hub set` sends its
//! value on stdin, so it is in no process's argv on the host.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/testhost.rs"]
mod testhost;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testhost::TestHost;

/// Run the real `vmbuild ARGS` in `dir`, feeding `stdin`.
fn vmbuild(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vmbuild");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    eprintln!(
        "vmbuild {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `SHA256:…` of the host's ed25519 host key, by `ssh-keygen -lf`.
fn host_fingerprint(host: &TestHost) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(host.root.join("etc/ssh/ssh_host_ed25519_key.pub"))
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_owned()
}

#[test]
fn provision_shows_a_new_host_key_and_strict_refuses_it() {
    if !gate::e2e("a real sshd test host (root, namespaces)") {
        return;
    }
    let deadline = gate::Deadline::arm("provision_host_keys", Duration::from_secs(600));
    deadline.step("starting the test host");
    let host = TestHost::start("hostkeys");
    let fp = host_fingerprint(&host);
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("marker.toml");
    std::fs::write(
        &recipe,
        "[[resource]]\nname = \"marker\"\ntype = \"file\"\npath = \"/root/marker\"\ncontent = \"ok\\n\"\n",
    )
    .unwrap();
    let target = format!("root@{}:{}", host.addr, host.port);
    let key = host.key_path.display().to_string();
    let recipe = recipe.display().to_string();
    let provision = |kh: &str, extra: &[&str]| {
        let mut a = vec![
            "provision",
            "--host",
            &target,
            "--key",
            &key,
            "--known-hosts",
            kh,
        ];
        a.extend_from_slice(extra);
        a.push(&recipe);
        vmbuild(dir.path(), &a, "")
    };

    deadline.step("--strict with an empty known_hosts");
    let out = provision("kh-strict", &["--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("({fp}) is not in kh-strict")),
        "{stderr}"
    );
    let hint = format!("ssh-keyscan -p {} 127.0.0.1 >> kh-strict", host.port);
    assert!(stderr.contains(&format!("`{hint}`")), "{stderr}");
    assert!(!dir.path().join("kh-strict").exists());
    assert!(!host.root.join("root/marker").exists());

    deadline.step("the suggested ssh-keyscan line, then --strict again");
    let scan = Command::new("sh")
        .arg("-c")
        .arg(&hint)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(scan.status.success(), "{scan:?}");
    let out = provision("kh-strict", &["--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("trusted the new host key"));

    deadline.step("trust on first use shows the fingerprint once");
    let out = provision("kh-tofu", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expected = format!(
        "trusted the new host key of [127.0.0.1]:{} on first use: ssh-ed25519 {fp} (recorded in kh-tofu;",
        host.port
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&expected),
        "{}",
        text(&out)
    );
    let out = provision("kh-tofu", &["--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("trusted the new host key"));
}

/// Installs recipes/files/tljh-config.py as the appliance does, with a
/// `systemctl` stand-in (this host has no init system) that records the
/// command line of every process on the host while `tljh-config` runs.
fn install_tljh_config(host: &TestHost) {
    let root = &host.root;
    std::fs::create_dir_all(root.join("opt/tljh/hub/bin")).unwrap();
    std::fs::create_dir_all(root.join("opt/tljh/config")).unwrap();
    std::fs::write(root.join("opt/tljh/config/settings.json"), "{}\n").unwrap();
    std::os::unix::fs::symlink("/usr/bin/python3", root.join("opt/tljh/hub/bin/python3")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/recipes/files/tljh-config.py");
    std::fs::copy(script, root.join("usr/local/sbin/tljh-config")).unwrap();
    std::fs::write(
        root.join("usr/local/sbin/systemctl"),
        "#!/bin/sh\nfor f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < \"$f\" 2>/dev/null; echo; done > /root/argv-during-set.txt\n",
    )
    .unwrap();
    host.sh("chmod 0755 /usr/local/sbin/tljh-config /usr/local/sbin/systemctl");
}

#[test]
fn hub_set_sends_a_secret_on_stdin_and_never_prints_it() {
    if !gate::e2e("a real sshd test host (root, namespaces)") {
        return;
    }
    let deadline = gate::Deadline::arm("hub_set_stdin", Duration::from_secs(600));
    deadline.step("starting the test host");
    let host = TestHost::start("hubset");
    install_tljh_config(&host);
    let dir = tempfile::tempdir().unwrap();
    // as `vagrant`, so through sudo as on the appliance
    let target = format!("vagrant@{}:{}", host.addr, host.port);
    let key = host.key_path.display().to_string();
    let hub = |args: &[&str], stdin: &str| {
        let mut a = vec![
            "hub",
            "--host",
            &target,
            "--key",
            &key,
            "--known-hosts",
            "kh",
        ];
        a.extend_from_slice(args);
        vmbuild(dir.path(), &a, stdin)
    };
    const SECRET: &str = "cs-S3CRET-4f9a";

    deadline.step("hub set client_secret - (from stdin)");
    let out = hub(
        &["set", "authenticator_settings.client_secret", "-"],
        &format!("{SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(SECRET), "{}", text(&out));
    let local: serde_json::Value =
        serde_json::from_str(&host.sh("cat /opt/tljh/config/local.json"))
            .expect("local.json is JSON");
    assert_eq!(local["authenticator_settings"]["client_secret"], SECRET);
    let argv = host.sh("cat /root/argv-during-set.txt");
    assert!(
        argv.contains("tljh-config set authenticator_settings.client_secret -"),
        "the capture must see tljh-config itself:\n{argv}"
    );
    assert!(
        !argv.contains(SECRET),
        "the value is in a process's argv:\n{argv}"
    );

    deadline.step("hub set with the value as an argument still goes on stdin");
    let out = hub(
        &["set", "authenticator_settings.api_token", "tok-ARGV-77aa"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !host
            .sh("cat /root/argv-during-set.txt")
            .contains("tok-ARGV-77aa")
    );

    deadline.step("hub show masks it; a bad value is exit 2");
    let out = hub(&["show"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(shown["authenticator_settings"]["client_secret"], "********");
    let out = hub(&["set", "mem_limit", "-"], "lots\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
