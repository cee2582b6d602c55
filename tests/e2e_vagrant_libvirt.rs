//! End to end: `vmbuild -u` with Vagrant's libvirt provider under software
//! emulation, then `-c`. One test, in order (each step needs the previous):
//! 1. `vmbuild -p` in a persistent scratch project makes (or reuses) the box;
//! 2. libvirtd + virtlogd start inside a network namespace this test creates,
//!    so libvirt's bridges, dnsmasq and the guest addresses stay in there;
//! 3. `vmbuild -u` interrupted (SIGINT) while the domain boots exits 130 and
//!    leaves no VM;
//! 4. `vmbuild -u` brings the VM up, mounts the shared folder (9p, read-only)
//!    and provisions over SSH (the guest's own traffic goes through a proxy
//!    on the namespace's veth) the workload [`Workload::from_env`] chose: a
//!    small project recipe, or the lean appliance, after which nginx serves
//!    the hub's login page inside the guest; a second run converges with
//!    zero changes; the rendered Vagrantfile passes a full `vagrant validate`
//!    (vagrant-libvirt cannot check 9p with `-p`);
//! 5. `vmbuild -e` runs the built-in cleanup recipes in the VM, halts it and
//!    packs its disk as `builds/e2e-base.box` (checksum verified, audited as a
//!    box); a second `-e` finds the halted, untouched VM and its box up to
//!    date; `-u` then boots it (new host keys, trusted afresh) and converges,
//!    and a further `-u` changes nothing;
//!
//! The appliance with its Python and R packages goes through `-u` and `-e`
//! (and its OVA and qcow2 are booted and used) in e2e_main.rs with the qemu
//! provider; here it is the Vagrant and libvirt mechanics.
//! 6. `vmbuild -c` destroys the VM and removes the work files, keeping caches.
//!
//! libvirtd is machine-wide, so runs serialise on /tmp/vmbuild-libvirt.lock.
//! The base disk cache is shared with base_box_e2e.rs (and its lock).
#[path = "support/base_box.rs"]
mod base_box;
#[path = "support/gate.rs"]
mod gate;
#[path = "support/libvirt.rs"]
mod support_libvirt;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use support_libvirt::{
    LibvirtNetns, domains, lock, run_logged, spawn_and_interrupt, spawn_and_signal,
};

const ROOT: &str = "/var/cache/vmbuild-test/vagrant-libvirt";

/// The registry proxy on the namespace's veth (tests/support/libvirt-netns.sh).
const PROXY: &str = "http://10.231.0.1:3128";

/// What `-u` provisions.
#[derive(Clone, Copy, PartialEq)]
enum Workload {
    /// The project's own small recipe: the Vagrant and libvirt mechanics in
    /// seconds. CI runs this one: the lean appliance costs a second TCG
    /// provisioning of about 24 min beside e2e_main's on a 2-core machine.
    Recipe,
    /// The built-in recipes with no extra Python packages and no R
    /// (`VMBUILD_E2E_LIBVIRT_APPLIANCE=1`).
    LeanAppliance,
}

impl Workload {
    fn from_env() -> Workload {
        if std::env::var_os("VMBUILD_E2E_LIBVIRT_APPLIANCE").is_some_and(|v| v == "1") {
            Workload::LeanAppliance
        } else {
            Workload::Recipe
        }
    }
}

/// The project's own recipe: a file, and a package from the mirror through
/// the namespace's proxy.
const RECIPE: &str = r#"[[resource]]
name = "e2e marker"
type = "file"
path = "/etc/vmbuild-e2e"
content = "provisioned by vmbuild -u\n"
mode = "0644"

[[resource]]
name = "a package through the proxy"
type = "apt.packages"
packages = ["tree"]
"#;

