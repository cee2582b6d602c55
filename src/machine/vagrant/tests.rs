//! The `-u` orchestration against a fake runner: which Vagrant calls, in
//! which order, and how their failures read.
use std::path::Path;
use std::sync::Arc;

use crate::context::{Context, RunOptions};
use crate::platform::{Accel, Builder, Platform, Provider};
use crate::process::{FakeRunner, Output};
use crate::ui::Ui;

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/tools/vagrant/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn out(code: i32, stdout: &str) -> Output {
    Output {
        code: Some(code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
    }
}

/// A project with a base box, a data dir and no recipes.
fn context(dir: &Path, runner: Arc<FakeRunner>) -> Context {
    let toml = "name = \"devhub\"\nprovider = \"libvirt\"\n[vm]\naccelerator = \"tcg\"\n[network]\nforward_http_port = 0\n[shared_data]\nhost_dir = \"data\"\n";
    let config = crate::config::parse_str(Path::new("vmbuild.toml"), toml).unwrap();
    std::fs::create_dir_all(dir.join("builds")).unwrap();
    std::fs::write(dir.join("builds/devhub-libvirt.box"), b"box").unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    Context::new(
        config,
        dir.to_owned(),
        runner,
        Arc::new(Ui::silent()),
        RunOptions::default(),
    )
    .with_platform(Platform {
        provider: Provider::Libvirt,
        accel: Accel::Tcg,
        builder: Builder::Debootstrap,
        provider_reason: "test".into(),
        accel_reason: "test".into(),
        builder_reason: "test".into(),
    })
}

fn vagrant_calls(r: &FakeRunner) -> Vec<String> {
    r.commands()
        .iter()
        .map(|c| c.argv()[..3.min(c.argv().len())].join(" "))
        .collect()
}

#[test]
fn up_adds_the_box_boots_reads_ssh_config_then_provisions() {
    let dir = tempfile::tempdir().unwrap();
    let r = Arc::new(FakeRunner::new());
    r.on(
        &["vagrant", "ssh-config"],
        out(0, &fixture("ssh-config-libvirt.txt")),
    );
    let mut no_pool = out(1, "");
    no_pool.stderr = b"error: failed to get pool 'default'\nerror: Storage pool not found: no storage pool with matching name 'default'\n".to_vec();
    r.on(&["virsh"], no_pool);
    let ctx = context(dir.path(), Arc::clone(&r));
    let err = crate::stage::up::run(&ctx).unwrap_err();
    // no recipes of its own: the built-in appliance is written out and the
    // engine connects (to the fixture's endpoint, whose key does not exist)
    assert!(err.to_string().contains("cannot load SSH key"), "{err}");
    assert!(dir.path().join(".vmbuild/recipes/20-hub.toml").is_file());
    assert_eq!(
        vagrant_calls(&r),
        [
            "virsh -c qemu:///system",
            "vagrant box add",
            "vagrant up --machine-readable",
            "vagrant ssh-config devhub"
        ]
    );
    let vf = std::fs::read_to_string(dir.path().join(".vmbuild/vagrant/Vagrantfile")).unwrap();
    assert!(vf.contains("lv.driver = 'qemu'"), "{vf}");
    assert!(vf.contains("lv.cpu_mode = 'maximum'"), "{vf}");
    assert!(vf.contains("type: '9p'"), "{vf}");
}

#[test]
fn a_failed_up_reports_vagrants_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let r = Arc::new(FakeRunner::new());
    let failure = "1,,ui,error,boom\n2,,error-exit,VagrantPlugins::ProviderLibvirt::Errors::FogCreateServerError,Error while creating domain: Call to virDomainCreateWithFlags failed.\n";
    r.on(&["vagrant", "up"], out(1, failure));
    let ctx = context(dir.path(), Arc::clone(&r));
    let err = crate::stage::up::run(&ctx).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "failed: Error while creating domain: Call to virDomainCreateWithFlags failed."
        ),
        "{err}"
    );
    assert!(err.contains("vagrant up"), "{err}");
}

#[test]
fn bad_ip_and_missing_share_are_user_errors() {
    assert!(super::static_ip("dhcp").unwrap().is_none());
    assert_eq!(
        super::static_ip("192.168.56.10").unwrap().as_deref(),
        Some("192.168.56.10")
    );
    let e = super::static_ip("192.168.56").unwrap_err();
    assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
    assert!(e.to_string().contains("flag -i"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let r = Arc::new(FakeRunner::new());
    let mut ctx = context(dir.path(), r);
    ctx.config.shared_data.host_dir = "nope".into();
    let e = crate::stage::up::run(&ctx).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
    assert!(e.to_string().contains("-d none"), "{e}");
}

#[test]
fn a_missing_box_says_to_run_p() {
    let dir = tempfile::tempdir().unwrap();
    let r = Arc::new(FakeRunner::new());
    let ctx = context(dir.path(), Arc::clone(&r));
    std::fs::remove_file(dir.path().join("builds/devhub-libvirt.box")).unwrap();
    let e = crate::stage::up::run(&ctx).unwrap_err().to_string();
    assert!(e.contains("vmbuild -p"), "{e}");
    assert!(r.commands().is_empty());
}
