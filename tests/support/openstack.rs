//! A throwaway Keystone + Glance on loopback (`support/openstack/start.sh`),
//! torn down (processes stopped, state removed) when the guard drops, or
//! when the `gate::Deadline` armed on the test's thread expires (Keystone's
//! uwsgi daemonizes: it would outlive the test binary). The including test
//! crate declares `mod gate` (support/gate.rs) too.
#![allow(dead_code)]
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::gate;

/// A running stack. Drop stops it and deletes its state directory.
pub struct OpenStack {
    /// State directory (configs, sqlite, image store, logs).
    pub base: PathBuf,
    /// Keystone's port on 127.0.0.1.
    pub keystone_port: u16,
    /// Glance's port on 127.0.0.1.
    pub glance_port: u16,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/openstack")
}

/// A free loopback port (the kernel's pick; released before use, so a
/// parallel run could in theory take it: start.sh then fails loudly).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl OpenStack {
    /// Start Keystone and Glance on free ports under a fresh directory in /tmp.
    pub fn start(tag: &str) -> OpenStack {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base =
            std::env::temp_dir().join(format!("vmbuild-os-{tag}-{}-{nanos}", std::process::id()));
        let keystone_port = free_port();
        let mut glance_port = free_port();
        while glance_port == keystone_port {
            glance_port = free_port();
        }
        let os = OpenStack {
            base,
            keystone_port,
            glance_port,
        };
        // The guard exists before start.sh runs, so a failed start is cleaned up too.
        let base = os.base.clone();
        gate::cleanup_on_expiry(move || {
            let _ = Command::new(scripts().join("stop.sh")).arg(&base).status();
        });
        let logs = os.base.join("log");
        gate::context_on_expiry("Keystone and Glance logs (tails)", move || {
            let mut text = String::new();
            for e in std::fs::read_dir(&logs).into_iter().flatten().flatten() {
                let b = std::fs::read(e.path()).unwrap_or_default();
                text += &format!(
                    "== {}\n{}\n",
                    e.path().display(),
                    String::from_utf8_lossy(&b[b.len().saturating_sub(1500)..])
                );
            }
            text
        });
        run(Command::new(scripts().join("start.sh"))
            .arg(&os.base)
            .arg(keystone_port.to_string())
            .arg(glance_port.to_string()));
        os
    }

    /// The clouds.yaml start.sh wrote (clouds `test` and `test-appcred`).
    pub fn clouds_yaml(&self) -> PathBuf {
        self.base.join("clouds.yaml")
    }

    /// Glance's image store directory.
    pub fn image_store(&self) -> PathBuf {
        self.base.join("images")
    }

    /// An admin token, fetched with curl.
    pub fn admin_token(&self) -> String {
        let auth = r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"secret"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}"#;
        let out = run(Command::new("curl")
            .args([
                "-sf",
                "-D",
                "-",
                "-o",
                "/dev/null",
                "-H",
                "Content-Type: application/json",
                "-d",
                auth,
            ])
            .arg(format!(
                "http://127.0.0.1:{}/v3/auth/tokens",
                self.keystone_port
            )));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("x-subject-token")
                    .then(|| v.trim().to_owned())
            })
            .expect("X-Subject-Token")
    }

    fn glance_get(&self, path: &str) -> Vec<u8> {
        run(Command::new("curl")
            .args(["-sf", "-H"])
            .arg(format!("X-Auth-Token: {}", self.admin_token()))
            .arg(format!("http://127.0.0.1:{}{path}", self.glance_port)))
        .stdout
    }

    /// `GET /v2/images/{id}` as JSON.
    pub fn image(&self, id: &str) -> serde_json::Value {
        serde_json::from_slice(&self.glance_get(&format!("/v2/images/{id}"))).expect("image JSON")
    }

    /// Every image (not deleted) as JSON.
    pub fn images(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_slice(&self.glance_get("/v2/images?limit=1000")).expect("images JSON");
        v["images"].as_array().cloned().unwrap_or_default()
    }

    /// The ids of images called `name`.
    pub fn ids_named(&self, name: &str) -> Vec<String> {
        self.images()
            .iter()
            .filter(|i| i["name"] == name)
            .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Download an image's data.
    pub fn download(&self, id: &str) -> Vec<u8> {
        self.glance_get(&format!("/v2/images/{id}/file"))
    }

    /// SIGKILL the Glance API (a crash mid-request).
    pub fn kill_glance(&self) {
        let pid =
            std::fs::read_to_string(self.base.join("run/glance-api.pid")).expect("glance pid");
        run(Command::new("kill").args(["-KILL", pid.trim()]));
    }

    /// Start the Glance API again on the same state.
    pub fn start_glance(&self) {
        run(Command::new(scripts().join("glance-start.sh")).arg(&self.base));
    }
}

impl Drop for OpenStack {
    fn drop(&mut self) {
        let keep = std::env::var("VMBUILD_KEEP_OPENSTACK").as_deref() == Ok("1");
        let mut cmd = Command::new(scripts().join("stop.sh"));
        cmd.arg(&self.base);
        if keep {
            cmd.arg("--keep");
            eprintln!("keeping {} (VMBUILD_KEEP_OPENSTACK=1)", self.base.display());
        }
        if let Err(e) = cmd.status() {
            eprintln!("stop.sh {}: {e}", self.base.display());
        }
    }
}
