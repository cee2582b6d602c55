//! Shared by the installer tests: a Context for a config whose work dir and
//! installer ISO are the test's own.
use std::path::Path;
use std::sync::Arc;

use vmbuild::config::Accelerator;
use vmbuild::context::{Context, RunOptions};
use vmbuild::platform::{Accel, Builder, Platform, Provider};
use vmbuild::process::SystemRunner;
use vmbuild::ui::{Ui, Verbosity};

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

/// A context building with `provider` from the ISO at `iso`, working in `work`;
/// `extra` is appended to the TOML (e.g. a `[vm]` table).
pub fn context(work: &Path, iso: &Path, provider: &str, extra: &str) -> Context {
    let toml = format!(
        "name = \"installer-test\"\nprovider = \"{provider}\"\n\
         [build]\nwork_dir = \"{work}\"\noutput_dir = \"{work}/builds\"\n\
         [base.installer]\niso_url = \"file://{iso}\"\niso_sha256 = \"{sha}\"\n{extra}",
        work = work.display(),
        iso = iso.display(),
        sha = sha256_file(iso),
    );
    let config = vmbuild::config::parse_str(&work.join("vmbuild.toml"), &toml).unwrap();
    let ui = Arc::new(Ui::new(Verbosity::Quiet, None).unwrap());
    // the templates are what is tested: the platform is given, not probed
    // (no VirtualBox here)
    let platform = Platform {
        provider: if provider == "virtualbox" {
            Provider::Virtualbox
        } else {
            Provider::Qemu
        },
        accel: if config.vm.accelerator == Accelerator::Kvm {
            Accel::Kvm
        } else {
            Accel::Tcg
        },
        builder: Builder::Installer,
        provider_reason: "test".into(),
        accel_reason: "test".into(),
        builder_reason: "test".into(),
    };
    Context::new(
        config,
        work.to_owned(),
        Arc::new(SystemRunner::new(ui.clone(), false)),
        ui,
        RunOptions::default(),
    )
    .with_platform(platform)
}
