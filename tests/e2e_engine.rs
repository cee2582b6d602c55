//! The recipe engine's ordering, safety and interruption rules end to end:
//! the real `vmbuild provision` binary against a real Debian 12 test host
//! (tests/support/testhost.sh), each effect checked in the host's end state.
//!
//! - installs keep recipe order: a debconf answer, a pip config, an apt pin
//!   and a sources list written before an install are in place when it runs;
//! - root's writes in a group-writable directory resist a user who swaps
//!   temp files and managed paths for symlinks;
//! - Ctrl-C stops the run within seconds (exit 130) and ends the remote
//!   command's processes;
//! - a first connection to nothing fails at once, naming the cause.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/provision_run.rs"]
mod provision_run;
#[path = "support/testhost.rs"]
mod testhost;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use provision_run::provision_as;
use testhost::TestHost;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The Debian mirror the test host uses (its sources list names it).
fn mirror(host: &TestHost) -> String {
    host.sh("awk '/^deb /{print $2; exit}' /etc/apt/sources.list")
        .trim()
        .to_owned()
}

/// Each install comes right after a resource that prepares it, and right
/// before that resource stands another install of the same kind: the old
/// engine pulled the later install into the earlier one's transaction,
/// ahead of the preparation, and the host ended up different.
#[test]
fn installs_keep_recipe_order() {
    if !gate::e2e("recipe ordering against a real sshd test host (apt, PyPI)") {
        return;
    }
    let deadline = gate::Deadline::arm("installs_keep_recipe_order", Duration::from_secs(900));
    let host = TestHost::start("eng-order");
    let dir = tempfile::tempdir().unwrap();
    let contrib = format!("deb {} bookworm contrib", mirror(&host));
    let recipe = write(
        dir.path(),
        "order.toml",
        &format!(
            r#"
# 1. a debconf answer before the package that asks the question
[[resource]]
name = "tree"
type = "apt.packages"
packages = ["tree"]
[[resource]]
name = "popcon answer"
type = "command"
command = "debconf-set-selections"
stdin = "popularity-contest popularity-contest/participate boolean true\n"
unless = "debconf-show popularity-contest 2>/dev/null | grep -q 'participate: true'"
[[resource]]
name = "popcon"
type = "apt.packages"
packages = ["popularity-contest"]

# 2. a pip constraint (through the venv's pip.conf) before a pip install
[[resource]]
name = "venv"
type = "python.venv"
path = "/opt/ord"
[[resource]]
name = "idna"
type = "pip.packages"
venv = "/opt/ord"
packages = ["idna==3.7"]
[[resource]]
name = "constraints"
type = "file"
path = "/opt/ord/constraints.txt"
content = "six==1.16.0\n"
[[resource]]
name = "pip.conf"
type = "file"
path = "/opt/ord/pip.conf"
content = "[install]\nconstraint = /opt/ord/constraints.txt\n"
[[resource]]
name = "six"
type = "pip.packages"
venv = "/opt/ord"
packages = ["six"]

# 3. a sources list written with `file` before a package only it provides
[[resource]]
name = "jq"
type = "apt.packages"
packages = ["jq"]
[[resource]]
name = "contrib"
type = "file"
path = "/etc/apt/sources.list.d/contrib.list"
content = "{contrib}\n"
[[resource]]
name = "from contrib"
type = "apt.packages"
packages = ["nvidia-primus-vk-common"]

# 4. an apt pin written with `file` before the install it forbids
[[resource]]
name = "less"
type = "apt.packages"
packages = ["less"]
[[resource]]
name = "no bc"
type = "file"
path = "/etc/apt/preferences.d/no-bc"
content = "Package: bc\nPin: release *\nPin-Priority: -1\n"
[[resource]]
name = "bc"
type = "apt.packages"
packages = ["bc"]
"#
        ),
    );
    deadline.step("first run");
    let first = provision_as("root", &host, &[&recipe], &["--keep-going"]);
    // the pin forbids bc: its install fails, as the recipe says it must
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(first.outcome("apt.packages[bc]")["status"], "failed");
    assert_eq!(first.count("failed"), 1, "{}", first.stderr);
    assert!(
        host.exec_local("dpkg -s bc").status.code() != Some(0),
        "the pin was ignored"
    );
    assert!(
        host.sh("dpkg-query -W -f '${Status}' less")
            .contains("installed")
    );
    // the debconf answer was in place when popularity-contest was configured
    assert!(
        host.sh("cat /etc/popularity-contest.conf")
            .contains("PARTICIPATE=\"yes\""),
        "{}",
        host.sh("cat /etc/popularity-contest.conf")
    );
    // pip read the constraint: six is the constrained version, not the latest
    assert!(
        host.exec_local("test -d /opt/ord/lib/python3.11/site-packages/six-1.16.0.dist-info")
            .status
            .success(),
        "{}",
        host.sh("ls /opt/ord/lib/python3.11/site-packages/")
    );
    // the new sources list was fetched before the install that needs it
    assert!(
        host.sh("dpkg-query -W -f '${Status}' nvidia-primus-vk-common")
            .contains("installed")
    );
    // and the output shows the order things ran in: no install joined one
    // across a resource that prepares it (installs right next to each other,
    // like `from contrib` and `less`, may share one)
    for earlier in [
        "apt.packages[tree]",
        "pip.packages[idna]",
        "apt.packages[jq]",
        "apt.packages[less]",
    ] {
        assert!(
            !first.stderr.contains(&format!("running {earlier} with")),
            "{}",
            first.stderr
        );
    }
    let reason = first.outcome("apt.packages[from contrib]")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!reason.contains("jq"), "{reason}");

    deadline.step("second run");
    let second = provision_as("root", &host, &[&recipe], &["--keep-going"]);
    assert_eq!(second.count("changed"), 0, "{}", second.stderr);
    assert_eq!(
        second.count("failed"),
        1,
        "only the forbidden bc: {}",
        second.stderr
    );
}

