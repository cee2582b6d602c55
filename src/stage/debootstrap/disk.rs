//! Building the base disk: raw image → partition → ext4 → debootstrap →
//! configure → check → qcow2. Everything happens under temporary names
//! (`.partial-*`) in the base-disk directory, in a private mount namespace of
//! the building thread; a guard undoes mounts and loop devices however the
//! build ends, and the next run sweeps what a killed build left behind.
use std::path::{Path, PathBuf};

use super::BaseDisk;
use super::cmds;
use super::progress::{PhaseDisplay, debootstrap_phase};
use super::recipe::BaseDiskRecipe;
use super::sys;
use crate::artifact::PARTIAL_PREFIX;
use crate::context::Context;
use crate::error::Error;
use crate::process::Cmd;
use crate::stage::StageError;
use crate::stage::io_err;

/// Undoes mounts and the loop device on drop (interrupt, error or panic),
/// then removes the partial files and the (now empty) mount point.
struct Guard {
    mounts: Vec<PathBuf>,
    loop_dev: Option<String>,
    /// The orphan guard's `losetup -d` for the loop device, in case vmbuild
    /// is killed outright (then this Drop never runs; the mounts die with
    /// the process's mount namespace). Disarmed once the device is detached.
    detach_on_death: Option<(
        crate::process::guard::Cleanup,
        crate::process::guard::Cleanup,
    )>,
    files: Vec<PathBuf>,
    mount_point: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for m in self.mounts.drain(..).rev() {
            let _ = sys::lazy_umount(&m);
        }
        if let Some(dev) = self.loop_dev.take() {
            let _ = sys::detach_loop(Path::new(&dev), 1);
        }
        if let Some((a, b)) = self.detach_on_death.take() {
            a.disarm();
            b.disarm();
        }
        for f in self.files.drain(..) {
            let _ = std::fs::remove_file(f);
        }
        // never recursive: after a lazy unmount it is empty; if not, leave it
        // to the next run's sweep rather than risk deleting through a mount
        let _ = std::fs::remove_dir(&self.mount_point);
    }
}

/// Paths of one base-disk build in progress.
struct Partial {
    raw: PathBuf,
    mnt: PathBuf,
    qcow2: PathBuf,
    key: PathBuf,
    kernel: PathBuf,
}

impl Partial {
    fn new(disk: &BaseDisk) -> Self {
        let p = |ext: &str| {
            disk.dir
                .join(format!("{PARTIAL_PREFIX}{}.{ext}", disk.stem))
        };
        Partial {
            raw: p("raw"),
            mnt: p("mnt"),
            qcow2: p("qcow2"),
            key: p("id_ed25519"),
            kernel: p("vmlinuz"),
        }
    }
}

/// Build `disk` from `recipe` (on a thread of its own: the mount namespace).
pub(super) fn build(ctx: &Context, recipe: &BaseDiskRecipe, disk: &BaseDisk) -> Result<(), Error> {
    std::thread::scope(|s| {
        s.spawn(|| {
            if !ctx.runner.is_dry_run() {
                sys::enter_private_mount_namespace()
                    .map_err(io_err("entering a private mount namespace", Path::new("/")))?;
            }
            build_here(ctx, recipe, disk)
        })
        .join()
        .unwrap_or_else(|_| {
            Err(StageError::Unexpected("the disk-building thread panicked".into()).into())
        })
    })
}

fn run(ctx: &Context, cmd: &Cmd) -> Result<String, Error> {
    Ok(ctx.runner.run(cmd)?.stdout_str().trim().to_owned())
}

