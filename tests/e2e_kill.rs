//! SIGKILL of vmbuild while it works leaves nothing behind: no debootstrap,
//! Packer or qemu process and no loop device. vmbuild cannot clean up after
//! a SIGKILL itself; its orphan guard (src/process/guard.rs) does.
//! (Ctrl-C is tested where each stage is: base_box_e2e, e2e_main,
//! e2e_vagrant_libvirt; SIGKILL of `-u` with the qemu provider in e2e_main.)
//!
//! 1. during debootstrap (a base disk no other suite has: its own hostname),
//!    after the loop device is attached;
//! 2. during Packer's boot of the base disk (the shared base-disk cache).
#[path = "support/base_box.rs"]
mod base_box;
#[path = "support/gate.rs"]
mod gate;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Processes other than us whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let zombie = stat.rsplit_once(')')?.1.trim_start().starts_with('Z');
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (!zombie && cmd.contains(needle)).then_some((pid, cmd))
        })
        .collect()
}

/// Loop devices whose backing file is under `dir`.
fn loop_devices_under(dir: &Path) -> Vec<String> {
    let out = Command::new("losetup")
        .args(["--list", "--noheadings", "--output", "NAME,BACK-FILE"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&dir.display().to_string()))
        .map(str::to_owned)
        .collect()
}

fn wait_until(limit: Duration, what: &str, ok: impl Fn() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {} s",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn spawn_p(dir: &Path, args: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join("victim.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Panics with its output if the victim already exited (it must still be
/// working when it is killed).
fn still_running(child: &mut Child, dir: &Path) {
    if let Some(st) = child.try_wait().unwrap() {
        panic!(
            "vmbuild exited ({st}) before it could be killed:\n{}",
            std::fs::read_to_string(dir.join("victim.log")).unwrap_or_default()
        );
    }
}

fn kill9(mut child: Child) {
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let st = child.wait().unwrap();
    assert_eq!(st.code(), None, "killed by a signal");
}

#[test]
fn sigkill_leaves_no_process_and_no_loop_device() {
    if !gate::e2e("builds base disks and boxes as root, killing vmbuild on the way (~6 min)") {
        return;
    }
    // SAFETY: geteuid cannot fail.
    gate::require(
        unsafe { libc::geteuid() } == 0,
        "root (loop devices, debootstrap)",
    );
    // The shared base-disk cache, for the whole test; waiting for it comes
    // before the deadline (see base_box::lock_cache).
    let _cache = base_box::lock_cache();
    let d = gate::Deadline::arm("sigkill", Duration::from_secs(30 * 60));

    // 1. debootstrap: a base disk of its own (nothing cached), work dir inside
    d.step("SIGKILL during debootstrap");
    let scratch = tempfile::tempdir_in("/var/tmp").unwrap();
    let p = scratch.path();
    std::fs::write(
        p.join("vmbuild.toml"),
        base_box::BOX_CONFIG.replace("[vm]\n", "[vm]\nhostname = \"killtest\"\n"),
    )
    .unwrap();
    let child = spawn_p(p, &["-p"]);
    wait_until(
        Duration::from_secs(300),
        "a loop device and debootstrap",
        || !loop_devices_under(p).is_empty() && !processes_mentioning("debootstrap").is_empty(),
    );
    std::thread::sleep(Duration::from_secs(3));
    kill9(child);
    wait_until(
        Duration::from_secs(30),
        "debootstrap gone and the loop device detached",
        || {
            processes_mentioning(&p.display().to_string()).is_empty()
                && loop_devices_under(p).is_empty()
        },
    );
    assert!(
        !p.join(".vmbuild/base").read_dir().is_ok_and(|mut r| r
            .any(|e| { e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".qcow2")) })),
        "no base disk claims to be complete"
    );

    // 2. Packer: the shared base disk, killed while Packer's qemu boots it
    d.step("SIGKILL during packer");
    let q = tempfile::tempdir_in("/var/tmp").unwrap();
    let q = q.path();
    std::fs::write(q.join("vmbuild.toml"), base_box::BOX_CONFIG).unwrap();
    base_box::share_caches(q);
    let mut child = spawn_p(q, &["-p", "--force"]);
    let packer_dir = q.join(".vmbuild/packer");
    let start = Instant::now();
    while !processes_mentioning(&packer_dir.display().to_string())
        .iter()
        .any(|(_, c)| c.contains("qemu-system"))
    {
        still_running(&mut child, q);
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "no Packer qemu within 900 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(5));
    kill9(child);
    wait_until(Duration::from_secs(30), "packer and qemu gone", || {
        processes_mentioning(&q.display().to_string()).is_empty()
    });
    let builds: Vec<String> = std::fs::read_dir(q.join("builds"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".box"))
        .collect();
    assert!(builds.is_empty(), "no box after a killed build: {builds:?}");
}