/// A user in the group of a group-writable directory without a sticky bit
/// (the shared-data layout) swaps every temp file vmbuild creates there for
/// a symlink to a root-only file, the instant it appears (inotify), and
/// later replaces a managed file with such a symlink. Root never changes
/// the target: a write either succeeds with root's own file or fails
/// naming the swap.
#[test]
fn root_writes_in_a_shared_directory_resist_symlink_swaps() {
    if !gate::e2e("safe root writes against a real sshd test host") {
        return;
    }
    let deadline = gate::Deadline::arm("symlink_swaps", Duration::from_secs(300));
    let host = TestHost::start("eng-swap");
    host.sh("groupadd students && useradd -m -G students mallory && \
         install -d -m 2775 -g students /srv/data && \
         printf 'root only\\n' > /etc/vmbuild-victim && chmod 600 /etc/vmbuild-victim");
    let attacker = r#"
import ctypes, os, struct
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = libc.inotify_init()
libc.inotify_add_watch(fd, b"/srv/data", 0x100)  # IN_CREATE
open("/tmp/attacker-ready", "w").close()
n = 0
while True:
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        _, mask, _, ln = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
        i += 16 + ln
        if "vmbuild-tmp" in name:
            n += 1
            tmp = "/srv/data/.swap%d" % n
            try:
                os.symlink("/etc/vmbuild-victim", tmp)
                os.rename(tmp, "/srv/data/" + name)
                with open("/tmp/attacker-swaps", "a") as f:
                    f.write(name + "\n")
            except OSError:
                pass
"#;
    std::fs::write(host.root.join("tmp/attack.py"), attacker).unwrap();
    host.sh("chmod 644 /tmp/attack.py && su mallory -s /bin/sh -c \
         'setsid python3 /tmp/attack.py </dev/null >/tmp/attack.log 2>&1 &' && \
         for i in $(seq 50); do [ -e /tmp/attacker-ready ] && break; sleep 0.1; done; \
         test -e /tmp/attacker-ready");
    let dir = tempfile::tempdir().unwrap();
    let victim_before = host.sh("stat -c '%a %U %G %s' /etc/vmbuild-victim");
    let mut swapped_runs = 0;
    for i in 0..8 {
        deadline.step(&format!("write {i}"));
        let recipe = write(
            dir.path(),
            "shared.toml",
            &format!(
                "[[resource]]\nname = \"notes\"\ntype = \"file\"\npath = \"/srv/data/notes.txt\"\n\
                 content = \"version {i}\\n\"\nmode = \"0664\"\nowner = \"root\"\ngroup = \"students\"\n"
            ),
        );
        let run = provision_as("root", &host, &[&recipe], &[]);
        if run.code != 0 {
            swapped_runs += 1;
            let reason = run.outcome("file[notes]")["reason"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                reason.contains("was replaced while it was written"),
                "{reason}"
            );
            // the attacker's symlink took the file's place (as they could
            // always do in that directory); clear it for the next round
            host.sh("test -L /srv/data/notes.txt && rm /srv/data/notes.txt");
        }
        assert_eq!(
            host.sh("stat -c '%a %U %G %s' /etc/vmbuild-victim"),
            victim_before,
            "root changed the symlink's target"
        );
    }
    let swaps = host.sh("cat /tmp/attacker-swaps 2>/dev/null || true");
    assert!(
        !swaps.is_empty(),
        "the attacker never got to swap a temp file"
    );
    eprintln!(
        "attacker swapped {} temp files; {swapped_runs} of 8 runs failed safely",
        swaps.lines().count()
    );

    // a managed path replaced by a symlink between two runs: refused
    deadline.step("managed path swapped");
    host.sh(
        "for p in /proc/[0-9]*; do grep -q 'attack[.]py' $p/cmdline 2>/dev/null && kill ${p#/proc/}; done; true",
    );
    host.sh("su mallory -s /bin/sh -c 'ln -s /etc/vmbuild-victim /srv/data/.l && mv -fT /srv/data/.l /srv/data/notes.txt'");
    let recipe = write(
        dir.path(),
        "mode.toml",
        "[[resource]]\nname = \"notes\"\ntype = \"file\"\npath = \"/srv/data/notes.txt\"\n\
         content = \"root only\\n\"\nmode = \"0644\"\n",
    );
    let run = provision_as("root", &host, &[&recipe], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.outcome("file[notes]")["reason"]
            .as_str()
            .unwrap()
            .contains("is a symbolic link"),
        "{}",
        run.stderr
    );
    assert_eq!(
        host.sh("stat -c '%a %U %G %s' /etc/vmbuild-victim"),
        victim_before
    );
}