fn build_here(ctx: &Context, recipe: &BaseDiskRecipe, disk: &BaseDisk) -> Result<(), Error> {
    let dry = ctx.runner.is_dry_run();
    std::fs::create_dir_all(&disk.dir).map_err(io_err("creating", &disk.dir))?;
    std::fs::create_dir_all(&disk.deb_cache).map_err(io_err("creating", &disk.deb_cache))?;
    sweep_stale(ctx, &disk.dir)?;
    let p = Partial::new(disk);
    let mut guard = Guard {
        mounts: Vec::new(),
        loop_dev: None,
        detach_on_death: None,
        files: vec![
            p.raw.clone(),
            p.qcow2.clone(),
            p.key.clone(),
            p.key.with_extension("id_ed25519.pub"),
            p.kernel.clone(),
        ],
        mount_point: p.mnt.clone(),
    };

    run(ctx, &cmds::ssh_keygen(&p.key))?;
    let raw = std::fs::File::create(&p.raw).map_err(io_err("creating", &p.raw))?;
    raw.set_len(u64::from(recipe.disk_gb) << 30)
        .map_err(io_err("sizing", &p.raw))?;
    drop(raw);
    run(ctx, &cmds::sfdisk(&p.raw))?;
    let dev = run(ctx, &cmds::losetup_attach(&p.raw))?;
    let dev = if dry { "/dev/loopN".to_owned() } else { dev };
    guard.loop_dev = Some(dev.clone());
    // the partitions partx adds go first (clean-ups run newest first)
    guard.detach_on_death = (!dry).then(|| {
        (
            crate::process::guard::on_exit(&["losetup".to_owned(), "-d".to_owned(), dev.clone()]),
            crate::process::guard::on_exit(&["partx".to_owned(), "-d".to_owned(), dev.clone()]),
        )
    });
    let _ = ctx.runner.run_unchecked(&cmds::partx_delete(&dev))?;
    run(ctx, &cmds::partx_add(&dev))?;
    let part = cmds::partition(&dev);
    run(ctx, &cmds::mkfs(&part))?;
    std::fs::create_dir_all(&p.mnt).map_err(io_err("creating", &p.mnt))?;
    run(ctx, &cmds::mount(&part, &p.mnt, false))?;
    guard.mounts.push(p.mnt.clone());

    debootstrap(ctx, recipe, &p.mnt, &disk.deb_cache)?;
    ctx.ui.info("configuring the base system");
    for d in ["dev", "dev/pts", "proc", "sys"] {
        let target = p.mnt.join(d);
        run(ctx, &cmds::mount(&format!("/{d}"), &target, true))?;
        guard.mounts.push(target);
    }
    let uuid = run(ctx, &cmds::blkid_uuid(&part))?;
    run(ctx, &cmds::useradd(&p.mnt))?;
    if !dry {
        let pubkey = std::fs::read_to_string(p.key.with_extension("id_ed25519.pub"))
            .map_err(io_err("reading", &p.key))?;
        write_files(&p.mnt, &recipe.files(&uuid, &pubkey), &recipe.timezone)?;
    }
    for c in cmds::configure(&p.mnt, &dev) {
        run(ctx, &c)?;
    }
    if !dry {
        finish_root(&p.mnt, &dev, &uuid)?;
        copy_kernel(&p.mnt, &p.kernel)?;
    }
    run(ctx, &cmds::fstrim(&p.mnt))?;
    run(ctx, &cmds::sync(&p.mnt))?;
    while let Some(m) = guard.mounts.pop() {
        run(ctx, &cmds::umount(&m))?;
    }
    run(ctx, &cmds::e2fsck(&part))?;
    let _ = ctx.runner.run_unchecked(&cmds::partx_delete(&dev))?;
    run(ctx, &cmds::losetup_detach(&dev))?;
    guard.loop_dev = None;
    if let Some((a, b)) = guard.detach_on_death.take() {
        a.disarm();
        b.disarm();
    }

    ctx.ui.info("converting the base disk to qcow2");
    run(
        ctx,
        &crate::tool::qemu_img::convert(&p.raw, Some("raw"), &p.qcow2, "qcow2", false, &[]),
    )?;
    if dry {
        return Ok(());
    }
    // the qcow2 last: its presence is what makes the cache valid
    rename(&p.key, &disk.key)?;
    rename(
        &p.key.with_extension("id_ed25519.pub"),
        &disk.key.with_extension("id_ed25519.pub"),
    )?;
    rename(&p.kernel, &disk.kernel)?;
    rename(&p.qcow2, &disk.qcow2)
}

