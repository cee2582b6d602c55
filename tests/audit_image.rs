//! `vmbuild audit` end to end, on small images built here without a VM: a
//! staged root tree made into an ext4 partition of a raw disk (`sfdisk`,
//! `mkfs.ext4 -d`), then qcow2 and streamOptimized VMDK (`qemu-img`), OVA
//! and Vagrant box (the project's own export code) and a tar.gz box (`tar`).
//! The real binary audits each: the seeded image fails listing each seed,
//! the clean one passes, the image files are byte-identical afterwards, and
//! no loop device, mount, temp directory or storage daemon is left after
//! success, failure, Ctrl-C and SIGKILL.
//!
//! Needs root, qemu-img, qemu-storage-daemon, sfdisk, mkfs.ext4, /dev/fuse:
//! `VMBUILD_E2E=1 cargo test --test audit_image`.
#[path = "support/gate.rs"]
mod gate;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use vmbuild::export::{ExportRequest, Format, export_disk};
use vmbuild::process::SystemRunner;
use vmbuild::ui::Ui;

const VAGRANT_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";
const OWNER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp alice@laptop";

fn gated() -> bool {
    if !gate::e2e(
        "audit seeded images (root, qemu-img, qemu-storage-daemon, sfdisk, mkfs.ext4, /dev/fuse)",
    ) {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    gate::require(
        unsafe { libc::geteuid() } == 0,
        "root (the audit mounts images)",
    );
    true
}

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(root: &Path, rel: &str, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn test_cert(dir: &Path) -> String {
    let key = dir.join("ca.key");
    let cert = dir.join("ca.crt");
    sh(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=vmbuild test CA",
            "-days",
            "2",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ],
    );
    std::fs::read_to_string(cert).unwrap()
}

/// What every test image has: accounts with root locked, Debian's sudoers
/// with the hub admins' rule (group without members), the owner's key.
fn stage_clean(root: &Path, cert: &str) {
    write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nvagrant:x:1000:1000:,,,:/home/vagrant:/bin/bash\n",
        0o644,
    );
    write(
        root,
        "/etc/group",
        "root:x:0:\nsudo:x:27:\njupyterhub-admins:x:998:\nvagrant:x:1000:\n",
        0o644,
    );
    write(
        root,
        "/etc/shadow",
        "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nvagrant:!:19000:0:99999:7:::\n",
        0o640,
    );
    write(
        root,
        "/etc/sudoers",
        "Defaults\tenv_reset\nroot\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
        0o440,
    );
    write(
        root,
        "/etc/sudoers.d/README",
        "# files here are read by sudo\n",
        0o440,
    );
    write(
        root,
        "/etc/sudoers.d/jupyterhub-admins",
        "# vmbuild: hub admins administer the machine, as in TLJH.\n%jupyterhub-admins ALL = (ALL) NOPASSWD: ALL\n",
        0o440,
    );
    write(
        root,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
        0o644,
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/50-vmbuild-hardening.conf",
        "PermitRootLogin no\n",
        0o644,
    );
    write(
        root,
        "/etc/vmbuild/owner.json",
        &format!("{{\"ssh_keys\": [\"{OWNER_KEY}\"], \"admin_password\": \"per-instance\"}}\n"),
        0o644,
    );
    write(
        root,
        "/home/vagrant/.ssh/authorized_keys",
        &format!("{OWNER_KEY}\n"),
        0o600,
    );
    write(
        root,
        "/usr/share/ca-certificates/mozilla/Test_Root.crt",
        cert,
        0o644,
    );
    write(root, "/etc/ssl/certs/ca-certificates.crt", cert, 0o644);
    write(
        root,
        "/etc/pip.conf",
        "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n",
        0o644,
    );
    write(
        root,
        "/opt/tljh/hub/lib/python3.11/site-packages/tornado/test/test.key",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        0o644,
    );
}