/// Ctrl-C while a remote command runs: vmbuild exits 130 within seconds,
/// the remote command's processes are gone, the next resource never ran
/// and the recap says so. As root and through sudo.
#[test]
fn ctrl_c_stops_the_run_and_its_remote_command() {
    if !gate::e2e("Ctrl-C against a real sshd test host") {
        return;
    }
    let deadline = gate::Deadline::arm("ctrl_c", Duration::from_secs(180));
    let host = TestHost::start("eng-intr");
    let dir = tempfile::tempdir().unwrap();
    let recipe = write(
        dir.path(),
        "long.toml",
        "[[resource]]\nname = \"long\"\ntype = \"command\"\n\
         command = \"touch /root/started; sleep 600; touch /root/finished\"\n\
         [[resource]]\nname = \"after\"\ntype = \"file\"\npath = \"/root/after\"\ncontent = \"x\\n\"\n",
    );
    // processes whose command line is the remote sleep (not this probe)
    let sleepers = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep [6]00' || true";
    for user in ["root", "vagrant"] {
        deadline.step(&format!("{user}: start"));
        host.sh("rm -f /root/started /root/finished /root/after");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
            .arg("provision")
            .arg("--host")
            .arg(format!("{user}@{}:{}", host.addr, host.port))
            .arg("--key")
            .arg(&host.key_path)
            .arg("--known-hosts")
            .arg(dir.path().join("known_hosts"))
            .arg(&recipe)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = host.root.join("root/started");
        let t0 = Instant::now();
        while !started.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the command never started"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(host.sh(sleepers).trim(), "1", "the remote sleep runs");
        deadline.step(&format!("{user}: SIGINT"));
        let sent = Instant::now();
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(15),
                "vmbuild still runs 15 s after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let took = sent.elapsed();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "{user}: exited {:?} {} ms after SIGINT\n{stderr}",
            status.code(),
            took.as_millis()
        );
        assert_eq!(status.code(), Some(130), "{stderr}");
        assert!(took < Duration::from_secs(8), "took {took:?}");
        assert_eq!(host.sh(sleepers).trim(), "0", "the remote sleep is gone");
        assert!(!host.root.join("root/finished").exists());
        assert!(
            !host.root.join("root/after").exists(),
            "the next resource ran"
        );
        assert!(stderr.contains("stopped by the user"), "{stderr}");
    }
}

/// A typo'd or dead `--host` fails within seconds, saying why; it does not
/// wait out the reconnect budget meant for rebooting VMs.
#[test]
fn an_unreachable_first_connection_fails_at_once() {
    // loopback only: nothing listens on a free port
    let dir = tempfile::tempdir().unwrap();
    let key = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh/id_ed25519");
    let recipe = write(
        dir.path(),
        "r.toml",
        "[[resource]]\nname = \"x\"\ntype = \"command\"\ncommand = \"true\"\n",
    );
    let port = testhost::free_port();
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .arg("provision")
        .arg("--host")
        .arg(format!("root@127.0.0.1:{port}"))
        .arg("--key")
        .arg(&key)
        .arg(&recipe)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let took = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {stderr}");
    assert!(
        stderr.contains(&format!("cannot reach root@127.0.0.1:{port}"))
            && stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(!dir.path().join(".vmbuild/admin-password").exists());
}
