//! The command lines of the disk build, as data.
use std::path::Path;

use serde::Deserialize;

use super::recipe::BaseDiskRecipe;
use crate::process::Cmd;

/// One msdos partition over the whole disk, bootable, starting at 1 MiB.
pub(super) const PARTITION_TABLE: &str = "label: dos\nstart=2048, type=83, bootable\n";

/// `sfdisk` writing [`PARTITION_TABLE`] into the raw image.
pub(super) fn sfdisk(raw: &Path) -> Cmd {
    Cmd::new("sfdisk")
        .arg("-q")
        .arg(raw)
        .stdin_bytes(PARTITION_TABLE)
}

/// Attach `raw` to a free loop device and print its name.
pub(super) fn losetup_attach(raw: &Path) -> Cmd {
    Cmd::new("losetup").args(["-f", "--show"]).arg(raw)
}

/// Detach a loop device.
pub(super) fn losetup_detach(dev: &str) -> Cmd {
    Cmd::new("losetup").args(["-d", dev])
}

/// All loop devices and their backing files, as JSON.
pub(super) fn losetup_list() -> Cmd {
    Cmd::new("losetup").args(["--list", "--json", "--output", "NAME,BACK-FILE"])
}

/// Add the partitions of `dev` to the kernel (no udev, and some kernels do not
/// scan loop devices: `losetup -P` would create no `loopNp1`).
pub(super) fn partx_add(dev: &str) -> Cmd {
    Cmd::new("partx").args(["-a", dev])
}

/// Remove the partitions of `dev` from the kernel.
pub(super) fn partx_delete(dev: &str) -> Cmd {
    Cmd::new("partx").args(["-d", dev])
}

/// The device of partition 1 of loop device `dev`.
pub(super) fn partition(dev: &str) -> String {
    format!("{dev}p1")
}

/// ext4 labelled `root`.
pub(super) fn mkfs(part: &str) -> Cmd {
    Cmd::new("mkfs.ext4").args(["-q", "-L", "root", part])
}

/// Mount `src` on `dst` (`bind` for /dev, /proc, ...).
pub(super) fn mount(src: &str, dst: &Path, bind: bool) -> Cmd {
    let c = Cmd::new("mount");
    let c = if bind { c.arg("--bind") } else { c };
    c.arg(src).arg(dst)
}

/// Unmount `dst`.
pub(super) fn umount(dst: &Path) -> Cmd {
    Cmd::new("umount").arg(dst)
}

/// debootstrap of the recipe into `root`, keeping downloaded .debs in `cache`.
pub(super) fn debootstrap(r: &BaseDiskRecipe, root: &Path, cache: &Path) -> Cmd {
    Cmd::new("debootstrap")
        .arg("--arch=amd64")
        .arg(format!("--include={}", r.packages.join(",")))
        .arg(format!("--cache-dir={}", cache.display()))
        .arg(&r.suite)
        .arg(root)
        .arg(&r.mirror)
        .interrupt_grace(5)
}

/// The file system UUID of `part`.
pub(super) fn blkid_uuid(part: &str) -> Cmd {
    Cmd::new("blkid").args(["-s", "UUID", "-o", "value", part])
}

/// A program run inside the new root.
pub(super) fn chroot<I, S>(root: &Path, argv: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Cmd::new("chroot")
        .arg(root)
        .args(argv)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LC_ALL", "C")
}

/// The in-root configuration steps, in order (after the files are written).
pub(super) fn configure(root: &Path, loop_dev: &str) -> Vec<Cmd> {
    vec![
        chroot(
            root,
            ["chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh"],
        ),
        chroot(root, ["chmod", "700", "/home/vagrant/.ssh"]),
        chroot(root, ["locale-gen"]),
        chroot(root, ["systemctl", "enable", "ssh-keygen-once.service"]),
        chroot(root, ["grub-install", "--target=i386-pc", loop_dev]),
        chroot(root, ["update-grub"]),
        chroot(root, ["apt-get", "clean"]),
    ]
}