/// The seeds: each must be one finding.
fn stage_seeds(root: &Path, dir: &Path, cert: &str) {
    write(
        root,
        "/home/vagrant/.ssh/authorized_keys",
        &format!("{OWNER_KEY}\n{VAGRANT_KEY}\n"),
        0o600,
    );
    write(
        root,
        "/etc/sudoers.d/vagrant",
        "vagrant ALL=(ALL) NOPASSWD: ALL\n",
        0o440,
    );
    write(
        root,
        "/usr/local/share/ca-certificates/vmbuild-extra.crt",
        cert,
        0o644,
    );
    let hk = dir.join("hostkey");
    sh(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "",
            "-f",
            hk.to_str().unwrap(),
        ],
    );
    write(
        root,
        "/etc/ssh/ssh_host_ed25519_key",
        &std::fs::read_to_string(&hk).unwrap(),
        0o600,
    );
    write(
        root,
        "/root/.bash_history",
        "sudo apt-get install nginx\n",
        0o600,
    );
    write(
        root,
        "/root/.cache/pip/http/a/b/c/0123456789",
        &"x".repeat(5000),
        0o644,
    );
    write(
        root,
        "/etc/apt/apt.conf.d/90vmbuild-proxy",
        "Acquire::http::Proxy \"http://10.0.2.2:3128\";\n",
        0o644,
    );
}

/// A raw disk with one ext4 partition holding `tree`.
fn make_raw(dir: &Path, name: &str, tree: &Path) -> PathBuf {
    let raw = dir.join(format!("{name}.raw"));
    std::fs::File::create(&raw)
        .unwrap()
        .set_len(96 << 20)
        .unwrap();
    let mut sf = Command::new("sfdisk")
        .args(["-q", raw.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sf.stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\nstart=2048, type=83\n")
        .unwrap();
    assert!(sf.wait().unwrap().success());
    sh(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-E",
            "offset=1048576",
            "-d",
            tree.to_str().unwrap(),
            raw.to_str().unwrap(),
            "94M",
        ],
    );
    raw
}

/// Every format the audit reads, from one raw disk.
fn all_formats(dir: &Path, raw: &Path, stem: &str) -> Vec<PathBuf> {
    let qcow2 = dir.join(format!("{stem}.qcow2"));
    sh(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            raw.to_str().unwrap(),
            qcow2.to_str().unwrap(),
        ],
    );
    let vmdk = dir.join(format!("{stem}.vmdk"));
    sh(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
            raw.to_str().unwrap(),
            vmdk.to_str().unwrap(),
        ],
    );
    let out = dir.join(format!("{stem}-builds"));
    let ui = Arc::new(Ui::silent());
    let runner = SystemRunner::new(Arc::clone(&ui), false);
    export_disk(
        &runner,
        &ui,
        &ExportRequest {
            disk: raw,
            out_dir: &out,
            stem,
            formats: &[Format::Ova, Format::Box],
            name: "audit test",
            cpus: 1,
            memory_mb: 512,
            box_vagrantfile: Some("Vagrant.configure(\"2\") do |c| end\n"),
        },
    )
    .unwrap();
    // a box as Packer's Vagrant post-processor writes it: tar.gz
    let gz_dir = dir.join(format!("{stem}-gz"));
    std::fs::create_dir_all(&gz_dir).unwrap();
    std::fs::copy(&qcow2, gz_dir.join("box.img")).unwrap();
    std::fs::write(
        gz_dir.join("metadata.json"),
        "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":1}",
    )
    .unwrap();
    let gz = dir.join(format!("{stem}-gz.box"));
    sh(
        "tar",
        &[
            "-czf",
            gz.to_str().unwrap(),
            "-C",
            gz_dir.to_str().unwrap(),
            "metadata.json",
            "box.img",
        ],
    );
    vec![
        raw.to_owned(),
        qcow2,
        vmdk,
        out.join(format!("{stem}.ova")),
        out.join(format!("{stem}.box")),
        gz,
    ]
}

