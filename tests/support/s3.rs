//! A real S3-compatible server for the end-to-end tests (issue 14): moto's
//! server mode from PyPI, on the host's loopback with authentication on
//! (tests/support/s3_server.py), in a cached venv that also runs
//! tests/support/group_check.py. A qemu user-mode guest reaches it at
//! 10.0.2.2. [`S3Server::config_toml`] is the `vmbuild.toml` part that puts
//! its buckets in the appliance.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the venv is cached across runs.
const VENV: &str = "/var/cache/vmbuild-test/s3-venv";

/// The group the test config defines, its members and a user in no group.
pub const GROUP: &str = "physics";
/// Members of [`GROUP`] in the test config.
pub const MEMBERS: [&str; 2] = ["alice", "bob"];
/// A second group, of the first member only (a user in two groups).
pub const ALSO: &str = "chem";
/// A hub user in no group.
pub const OUTSIDER: &str = "carol";
/// The group's private bucket (mount name, bucket name).
pub const PRIVATE: (&str, &str) = ("physics", "physics-data");
/// The public read-only bucket (mount name, bucket name).
pub const PUBLIC: (&str, &str) = ("reference", "reference-data");
/// The object in the public bucket and its text.
pub const PUBLIC_OBJECT: (&str, &str) = ("readme.txt", "reference data for everyone");

/// moto[server], boto3, requests and websocket-client, in a cached venv.
pub fn python() -> PathBuf {
    crate::appliance::cached_venv(
        VENV,
        ".ready-1",
        &[
            "moto[server]==5.2.5",
            "requests==2.34.2",
            "websocket-client==1.9.2",
        ],
    )
}

