//! `vmbuild upload` against a real Keystone and Glance (Debian's packages) on
//! loopback: direct upload, re-run, glance-direct import with an application
//! credential, bad credentials, Ctrl-C and Glance killed mid-transfer, and
//! the `auto` method falling back to import when policy forbids uploads.
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); needs the packages of
//! scripts/deps/openstack.txt. On a deadline's expiry it names its step and
//! shows the services' log tails.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/openstack.rs"]
mod openstack;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use openstack::OpenStack;

/// A real qcow2 (Glance may inspect it) with `mib` MiB of patterned data.
fn make_qcow2(path: &Path, mib: u64) {
    let ok = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(format!("{}M", mib + 16))
        .status()
        .expect("qemu-img")
        .success();
    assert!(ok, "qemu-img create");
    // Several patterns, so the data is not one repeated block.
    let step = (mib / 4).max(1);
    for (i, pattern) in ["0x5a", "0xa5", "0x3c", "0xc3"].iter().enumerate() {
        let off = i as u64 * step;
        if off >= mib {
            break;
        }
        let ok = Command::new("qemu-io")
            .args(["-f", "qcow2", "-c"])
            .arg(format!("write -q -P {pattern} {off}M {step}M"))
            .arg(path)
            .status()
            .expect("qemu-io")
            .success();
        assert!(ok, "qemu-io write");
    }
}

/// A work directory with a vmbuild.toml choosing the upload method.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new(method: &str) -> Work {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("vmbuild.toml"),
            format!("[openstack]\nupload_method = \"{method}\"\n[openstack.properties]\nhw_scsi_model = \"virtio-scsi\"\n"),
        )
        .expect("write vmbuild.toml");
        Work { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `vmbuild upload` here, with the stack's clouds.yaml.
    fn upload_cmd(&self, clouds: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vmbuild"));
        cmd.current_dir(self.path())
            .arg("upload")
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", clouds)
            .env_remove("OS_CLOUD")
            .env_remove("OS_AUTH_URL")
            .env("HOME", self.path());
        cmd
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn upload(work: &Work, os: &OpenStack, args: &[&str]) -> Output {
    work.upload_cmd(&os.clouds_yaml(), args)
        .output()
        .expect("run vmbuild")
}

fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

fn sha512_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(data))
}

fn assert_stored(os: &OpenStack, id: &str, local: &Path) {
    let data = std::fs::read(local).expect("read local image");
    let img = os.image(id);
    assert_eq!(img["status"], "active", "{img}");
    assert_eq!(img["size"], data.len() as u64);
    assert_eq!(img["checksum"], md5_hex(&data));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], sha512_hex(&data));
    assert_eq!(img["disk_format"], "qcow2");
    assert_eq!(img["container_format"], "bare");
    assert_eq!(img["os_distro"], "debian");
    assert_eq!(img["os_version"], "12");
    assert_eq!(img["hw_disk_bus"], "virtio");
    assert_eq!(img["hw_scsi_model"], "virtio-scsi");
    assert_eq!(img["min_disk"], 20);
    assert_eq!(img["min_ram"], 2048);
    assert!(
        os.download(id) == data,
        "downloaded bytes differ from the local file"
    );
}