fn sha256(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

fn audit_cmd(tmp: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmbuild"));
    c.arg("audit")
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("VMBUILD_CONFIG");
    c
}

fn audit(tmp: &Path, image: &Path) -> (Output, serde_json::Value) {
    let out = audit_cmd(tmp, &["--json", image.to_str().unwrap()])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn kinds_and_paths(v: &serde_json::Value, key: &str) -> BTreeSet<(String, String)> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` in {v}"))
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Nothing of an audit is left: temp dirs, mounts, loop devices, daemons
/// (each test gives its audits their own TMPDIR, `tmp`).
fn assert_nothing_left(tmp: &Path) {
    let ours = tmp.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dirs: Vec<_> = std::fs::read_dir(tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounted = mounts.lines().any(|l| l.contains(&ours));
        let loops = sh(
            "losetup",
            &["--list", "--noheadings", "--output", "BACK-FILE"],
        );
        let looped = loops.lines().any(|l| l.contains(&ours));
        let daemons = sh("ps", &["-eo", "args"]);
        let daemon = daemons
            .lines()
            .any(|l| l.contains("qemu-storage-daemon") && l.contains(&ours));
        if dirs.is_empty() && !mounted && !looped && !daemon {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: dirs {dirs:?}, mount {mounted}, loop {looped}, daemon {daemon}\n{loops}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Images {
    _dir: tempfile::TempDir,
    tmp: PathBuf,
    seeded: Vec<PathBuf>,
    clean: Vec<PathBuf>,
}

fn images() -> Images {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = test_cert(d);
    let clean_tree = d.join("clean-tree");
    stage_clean(&clean_tree, &cert);
    let seeded_tree = d.join("seeded-tree");
    stage_clean(&seeded_tree, &cert);
    stage_seeds(&seeded_tree, d, &cert);
    let clean_raw = make_raw(d, "clean", &clean_tree);
    let seeded_raw = make_raw(d, "seeded", &seeded_tree);
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    Images {
        tmp,
        seeded: all_formats(d, &seeded_raw, "seeded"),
        clean: all_formats(d, &clean_raw, "clean"),
        _dir: dir,
    }
}

#[test]
fn seeded_images_fail_listing_each_seed_and_clean_ones_pass_in_every_format() {
    if !gated() {
        return;
    }
    let deadline = gate::Deadline::arm("audit every format", Duration::from_secs(600));
    let im = images();
    let seeds: BTreeSet<(String, String)> = [
        ("authorized_key", "/home/vagrant/.ssh/authorized_keys"),
        ("nopasswd", "/etc/sudoers.d/vagrant"),
        (
            "build_ca",
            "/usr/local/share/ca-certificates/vmbuild-extra.crt",
        ),
        ("private_key", "/etc/ssh/ssh_host_ed25519_key"),
        ("history", "/root/.bash_history"),
        ("package_cache", "/root/.cache/pip"),
        ("build_proxy", "/etc/apt/apt.conf.d/90vmbuild-proxy"),
    ]
    .iter()
    .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
    .collect();
    let expected: BTreeSet<(String, String)> = [
        ("authorized_key", "/home/vagrant/.ssh/authorized_keys"),
        ("nopasswd", "/etc/sudoers.d/jupyterhub-admins"),
    ]
    .iter()
    .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
    .collect();
    for (image, clean) in im
        .seeded
        .iter()
        .map(|i| (i, false))
        .chain(im.clean.iter().map(|i| (i, true)))
    {
        deadline.step(&format!("auditing {}", image.display()));
        let before = sha256(image);
        let (out, json) = audit(&im.tmp, image);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(sha256(image), before, "{} changed", image.display());
        if clean {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {stderr}\n{json}",
                image.display()
            );
            assert_eq!(kinds_and_paths(&json, "findings"), BTreeSet::new());
        } else {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{}: {stderr}\n{json}",
                image.display()
            );
            assert_eq!(
                kinds_and_paths(&json, "findings"),
                seeds,
                "{}",
                image.display()
            );
            let vagrant = json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == "authorized_key")
                .unwrap();
            assert!(
                vagrant["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Vagrant's insecure key"),
                "{vagrant}"
            );
            assert!(
                json["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["kind"] == "package_cache" && f["size"] == 5000)
            );
        }
        assert_eq!(
            kinds_and_paths(&json, "expected"),
            expected,
            "{}",
            image.display()
        );
        // never a secret's content: the host key's body and the history's text stay out
        assert!(!json.to_string().contains("apt-get install nginx"));
        assert!(!json.to_string().contains("b3BlbnNzaC1rZXktdjE"));
        assert_nothing_left(&im.tmp);
    }
}

#[test]
fn human_output_and_report_file() {
    if !gated() {
        return;
    }
    let _deadline = gate::Deadline::arm("audit report", Duration::from_secs(300));
    let im = images();
    let report = im.tmp.parent().unwrap().join("report.json");
    let out = audit_cmd(
        &im.tmp,
        &[
            "--report",
            report.to_str().unwrap(),
            im.seeded[1].to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with(
            "/etc/sudoers.d/vagrant: NOPASSWD sudo: line 1: `vagrant ALL=(ALL) NOPASSWD: ALL` — "
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("7 finding(s): must not ship as it is"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 7);
    assert!(String::from_utf8_lossy(&out.stderr).contains("7 finding(s)"));
    assert_nothing_left(&im.tmp);
}

#[test]
fn bad_input_is_exit_2_and_leaves_nothing() {
    if !gated() {
        return;
    }
    let _deadline = gate::Deadline::arm("audit bad input", Duration::from_secs(300));
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let empty_tree = dir.path().join("tree");
    write(
        &empty_tree,
        "/data/readme",
        "no root filesystem here\n",
        0o644,
    );
    let no_root = make_raw(dir.path(), "data", &empty_tree);
    let vdi = dir.path().join("x.vdi");
    sh(
        "qemu-img",
        &["create", "-q", "-f", "vdi", vdi.to_str().unwrap(), "16M"],
    );
    for (image, says) in [
        (dir.path().join("missing.qcow2"), "cannot open image"),
        (text, "is not a disk image"),
        (vdi, "a VDI disk is not supported"),
        (no_root.clone(), "no Linux root filesystem found"),
    ] {
        let before = image.exists().then(|| sha256(&image));
        let out = audit_cmd(&tmp, &[image.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", image.display());
        assert!(stderr.contains(says), "{stderr}");
        assert_eq!(image.exists().then(|| sha256(&image)), before);
        assert_nothing_left(&tmp);
    }
}

/// A seeded image with many files, so that the scan runs long enough to be
/// interrupted; returns (image, temp dir for the audit).
fn slow_image(dir: &Path) -> PathBuf {
    let cert = test_cert(dir);
    let tree = dir.join("tree");
    stage_clean(&tree, &cert);
    stage_seeds(&tree, dir, &cert);
    for i in 0..40 {
        for j in 0..500 {
            write(
                &tree,
                &format!("/srv/many/{i}/{j}.txt"),
                "a line of harmless text\n",
                0o644,
            );
        }
    }
    let raw = make_raw(dir, "slow", &tree);
    let qcow2 = dir.join("slow.qcow2");
    sh(
        "qemu-img",
        &[
            "convert",
            "-c",
            "-f",
            "raw",
            "-O",
            "qcow2",
            raw.to_str().unwrap(),
            qcow2.to_str().unwrap(),
        ],
    );
    qcow2
}

/// Start an audit and wait until its storage daemon runs (the caller waits
/// for the child).
#[allow(clippy::zombie_processes)]
fn start_audit(tmp: &Path, image: &Path) -> (std::process::Child, i32) {
    let mut child = audit_cmd(tmp, &[image.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pid = std::fs::read_dir(tmp)
            .unwrap()
            .flatten()
            .find_map(|e| std::fs::read_to_string(e.path().join("qsd.pid")).ok())
            .and_then(|p| p.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            return (child, pid);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the audit never started its storage daemon: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_c_and_sigkill_leave_nothing_behind() {
    if !gated() {
        return;
    }
    let deadline = gate::Deadline::arm("audit interrupted", Duration::from_secs(600));
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let image = slow_image(dir.path());
    let before = sha256(&image);

    deadline.step("Ctrl-C during the scan");
    let (child, _) = start_audit(&tmp, &image);
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_left(&tmp);

    deadline.step("SIGKILL during the scan: the orphan guard cleans up");
    let (mut child, daemon) = start_audit(&tmp, &image);
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_nothing_left(&tmp);
    let stat = std::fs::read_to_string(format!("/proc/{daemon}/stat")).unwrap_or_default();
    let alive = stat
        .rsplit_once(')')
        .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'));
    assert!(!alive, "the storage daemon outlived vmbuild: {stat}");
    assert_eq!(sha256(&image), before);
}