/// A running moto server with one access key and the test's buckets.
pub struct S3Server {
    child: Child,
    /// Host port on 127.0.0.1.
    pub port: u16,
    /// The server's endpoint and key as JSON (for group_check.py `--s3`).
    pub ready_file: PathBuf,
    /// The access key ID.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl S3Server {
    /// Start the server with the private and the public bucket (the public
    /// one holding [`PUBLIC_OBJECT`]); `dir` keeps its JSON and log.
    pub fn start(dir: &Path) -> S3Server {
        let py = python();
        let port = free_port();
        let ready_file = dir.join("s3-server.json");
        let _ = std::fs::remove_file(&ready_file);
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let log = std::fs::File::create(dir.join("s3-server.log")).unwrap();
        let mut child = Command::new(&py)
            .arg(support.join("s3_server.py"))
            .args(["--port", &port.to_string()])
            .arg("--ready")
            .arg(&ready_file)
            .args(["--bucket", PRIVATE.1])
            .args([
                "--bucket",
                &format!("{}={}:{}", PUBLIC.1, PUBLIC_OBJECT.0, PUBLIC_OBJECT.1),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !ready_file.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "s3_server.py exited ({status}):\n{}",
                    std::fs::read_to_string(dir.join("s3-server.log")).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "moto did not start within 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ready_file).unwrap()).unwrap();
        S3Server {
            child,
            port,
            ready_file,
            access_key_id: v["access_key_id"].as_str().unwrap().to_owned(),
            secret_access_key: v["secret_access_key"].as_str().unwrap().to_owned(),
        }
    }

    /// The endpoint as a qemu user-mode guest reaches it.
    pub fn guest_endpoint(&self) -> String {
        format!("http://10.0.2.2:{}", self.port)
    }

    /// `[[groups]]` and `[[data.s3]]` for vmbuild.toml: [`GROUP`] with
    /// [`MEMBERS`], [`ALSO`] with the first member, the group's private `rw`
    /// bucket and a public `ro` bucket. The credentials are used while
    /// building and not shipped (group_check.py `--install-credentials`
    /// gives a booted image its own, as the README tells owners to).
    /// Append it at the end of the file (it opens array tables).
    pub fn config_toml(&self) -> String {
        let endpoint = self.guest_endpoint();
        let cred = format!(
            "credentials = {{ access_key_id = {:?}, secret_access_key = {:?} }}\n",
            self.access_key_id, self.secret_access_key
        );
        format!(
            "[[groups]]\nname = {GROUP:?}\nmembers = [{}]\n\
             [[groups]]\nname = {ALSO:?}\nmembers = [{:?}]\n\
             [[data.s3]]\nname = {:?}\nendpoint = {endpoint:?}\nbucket = {:?}\nmode = \"rw\"\n\
             read = [{GROUP:?}]\nwrite = [{GROUP:?}]\n{cred}\
             [[data.s3]]\nname = {:?}\nendpoint = {endpoint:?}\nbucket = {:?}\nmode = \"ro\"\n\
             read = [\"all\"]\n{cred}",
            MEMBERS.map(|m| format!("{m:?}")).join(", "),
            MEMBERS[0],
            PRIVATE.0,
            PRIVATE.1,
            PUBLIC.0,
            PUBLIC.1,
        )
    }

    /// A config whose only bucket has a wrong secret (`bad_secret`) or an
    /// endpoint nobody listens on (`unreachable`): provisioning must fail
    /// naming the bucket, without printing the secret, in seconds.
    pub fn bad_config_toml(&self, unreachable: bool) -> String {
        let endpoint = if unreachable {
            // a closed port on the host (user-mode networking refuses it)
            format!("http://10.0.2.2:{}", free_port())
        } else {
            self.guest_endpoint()
        };
        format!(
            "[[data.s3]]\nname = \"broken\"\nendpoint = {endpoint:?}\nbucket = {:?}\nmode = \"ro\"\n\
             read = [\"all\"]\ncredentials = {{ access_key_id = {:?}, secret_access_key = \"wrong-secret-3141\" }}\n",
            PRIVATE.1, self.access_key_id
        )
    }

    /// The arguments of group_check.py for this server and the test
    /// config, before the appliance's own (`--hub`, `--ssh`, ...).
    pub fn check_args(&self) -> Vec<String> {
        [
            "--s3",
            &self.ready_file.display().to_string(),
            "--group",
            GROUP,
            "--members",
            &MEMBERS.join(","),
            "--outsider",
            OUTSIDER,
            "--also",
            ALSO,
            "--private",
            &format!("{}={}", PRIVATE.0, PRIVATE.1),
            "--public",
            &format!("{}={}", PUBLIC.0, PUBLIC.1),
            "--public-object",
            &format!("{}={}", PUBLIC_OBJECT.0, PUBLIC_OBJECT.1),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

/// Where the checker runs and what it checks.
pub struct Target<'a> {
    /// For messages: `OVA`, `qcow2`.
    pub label: &'a str,
    /// The hub, e.g. `https://127.0.0.1:PORT` (the guest's 443).
    pub hub: &'a str,
    /// The instance certificate's SHA-256 fingerprint.
    pub fingerprint: &'a str,
    /// A hub admin and its password.
    pub admin: (&'a str, &'a str),
    /// Host port of the guest's SSH.
    pub ssh_port: u16,
    /// The owner's account (access.ssh_user) and private key.
    pub owner: (&'a str, &'a Path),
}

impl S3Server {
    /// Run tests/support/group_check.py against `t`: `after_reboot` false
    /// installs the machine's credentials (the image ships none) and runs
    /// every check; true checks that the mounts came back. Panics with the
    /// checker's output on a failure.
    pub fn group_check(&self, t: &Target<'_>, after_reboot: bool) {
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let mut cmd = Command::new(python());
        cmd.arg(support.join("group_check.py"))
            .args(["--hub", t.hub, "--fingerprint", t.fingerprint])
            .args(["--admin", t.admin.0, "--admin-password", t.admin.1])
            .args(["--ssh", &format!("127.0.0.1:{}", t.ssh_port)])
            .args(["--owner-user", t.owner.0, "--owner-key"])
            .arg(t.owner.1)
            .args(self.check_args());
        if after_reboot {
            cmd.args(["--phase", "after-reboot"]);
        } else {
            cmd.arg("--install-credentials");
        }
        let ok = cmd.status().unwrap();
        assert!(ok.success(), "{}: group checks failed", t.label);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