/// The shared lean box config, the proxy the guest reaches the registries
/// through and a box-only export; for the lean appliance also 2 GiB for the
/// hub, no extra Python packages and no R.
fn config(w: Workload) -> String {
    let (lean, memory) = match w {
        Workload::Recipe => ("", "memory_mb = 1024"),
        Workload::LeanAppliance => (
            "[python]\npackages = []\n\n[r]\nenabled = false\n\n",
            "memory_mb = 2048",
        ),
    };
    format!(
        "{}\n[network]\nforward_http_port = 0\n\n\
         [proxy]\nhttp_proxy = \"{PROXY}\"\nhttps_proxy = \"{PROXY}\"\n\n\
         {lean}[export]\nformats = [\"box\"]\n",
        base_box::BOX_CONFIG
            .replace("provider = \"qemu\"", "provider = \"libvirt\"")
            .replace("memory_mb = 1024", memory)
    )
}

fn gated() -> bool {
    if !gate::e2e(
        "boots a VM with vagrant-libvirt as root (libvirtd in a network namespace) and provisions it",
    ) {
        return false;
    }
    // SAFETY: geteuid cannot fail.
    gate::require(
        unsafe { libc::geteuid() } == 0,
        "root (libvirtd and network namespaces)",
    );
    true
}

/// The persistent scratch project: its builds/ keeps the box between runs.
fn project(w: Workload) -> PathBuf {
    let dir = Path::new(ROOT).join("project");
    std::fs::create_dir_all(dir.join("builds")).unwrap();
    // with no project recipes the built-in appliance applies
    let _ = std::fs::remove_dir_all(dir.join("recipes"));
    if w == Workload::Recipe {
        std::fs::create_dir_all(dir.join("recipes")).unwrap();
        std::fs::write(dir.join("recipes/10-e2e.toml"), RECIPE).unwrap();
    }
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("vmbuild.toml"), config(w)).unwrap();
    std::fs::write(dir.join("data/hello.txt"), "hello from the host\n").unwrap();
    base_box::share_caches(&dir);
    dir
}

fn vmbuild(dir: &Path, ns: Option<&str>, args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_vmbuild");
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, bin]);
            c
        }
        None => Command::new(bin),
    };
    c.args(args)
        .current_dir(dir)
        .env("VAGRANT_HOME", Path::new(ROOT).join("vagrant-home"))
        .stdin(Stdio::null());
    c
}

