//! `-c`: destroy the VM, remove work directories (keeping caches), sweep
//! half-written artifacts.
use std::path::Path;

use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;

/// Entries of the work dir that survive `-c`: downloads (`cache`) and base
/// disks (`base`) are expensive to rebuild and keyed by content, so they are
/// never stale.
pub const KEPT: &[&str] = &["cache", "base"];

/// Work dir entries starting with this survive `-c` too: the generated admin
/// password (`admin-password`, its only copy) and what is derived from it
/// (`admin-salt`, `admin-hash`). Deleting them would lock the owner out of
/// a hub built earlier, and the next build would get a new password.
pub const KEPT_PREFIX: &str = "admin-";

/// Whether the work dir entry `name` survives `-c`.
pub fn is_kept(name: &str) -> bool {
    KEPT.contains(&name) || name.starts_with(KEPT_PREFIX)
}

/// Run the clean stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    ctx.ui
        .step("Cleaning: destroying the VM and removing work files");
    destroy_vm(ctx)?;
    remove_work_dir(ctx, &ctx.work_dir())?;
    let out = ctx.output_dir();
    if !ctx.runner.is_dry_run() {
        let n = crate::artifact::sweep_partials(&out).map_err(|source| StageError::Io {
            what: "removing half-written files in",
            path: out.display().to_string(),
            source,
        })?;
        if n > 0 {
            ctx.ui.info(&format!(
                "removed {n} half-written file(s) from {}",
                out.display()
            ));
        }
    }
    Ok(())
}

/// Stop and remove the project's VM, whichever provider made it.
pub fn destroy_vm(ctx: &Context) -> Result<(), Error> {
    match crate::machine::existing(ctx) {
        Some(m) => m.destroy(ctx),
        None => {
            ctx.ui.info("no VM for this project");
            Ok(())
        }
    }
}

/// Remove everything in `work` except what [`is_kept`] keeps.
fn remove_work_dir(ctx: &Context, work: &Path) -> Result<(), Error> {
    let Ok(rd) = std::fs::read_dir(work) else {
        return Ok(());
    };
    for e in rd {
        let e = e.map_err(|source| StageError::Io {
            what: "listing",
            path: work.display().to_string(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_kept(&name) {
            continue;
        }
        let p = e.path();
        if ctx.runner.is_dry_run() {
            ctx.ui.info(&format!("would remove {}", p.display()));
            continue;
        }
        let res = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        res.map_err(|source| StageError::Io {
            what: "removing",
            path: p.display().to_string(),
            source,
        })?;
        ctx.ui.debug(&format!("removed {}", p.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use crate::context::{Context, RunOptions};
    use crate::process::{FakeRunner, Output};
    use crate::ui::Ui;

    fn context(dir: &Path, runner: Arc<FakeRunner>) -> Context {
        let config =
            crate::config::parse_str(Path::new("vmbuild.toml"), "name = \"devhub\"\n").unwrap();
        Context::new(
            config,
            dir.to_owned(),
            runner,
            Arc::new(Ui::silent()),
            RunOptions::default(),
        )
    }

    /// A work dir as `-p -u` leave it.
    fn populate(dir: &Path) {
        let w = dir.join(".vmbuild");
        for d in [
            "vagrant/.vagrant/machines/devhub/libvirt",
            "base",
            "cache/iso",
            "packer/output",
        ] {
            std::fs::create_dir_all(w.join(d)).unwrap();
        }
        std::fs::write(
            w.join("vagrant/.vagrant/machines/devhub/libvirt/id"),
            "uuid",
        )
        .unwrap();
        std::fs::write(w.join("vagrant/Vagrantfile"), "# x").unwrap();
        std::fs::write(w.join("known_hosts"), "").unwrap();
        for f in ["admin-password", "admin-salt", "admin-hash"] {
            std::fs::write(w.join(f), "x").unwrap();
        }
        std::fs::create_dir_all(dir.join("builds")).unwrap();
        std::fs::write(dir.join("builds/.partial-x.box.123"), "half").unwrap();
        std::fs::write(dir.join("builds/devhub-libvirt.box"), "box").unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn clean_destroys_the_vm_and_keeps_caches_admin_password_and_boxes() {
        let dir = tempfile::tempdir().unwrap();
        populate(dir.path());
        let r = Arc::new(FakeRunner::new());
        super::run(&context(dir.path(), Arc::clone(&r))).unwrap();
        let argv: Vec<Vec<String>> = r.commands().iter().map(|c| c.argv()).collect();
        assert_eq!(argv, [["vagrant", "destroy", "-f", "--machine-readable"]]);
        assert_eq!(
            names(&dir.path().join(".vmbuild")),
            [
                "admin-hash",
                "admin-password",
                "admin-salt",
                "base",
                "cache"
            ]
        );
        assert_eq!(names(&dir.path().join("builds")), ["devhub-libvirt.box"]);
        // a second clean has nothing to destroy
        super::run(&context(dir.path(), Arc::clone(&r))).unwrap();
        assert_eq!(r.commands().len(), 1);
    }

    #[test]
    fn reset_destroys_a_known_vm_then_forgets_the_state() {
        let dir = tempfile::tempdir().unwrap();
        populate(dir.path());
        let r = Arc::new(FakeRunner::new());
        let status = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tools/vagrant/status-running.txt"
        ))
        .unwrap();
        r.on(
            &["vagrant", "status"],
            Output {
                code: Some(0),
                stdout: status,
                stderr: Vec::new(),
            },
        );
        crate::stage::reset::run(&context(dir.path(), Arc::clone(&r))).unwrap();
        let firsts: Vec<String> = r.commands().iter().map(|c| c.argv()[1].clone()).collect();
        assert_eq!(firsts, ["status", "destroy"]);
        assert!(!dir.path().join(".vmbuild/vagrant/.vagrant").exists());
        assert!(dir.path().join(".vmbuild/vagrant/Vagrantfile").exists());
    }
}
