//! Acceptance test of the appliance (issue 4), under software emulation:
//! 1. `vmbuild -p` makes (or reuses) the base box in a persistent scratch
//!    project; its disk boots under qemu (TCG) behind a throwaway overlay,
//!    with a host folder shared over 9p;
//! 2. `vmbuild provision` (no recipe named: the built-in appliance) with a
//!    lean config provisions it over SSH; the generated admin password is in
//!    the project's work dir and in no output or log;
//! 3. from outside, through nginx on :443 (tests/support/hub_check.py), trusting
//!    the instance's own certificate by its fingerprint: the
//!    login page, a wrong password refused, the admin's login, an API token,
//!    the admin's server started, `print(1+1)` in python3 and `1+1` in R over
//!    the kernel websocket, and the shared file read from the server;
//! 4. on the VM: the user's systemd unit has MemoryMax of 1G; the shared
//!    folder is a 9p mount in fstab;
//! 5. `vmbuild hub set` changes a setting (validated on the VM) and a bad key
//!    exits 2;
//! 6. a second provisioning run reports 0 changed.
//!
//! Timings are printed as MEASURED lines. Gated by `VMBUILD_E2E=1`
//! (tests/support/gate.rs); needs root. On its deadline's expiry it names
//! the last command and shows the guest's console.
#[path = "support/base_box.rs"]
mod base_box;
#[path = "support/gate.rs"]
mod gate;
#[path = "support/vm.rs"]
mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = "/var/cache/vmbuild-test/appliance";

/// The whole test: a base box (~7 min cold, seconds when cached), boot
/// (~1 min), the lean appliance (~15-25 min under TCG), the hub checks and a
/// second run; generous for a cold mirror and a busy machine.
const DEADLINE: Duration = Duration::from_secs(80 * 60);

fn box_project() -> PathBuf {
    let dir = Path::new(ROOT).join("box-project");
    std::fs::create_dir_all(dir.join("builds")).unwrap();
    std::fs::write(dir.join("vmbuild.toml"), base_box::BOX_CONFIG).unwrap();
    base_box::share_caches(&dir);
    dir
}

fn vmbuild(dir: &Path, args: &[&str]) -> Output {
    gate::step(&format!("vmbuild {}", args.join(" ")));
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "--- vmbuild {}: exit {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn base_box() -> PathBuf {
    let dir = box_project();
    let _l = base_box::lock_cache();
    let t = Instant::now();
    let out = vmbuild(&dir, &["-p"]);
    assert_eq!(out.status.code(), Some(0), "vmbuild -p failed");
    eprintln!(
        "MEASURED vmbuild -p (build or cache hit): {:.0} s",
        t.elapsed().as_secs_f64()
    );
    dir.join("builds/e2e-base-libvirt.box")
}

/// requests + websocket-client for the hub checker, in a cached venv.
fn checker_python() -> PathBuf {
    let venv = Path::new(ROOT).join("checker-venv");
    let py = venv.join("bin/python3");
    let ready = venv.join(".ready-1");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "python3 -m venv (apt-get install python3-venv)"
        );
        let ok = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(["requests==2.34.2", "websocket-client==1.9.2"])
            .status()
            .unwrap();
        assert!(ok.success(), "pip install requests websocket-client");
        std::fs::write(&ready, "").unwrap();
    }
    py
}

/// The machine's extra CA certificates (TLS to the registries is
/// intercepted on CI machines): the appliance's `proxy.extra_ca_certs`.
fn extra_cas() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/usr/local/share/ca-certificates")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

fn ssh(key: &Path, port: u16, remote: &str) -> String {
    ssh_with_input(key, port, remote, b"")
}