/// Build the box; the caller holds [`base_box::lock_cache`].
fn build_box(dir: &Path) {
    let t = Instant::now();
    // the box is built before libvirtd runs (it is a libvirt box either
    // way); an explicit `libvirt` with no daemon answering is refused
    let mut p = vmbuild(dir, None, &["-p"]);
    p.env("VMBUILD_PROVIDER", "qemu");
    let (code, err) = run_logged(p, "vmbuild -p");
    assert_eq!(code, 0, "vmbuild -p failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -p (box build or cache hit): {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(dir.join("builds/e2e-base-libvirt.box").is_file());
}

fn domain_state() -> String {
    let d = our_domains();
    assert_eq!(d.len(), 1, "{d:?}");
    let out = Command::new("virsh")
        .args(["-c", "qemu:///system", "domstate", &d[0]])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn sha256_of(dir: &Path, artifact: &str) -> String {
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{artifact}.sha256"))
        .current_dir(dir.join("builds"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{artifact}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::read_to_string(dir.join("builds").join(format!("{artifact}.sha256")))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn export_then_up_again(dir: &Path, ns: &str, up_args: &[&str]) {
    let _ = std::fs::remove_file(dir.join("builds/e2e-base.box"));
    let t = Instant::now();
    let (code, err) = run_logged(vmbuild(dir, Some(ns), &["-e"]), "vmbuild -e");
    assert_eq!(code, 0, "vmbuild -e failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -e from the running VM (cleanup, halt, box): {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(err.contains("cleaning the VM up for export"), "{err}");
    assert!(err.contains("failed=0"), "cleanup recipes:\n{err}");
    assert!(err.contains("the provisioned VM's disk"), "{err}");
    assert_eq!(domain_state(), "shut off");
    let box_sum = sha256_of(dir, "e2e-base.box");
    let t = Instant::now();
    let (code, err) = run_logged(vmbuild(dir, Some(ns), &["-e"]), "vmbuild -e (again)");
    assert_eq!(code, 0, "second vmbuild -e failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -e of the halted, already exported VM: {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(err.contains("not booting it again"), "{err}");
    assert!(err.contains("up to date"), "{err}");
    assert_eq!(domain_state(), "shut off");
    assert_eq!(
        sha256_of(dir, "e2e-base.box"),
        box_sum,
        "same disk, same box"
    );

    let t = Instant::now();
    let mut up = vmbuild(dir, Some(ns), up_args);
    up.env("VMBUILD_VM__ACCELERATOR", "tcg");
    let (code, err) = run_logged(up, "vmbuild -u (after export)");
    assert_eq!(code, 0, "vmbuild -u after the export failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -u booting the exported VM again: {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        err.contains("failed=0"),
        "provisioning after the export converges:\n{err}"
    );
    assert_eq!(domain_state(), "running");
    let (code, err) = run_logged(vmbuild(dir, Some(ns), up_args), "vmbuild -u (no-op)");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("changed=0 failed=0"),
        "a further -u changes nothing:\n{err}"
    );
}

/// Our domain's name, from the prefix in the rendered Vagrantfile.
fn our_domains() -> Vec<String> {
    domains()
        .into_iter()
        .filter(|d| d.starts_with("vmbuild-") && d.ends_with("-e2e-base"))
        .collect()
}

fn ssh_in_ns(ns: &str, dir: &Path, script: &str) -> String {
    let vdir = dir.join(".vmbuild/vagrant");
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "vagrant", "ssh-config", "e2e-base"])
        .env("VAGRANT_CWD", &vdir)
        .env("VAGRANT_HOME", Path::new(ROOT).join("vagrant-home"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vagrant ssh-config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg =
        vmbuild::tool::vagrant::ssh_config::parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let cfg = &cfg[0];
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "ssh", "-o", "StrictHostKeyChecking=no"])
        .args([
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-i",
        ])
        .arg(&cfg.identity_files[0])
        .args(["-p", &cfg.port.to_string()])
        .arg(format!("{}@{}", cfg.user, cfg.host_name))
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn vagrant_up_provision_and_clean_with_libvirt() {
    if !gated() {
        return;
    }
    let _libvirt_lock = lock(Path::new("/tmp/vmbuild-libvirt.lock"));
    // The shared base-disk cache while the box is built; waiting for it comes
    // before the deadline (see base_box::lock_cache).
    let base_lock = base_box::lock_cache();
    let workload = Workload::from_env();
    let minutes = match workload {
        Workload::Recipe => 50,
        Workload::LeanAppliance => 75,
    };
    let d = gate::Deadline::arm(
        "vagrant libvirt",
        std::time::Duration::from_secs(minutes * 60),
    );
    let dir = project(workload);
    d.step("vmbuild -p");
    build_box(&dir);
    drop(base_lock);
    let ns = format!("vmbv-e2e-{}", std::process::id());
    let libvirt = LibvirtNetns::start(&ns, &Path::new(ROOT).join("libvirt-run"));
    let up_args = ["-u", "-d", "data", "-i", "192.168.56.10"];

    d.step("Ctrl-C while the domain boots");
    // 3. Ctrl-C while the domain boots: exit 130, no VM left
    // (only the first full run probes KVM: the probe costs 20 s where KVM hangs)
    let mut interrupted = vmbuild(&dir, Some(&ns), &up_args);
    interrupted.env("VMBUILD_VM__ACCELERATOR", "tcg");
    let (code, err) = spawn_and_interrupt(interrupted, "Starting domain");
    assert_eq!(code, 130, "exit code after SIGINT:\n{err}");
    assert!(
        our_domains().is_empty(),
        "VM left after Ctrl-C: {:?}",
        our_domains()
    );

    d.step("SIGKILL while the domain boots");
    // vmbuild cannot clean up after SIGKILL; its orphan guard stops vagrant
    // and runs `vagrant destroy -f`
    let mut killed = vmbuild(&dir, Some(&ns), &up_args);
    killed.env("VMBUILD_VM__ACCELERATOR", "tcg");
    let (code, err) = spawn_and_signal(killed, "Starting domain", libc::SIGKILL);
    assert_eq!(code, -1, "killed by SIGKILL:\n{err}");
    let start = Instant::now();
    while !our_domains().is_empty() || support_libvirt::vagrant_running() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "VM or vagrant left after SIGKILL: {:?}",
            our_domains()
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }

    d.step("vmbuild -u");
    // 4. up + provision, then a converging re-run
    let t = Instant::now();
    let (code, err) = run_logged(vmbuild(&dir, Some(&ns), &up_args), "vmbuild -u");
    assert_eq!(code, 0, "vmbuild -u failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -u (vagrant up under TCG + provisioning): {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(err.contains("failed=0"), "provisioning:\n{err}");
    assert!(
        err.contains("platform: provider libvirt (configured; the libvirt daemon answers)"),
        "{err}"
    );
    assert_eq!(our_domains().len(), 1);
    match workload {
        Workload::Recipe => assert_eq!(
            ssh_in_ns(&ns, &dir, "cat /etc/vmbuild-e2e; command -v tree"),
            "provisioned by vmbuild -u\n/usr/bin/tree\n"
        ),
        Workload::LeanAppliance => assert_eq!(
            ssh_in_ns(
                &ns,
                &dir,
                "systemctl is-active jupyterhub nginx; \
                 for i in $(seq 100); do \
                   curl -sk --noproxy '*' https://127.0.0.1/hub/login | grep -qi password && break; sleep 3; \
                 done; \
                 curl -sk --noproxy '*' https://127.0.0.1/hub/login | grep -qi password && echo login page"
            ),
            "active\nactive\nlogin page\n",
            "the hub answers through nginx"
        ),
    }
    assert_eq!(
        ssh_in_ns(&ns, &dir, "cat /srv/data/hello.txt"),
        "hello from the host\n"
    );
    assert!(ssh_in_ns(&ns, &dir, "findmnt -no FSTYPE,OPTIONS /srv/data").starts_with("9p"));
    let ro = ssh_in_ns(
        &ns,
        &dir,
        "touch /srv/data/x 2>/dev/null && echo writable || echo read-only",
    );
    assert_eq!(ro, "read-only\n");

    let t = Instant::now();
    let mut again = vmbuild(&dir, Some(&ns), &up_args);
    again.env("VMBUILD_VM__ACCELERATOR", "tcg");
    let (code, err) = run_logged(again, "vmbuild -u (again)");
    assert_eq!(code, 0, "second vmbuild -u failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -u on a running VM: {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(err.contains("is up to date"), "box re-added:\n{err}");
    assert!(
        err.contains("changed=0 failed=0"),
        "re-run must converge with zero changes:\n{err}"
    );

    let t = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns, "vagrant", "validate"])
        .env("VAGRANT_CWD", dir.join(".vmbuild/vagrant"))
        .env("VAGRANT_HOME", Path::new(ROOT).join("vagrant-home"))
        .output()
        .unwrap();
    eprintln!(
        "MEASURED vagrant validate (full, libvirt): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "vagrant validate: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    d.step("vmbuild -e, -e, -u, -u");
    // 5. export from the provisioned VM, twice, then bring it up again
    export_then_up_again(&dir, &ns, &up_args);

    d.step("vmbuild -c");
    // 6. clean: VM gone, work files gone, caches and the box kept
    let t = Instant::now();
    let (code, err) = run_logged(vmbuild(&dir, Some(&ns), &["-c"]), "vmbuild -c");
    assert_eq!(code, 0, "vmbuild -c failed:\n{err}");
    eprintln!(
        "MEASURED vmbuild -c (vagrant destroy -f): {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        our_domains().is_empty(),
        "VM left after -c: {:?}",
        our_domains()
    );
    assert!(!dir.join(".vmbuild/vagrant").exists());
    assert!(dir.join(".vmbuild/base").exists() && dir.join(".vmbuild/cache").exists());
    assert!(dir.join("builds/e2e-base-libvirt.box").is_file());
    drop(libvirt);
    assert!(
        !support_libvirt::qemu_running_for("e2e-base"),
        "qemu still running"
    );
}