fn debootstrap(
    ctx: &Context,
    recipe: &BaseDiskRecipe,
    root: &Path,
    cache: &Path,
) -> Result<(), Error> {
    let mut display = PhaseDisplay::new(&ctx.ui, "debootstrap");
    display.phase(&format!(
        "debootstrap {} from {}",
        recipe.suite, recipe.mirror
    ));
    let mut rank = 0;
    ctx.runner
        .stream(&cmds::debootstrap(recipe, root, cache), &mut |_, line| {
            if let Some((r, ph)) = debootstrap_phase(line).filter(|(r, _)| *r >= rank) {
                rank = r;
                display.phase(ph);
            }
            display.detail(line);
        })?;
    display.finish();
    Ok(())
}

fn write_files(root: &Path, files: &[(String, String, u32)], timezone: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for (rel, text, mode) in files {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        }
        std::fs::write(&path, text).map_err(io_err("writing", &path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
            .map_err(io_err("chmod", &path))?;
    }
    let localtime = root.join("etc/localtime");
    let _ = std::fs::remove_file(&localtime);
    std::os::unix::fs::symlink(format!("/usr/share/zoneinfo/{timezone}"), &localtime)
        .map_err(io_err("linking", &localtime))
}

/// Fix what a chroot without udev gets wrong, and make the image generic.
fn finish_root(root: &Path, dev: &str, uuid: &str) -> Result<(), Error> {
    // no /dev/disk/by-uuid without udev: grub-mkconfig wrote the loop partition
    let cfg = root.join("boot/grub/grub.cfg");
    let text = std::fs::read_to_string(&cfg).map_err(io_err("reading", &cfg))?;
    let fixed = text.replace(
        &format!("root={}", cmds::partition(dev)),
        &format!("root=UUID={uuid}"),
    );
    if !fixed.contains(&format!("root=UUID={uuid}")) {
        return Err(StageError::Unexpected(format!(
            "`{}` names no root=UUID={uuid} after the fix-up",
            cfg.display()
        ))
        .into());
    }
    std::fs::write(&cfg, fixed).map_err(io_err("writing", &cfg))?;
    let mid = root.join("etc/machine-id");
    std::fs::write(&mid, "").map_err(io_err("truncating", &mid))?;
    let _ = std::fs::remove_file(root.join("var/lib/dbus/machine-id"));
    Ok(())
}

/// Keep the guest kernel: the KVM probe boots it.
fn copy_kernel(root: &Path, dest: &Path) -> Result<(), Error> {
    let boot = root.join("boot");
    let kernel = std::fs::read_dir(&boot)
        .map_err(io_err("listing", &boot))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .max()
        .ok_or_else(|| StageError::Unexpected(format!("no kernel in `{}`", boot.display())))?;
    std::fs::copy(&kernel, dest).map_err(io_err("copying", &kernel))?;
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::rename(from, to).map_err(io_err("renaming", from))
}

/// Undo what an interrupted or killed build left: loop devices on our partial
/// images (their mounts died with that build's namespace), then the files.
fn sweep_stale(ctx: &Context, dir: &Path) -> Result<(), Error> {
    if ctx.runner.is_dry_run() {
        return Ok(());
    }
    let out = ctx.runner.run(&cmds::losetup_list())?;
    let stale = cmds::stale_loops(&out.stdout_str(), dir, PARTIAL_PREFIX).map_err(|e| {
        StageError::Unexpected(format!("cannot read `losetup --list --json` output: {e}"))
    })?;
    for dev in stale {
        ctx.ui
            .warn(&format!("detaching {dev} left by an interrupted build"));
        let _ = ctx.runner.run_unchecked(&cmds::partx_delete(&dev))?;
        let _ = ctx.runner.run_unchecked(&cmds::losetup_detach(&dev))?;
    }
    let entries = std::fs::read_dir(dir).map_err(io_err("listing", dir))?;
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX) {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            // a mount point of a live build elsewhere would not be empty here
            // (private namespaces), so refuse rather than recurse into it
            if is_mount_point(&path) {
                let _ = sys::lazy_umount(&path);
            }
            std::fs::remove_dir(&path)
                .or_else(|_| std::fs::remove_dir_all(&path))
                .map_err(io_err("removing", &path))?;
        } else {
            std::fs::remove_file(&path).map_err(io_err("removing", &path))?;
        }
    }
    Ok(())
}

fn is_mount_point(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}