fn ssh_with_input(key: &Path, port: u16, remote: &str, input: &[u8]) -> String {
    use std::io::Write;
    gate::step(&format!("ssh to the guest: {remote}"));
    let mut child = Command::new("ssh")
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg("-i")
        .arg(key)
        .args(["-p", &port.to_string(), "vagrant@127.0.0.1", remote])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn changed_count(report: &Path) -> usize {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    ["resources", "handlers"]
        .iter()
        .flat_map(|k| v[k].as_array().cloned().unwrap_or_default())
        .filter(|o| o["status"] == "changed" || o["status"] == "failed")
        .inspect(|o| eprintln!("not converged: {} {}", o["label"], o["reason"]))
        .count()
}

#[test]
fn appliance_provisions_serves_the_hub_and_converges() {
    if !gate::e2e("provisions the JupyterHub appliance in a TCG VM (~15-25 min)") {
        return;
    }
    gate::require_root("the base box's debootstrap builder");
    let d = gate::Deadline::arm(
        "appliance_provisions_serves_the_hub_and_converges",
        DEADLINE,
    );
    std::fs::create_dir_all(ROOT).unwrap();
    let _l = base_box::lock(&Path::new(ROOT).join(".lock"));
    let box_file = base_box();
    let scratch = tempfile::tempdir_in("/var/tmp").unwrap();
    let s = scratch.path();
    let ok = Command::new("tar")
        .arg("-xzf")
        .arg(&box_file)
        .arg("-C")
        .arg(s)
        .arg("box.img")
        .status()
        .unwrap();
    assert!(ok.success(), "box.img out of the box");
    vm::overlay(&s.join("box.img"), &s.join("disk.qcow2"));
    let data = s.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "hello from the host\n").unwrap();
    let (ssh_port, http_port, https_port) = (vm::free_port(), vm::free_port(), vm::free_port());
    let guest = vm::Vm::boot(&vm::VmSpec {
        hardware: vm::Hardware::Virtio,
        disk: &s.join("disk.qcow2"),
        memory_mb: 2048,
        cpus: 2,
        forwards: vec![(ssh_port, 22), (http_port, 80), (https_port, 443)],
        share: Some((data.clone(), "vmbuild_data".into(), true)),
        serial: s.join("serial.log"),
        snapshot: false,
    });
    let serial = guest.serial.clone();
    d.context("guest console", move || vm::tail(&serial, 3000));
    d.step("boot the base box's disk to SSH");
    let booted = guest.wait_for_ssh(ssh_port, Duration::from_secs(600));
    eprintln!("MEASURED boot to SSH: {:.0} s", booted.as_secs_f64());
    let key = vm::vagrant_insecure_key(s);

    // the appliance project: no recipes/ of its own, so the built-in set
    let app = s.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let cas: Vec<String> = extra_cas().iter().map(|c| format!("{c:?}")).collect();
    std::fs::write(
        app.join("vmbuild.toml"),
        format!(
            "name = \"appliance-e2e\"\n\
             [python]\npackages = []\n\
             [r]\napt_packages = []\n\
             [shared_data]\nhost_dir = {:?}\nkind = \"9p\"\n\
             [proxy]\nextra_ca_certs = [{}]\n",
            data.display().to_string(),
            cas.join(", ")
        ),
    )
    .unwrap();
    let host = format!("vagrant@127.0.0.1:{ssh_port}");
    let key_s = key.display().to_string();
    let kh = s.join("known_hosts").display().to_string();
    let provision = |report: &str, log: &str| {
        let t = Instant::now();
        let out = vmbuild(
            &app,
            &[
                "provision",
                "-l",
                log,
                "--host",
                &host,
                "--key",
                &key_s,
                "--known-hosts",
                &kh,
                "--report",
                report,
            ],
        );
        (out, t.elapsed())
    };
    let (out, took) = provision("first.json", "first.log");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() != Some(0) {
        let journal = ssh(&key, ssh_port, "sudo journalctl -n 80 --no-pager");
        panic!("first provisioning failed; guest journal:\n{journal}");
    }
    eprintln!(
        "MEASURED first provisioning (lean config): {:.0} s",
        took.as_secs_f64()
    );

    // the generated password: kept 0600 in the work dir, never printed or logged
    let pw_file = app.join(".vmbuild/admin-password");
    let password = std::fs::read_to_string(&pw_file).unwrap().trim().to_owned();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = std::fs::read_to_string(app.join("first.log")).unwrap();
    let report = std::fs::read_to_string(app.join("first.json")).unwrap();
    for (what, text) in [("output", &printed), ("log", &log), ("report", &report)] {
        assert!(
            !text.contains(&password),
            "the admin password is in the {what}"
        );
    }
    assert!(
        printed.contains("admin-password"),
        "the run says where the password is"
    );
    d.step("the hub from outside: wait for the login page, then hub_check.py");

    // the hub, from outside through nginx, over HTTPS with the certificate
    // this machine made for itself
    let fingerprint = ssh(
        &key,
        ssh_port,
        "sudo openssl x509 -noout -fingerprint -sha256 -in /etc/tljh/tls/instance-cert.pem | cut -d= -f2",
    )
    .trim()
    .to_owned();
    assert_eq!(
        fingerprint.len(),
        95,
        "instance certificate: {fingerprint:?}"
    );
    let py = checker_python();
    let base = format!("https://127.0.0.1:{https_port}");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let code = Command::new("curl")
            .args([
                "-sk",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{base}/hub/login"),
            ])
            .output()
            .unwrap();
        if code.stdout == b"200" {
            break;
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    let redirect = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .arg(format!("http://127.0.0.1:{http_port}/hub/login"))
        .output()
        .unwrap();
    let redirect = String::from_utf8_lossy(&redirect.stdout).into_owned();
    assert!(redirect.starts_with("301 https://"), "port 80: {redirect}");
    let t = Instant::now();
    let check = Command::new(&py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/hub_check.py"))
        .args([
            &fingerprint,
            &base,
            "admin",
            &password,
            "shared_data/hello.txt",
            "hello from the host",
        ])
        .status()
        .unwrap();
    if !check.success() {
        let journal = ssh(
            &key,
            ssh_port,
            "sudo journalctl -u jupyterhub -u 'jupyter-*' -n 120 --no-pager",
        );
        panic!("hub checks failed; hub journal:\n{journal}");
    }
    eprintln!("MEASURED hub checks: {:.0} s", t.elapsed().as_secs_f64());

    // cloud-init (the guest's own) accepts vmbuild's snippets
    let schema = ssh(
        &key,
        ssh_port,
        "for f in /etc/cloud/cloud.cfg.d/9*-vmbuild*.cfg; do { echo '#cloud-config'; cat $f; } > /tmp/cc.yaml && cloud-init schema --config-file /tmp/cc.yaml || exit 1; done",
    );
    assert_eq!(schema.matches("Valid cloud-config").count(), 3, "{schema}");

    // every authenticator vmbuild offers loads with the pinned hub packages
    let script = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/hub_config_check.py"),
    )
    .unwrap();
    let auth = ssh_with_input(
        &key,
        ssh_port,
        "sudo /opt/tljh/hub/bin/python - /opt/tljh/config/jupyterhub_config.py",
        &script,
    );
    eprintln!("{auth}");
    assert_eq!(
        auth.matches(" ok").count(),
        8,
        "authenticator configs:\n{auth}"
    );

    // on the VM: limits and the mount
    let mem = ssh(
        &key,
        ssh_port,
        "systemctl show -p MemoryMax --value jupyter-admin",
    );
    assert_eq!(
        mem.trim(),
        "1073741824",
        "the user's unit carries the 1G memory limit"
    );
    let fstab = ssh(
        &key,
        ssh_port,
        "grep vmbuild_data /etc/fstab; findmnt -n -o FSTYPE /srv/data",
    );
    assert!(
        fstab.contains("9p") && fstab.lines().count() == 2,
        "{fstab}"
    );
    let used = ssh(
        &key,
        ssh_port,
        "df -B1M --output=used / | tail -1; du -sm /opt/tljh | cut -f1",
    );
    eprintln!(
        "MEASURED disk used (MiB): / and /opt/tljh: {}",
        used.split_whitespace().collect::<Vec<_>>().join(" and ")
    );

    // tljh-config through `vmbuild hub`
    let hub = |args: &[&str]| {
        let mut a = vec![
            "hub",
            "--host",
            &host,
            "--key",
            &key_s,
            "--known-hosts",
            &kh,
        ];
        a.extend_from_slice(args);
        vmbuild(&app, &a)
    };
    assert_eq!(
        hub(&["set", "idle_timeout_secs", "1800"]).status.code(),
        Some(0)
    );
    let shown = hub(&["show"]);
    let settings: serde_json::Value =
        serde_json::from_slice(&shown.stdout).expect("`hub show` prints JSON on stdout");
    assert_eq!(settings["idle_timeout_secs"], 1800);
    assert_eq!(settings["tls_fingerprint_sha256"], fingerprint.as_str());
    assert_eq!(settings["mem_limit"], "1G");
    assert_eq!(hub(&["set", "no_such_key", "1"]).status.code(), Some(2));
    assert_eq!(hub(&["set", "mem_limit", "lots"]).status.code(), Some(2));

    // converged: a second run changes nothing
    let (out, took) = provision("second.json", "second.log");
    assert_eq!(out.status.code(), Some(0), "second provisioning run failed");
    eprintln!(
        "MEASURED no-op provisioning run: {:.1} s",
        took.as_secs_f64()
    );
    assert_eq!(
        changed_count(&app.join("second.json")),
        0,
        "second run changed something"
    );
    drop(guest);
}