/// The vagrant user (created before its files are written).
pub(super) fn useradd(root: &Path) -> Cmd {
    chroot(
        root,
        ["useradd", "-m", "-s", "/bin/bash", "-G", "sudo", "vagrant"],
    )
}

/// Punch holes for freed blocks: a smaller image.
pub(super) fn fstrim(root: &Path) -> Cmd {
    Cmd::new("fstrim").arg("-v").arg(root)
}

/// Flush the file system before unmounting.
pub(super) fn sync(root: &Path) -> Cmd {
    Cmd::new("sync").arg("-f").arg(root)
}

/// Read-only check: the image must be clean before it is copied.
pub(super) fn e2fsck(part: &str) -> Cmd {
    Cmd::new("e2fsck").args(["-fn", part])
}

/// A per-disk SSH key pair for Packer's communicator (no password baked in).
pub(super) fn ssh_keygen(key: &Path) -> Cmd {
    Cmd::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "vmbuild-packer",
            "-f",
        ])
        .arg(key)
}

/// `losetup --list --json` output.
#[derive(Debug, Deserialize)]
struct LoopList {
    #[serde(default)]
    loopdevices: Vec<LoopDevice>,
}

#[derive(Debug, Deserialize)]
struct LoopDevice {
    name: String,
    #[serde(rename = "back-file")]
    back_file: Option<String>,
}

/// Loop devices whose backing file lies in `dir` and starts with `prefix`
/// (leftovers of an interrupted build). Empty output means no devices.
pub(super) fn stale_loops(
    json: &str,
    dir: &Path,
    prefix: &str,
) -> Result<Vec<String>, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: LoopList = serde_json::from_str(json)?;
    let want = format!("{}/{prefix}", dir.display());
    Ok(list
        .loopdevices
        .into_iter()
        .filter(|d| d.back_file.as_deref().is_some_and(|b| b.starts_with(&want)))
        .map(|d| d.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_loops_match_only_our_partial_files() {
        let json = r#"{"loopdevices": [
            {"name": "/dev/loop0", "back-file": "/p/.vmbuild/base/.partial-ab.raw (deleted)"},
            {"name": "/dev/loop1", "back-file": "/other/disk.raw"},
            {"name": "/dev/loop2", "back-file": null}
        ]}"#;
        let got = stale_loops(json, Path::new("/p/.vmbuild/base"), ".partial-").unwrap();
        assert_eq!(got, ["/dev/loop0"]);
        assert!(
            stale_loops("", Path::new("/x"), ".partial-")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn argv_of_key_steps() {
        assert_eq!(
            sfdisk(Path::new("d.raw")).get_stdin().unwrap(),
            PARTITION_TABLE.as_bytes()
        );
        assert_eq!(
            mount("/dev", Path::new("/m/dev"), true).argv(),
            ["mount", "--bind", "/dev", "/m/dev"]
        );
        assert_eq!(partition("/dev/loop3"), "/dev/loop3p1");
        let r = crate::stage::debootstrap::recipe::BaseDiskRecipe::from_config(
            &crate::config::parse_str(Path::new("t"), "").unwrap(),
        );
        let d = debootstrap(&r, Path::new("/m"), Path::new("/c")).argv();
        assert_eq!(d[..2], ["debootstrap", "--arch=amd64"]);
        assert!(d[2].starts_with("--include=") && d[2].contains("openssh-server"));
        assert_eq!(d[4..], ["bookworm", "/m", "http://deb.debian.org/debian"]);
        let steps = configure(Path::new("/m"), "/dev/loop3");
        assert!(steps.iter().any(|c| c.argv()
            == [
                "chroot",
                "/m",
                "grub-install",
                "--target=i386-pc",
                "/dev/loop3"
            ]));
    }
}