#[test]
fn upload_to_real_glance() {
    if !gate::e2e("real Keystone + Glance (Debian packages keystone, glance-api)") {
        return;
    }
    for program in ["keystone-manage", "glance-api", "uwsgi"] {
        gate::require_program(program, "--help", "scripts/deps/openstack.txt");
    }
    // the stack starts in ~30 s, the uploads take seconds to a minute
    let d = gate::Deadline::arm("upload_to_real_glance", Duration::from_secs(15 * 60));
    d.step("start Keystone and Glance");
    let started = Instant::now();
    let os = OpenStack::start("upload");
    eprintln!("stack up in {:.1} s", started.elapsed().as_secs_f64());
    let work = Work::new("upload");
    let img = work.path().join("small.qcow2");
    make_qcow2(&img, 8);
    let img_arg = img.to_str().expect("utf-8 path");

    d.step("direct upload, password auth");
    // Direct upload, password auth.
    let out = upload(
        &work,
        &os,
        &[img_arg, "--cloud", "test", "--name", "e2e-direct"],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "upload failed: {stderr}");
    assert!(!stderr.contains("secret"), "password leaked: {stderr}");
    let id = text(&out.stdout).trim().to_owned();
    assert_stored(&os, &id, &img);
    assert_eq!(os.ids_named("e2e-direct"), vec![id.clone()]);

    d.step("the same upload again");
    // A re-run changes nothing.
    let out = upload(
        &work,
        &os,
        &[img_arg, "--cloud", "test", "--name", "e2e-direct"],
    );
    assert!(out.status.success(), "re-run failed: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), id);
    assert!(
        text(&out.stderr).contains("nothing to upload"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(os.ids_named("e2e-direct"), vec![id]);

    d.step("glance-direct import with an application credential");
    // glance-direct import with an application credential (cloud from OS_CLOUD).
    let import_work = Work::new("import");
    let out = import_work
        .upload_cmd(&os.clouds_yaml(), &[img_arg, "--name", "e2e-import"])
        .env("OS_CLOUD", "test-appcred")
        .output()
        .expect("run vmbuild");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "import failed: {stderr}");
    assert!(stderr.contains("waiting for Glance to import"), "{stderr}");
    let id = text(&out.stdout).trim().to_owned();
    assert_stored(&os, &id, &img);

    d.step("a wrong password");
    // Wrong password: exit 1, a clear message, the password masked.
    let bad = work.path().join("bad-clouds.yaml");
    let yaml = std::fs::read_to_string(os.clouds_yaml()).expect("clouds.yaml");
    std::fs::write(
        &bad,
        yaml.replace("password: secret", "password: not-the-password"),
    )
    .expect("write");
    let out = work
        .upload_cmd(&bad, &[img_arg, "--cloud", "test", "--name", "e2e-badpw"])
        .output()
        .expect("run vmbuild");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("check the credentials"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-password"),
        "password leaked: {stderr}"
    );
    assert!(os.ids_named("e2e-badpw").is_empty());

    let big = work.path().join("big.qcow2");
    make_qcow2(&big, 256);
    d.step("Ctrl-C mid-transfer");
    interrupted_upload_is_cleaned_up(&os, &work, &big);
    d.step("Glance killed mid-transfer");
    killed_mid_transfer_leaves_nothing(&os, &work, &big);
    d.step("`auto` when direct uploads are forbidden");
    auto_falls_back_to_import_when_upload_is_forbidden(&os, &img);
    eprintln!("e2e_glance total {:.1} s", started.elapsed().as_secs_f64());
}

/// Start uploading `image` as `name` and call `act` once Glance's store has
/// a few MiB of it; then wait for vmbuild. Fails if the upload ends first.
fn disturb_upload(
    os: &OpenStack,
    work: &Work,
    image: &Path,
    name: &str,
    act: impl FnOnce(u32),
) -> Output {
    let before = store_files(&os.image_store());
    let child = work
        .upload_cmd(
            &os.clouds_yaml(),
            &[
                image.to_str().expect("utf-8"),
                "--cloud",
                "test",
                "--name",
                name,
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vmbuild");
    let mut child = ChildGuard(Some(child));
    loop {
        let c = child.0.as_mut().expect("child");
        if let Some(status) = c.try_wait().expect("try_wait") {
            panic!("upload ended ({status}) before the test could disturb it");
        }
        if new_data_bytes(&os.image_store(), &before) > 4 << 20 {
            act(c.id());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child
        .0
        .take()
        .expect("child")
        .wait_with_output()
        .expect("wait vmbuild")
}

/// Kills vmbuild if the test panics while it runs.
struct ChildGuard(Option<std::process::Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Ctrl-C mid-transfer: exit 130 and the half-created image deleted.
fn interrupted_upload_is_cleaned_up(os: &OpenStack, work: &Work, big: &Path) {
    let out = disturb_upload(os, work, big, "e2e-interrupted", |pid| {
        let ok = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -INT");
    });
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("was deleted"),
        "{stderr}"
    );
    assert!(
        os.ids_named("e2e-interrupted").is_empty(),
        "image left behind: {:?}",
        os.images()
    );
}

/// Glance is SIGKILLed while the data streams in, then restarted: vmbuild
/// exits 1, says what failed, and deletes the half-created image.
fn killed_mid_transfer_leaves_nothing(os: &OpenStack, work: &Work, big: &Path) {
    let out = disturb_upload(os, work, big, "e2e-killed", |_| {
        os.kill_glance();
        os.start_glance();
    });
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("PUT http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("/file failed"), "{stderr}");
    assert!(stderr.contains("was deleted"), "{stderr}");
    assert!(
        os.ids_named("e2e-killed").is_empty(),
        "image left behind: {:?}",
        os.images()
    );
}

/// A cloud whose policy forbids direct uploads (`upload_image: "!"`; the
/// stage call is governed by `modify_image`): `auto` switches to import.
fn auto_falls_back_to_import_when_upload_is_forbidden(os: &OpenStack, img: &Path) {
    std::fs::write(os.base.join("etc/policy.yaml"), "\"upload_image\": \"!\"\n")
        .expect("policy.yaml");
    os.kill_glance();
    os.start_glance();
    let work = Work::new("auto");
    let out = upload(
        &work,
        os,
        &[
            img.to_str().expect("utf-8"),
            "--cloud",
            "test",
            "--name",
            "e2e-auto",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "auto upload failed: {stderr}");
    assert!(
        stderr.contains("direct upload refused (HTTP 403)"),
        "{stderr}"
    );
    assert_stored(os, text(&out.stdout).trim(), img);
    assert_eq!(os.ids_named("e2e-auto").len(), 1);
}

fn store_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

/// The size of the largest file in `dir` that is not in `before`.
fn new_data_bytes(dir: &Path, before: &[PathBuf]) -> u64 {
    store_files(dir)
        .iter()
        .filter(|p| !before.contains(p))
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}
