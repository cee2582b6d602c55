//! The command lines the audit runs (pure; run through [`crate::process`]),
//! and parsers for their output.
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use super::source::DiskFormat;
use crate::process::Cmd;

/// The disk as the storage daemon should open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec<'a> {
    /// The file holding it.
    pub file: &'a Path,
    /// `(offset, size)` when it is a member of an archive.
    pub slice: Option<(u64, u64)>,
    /// Its format.
    pub format: DiskFormat,
}

/// `qemu-storage-daemon` exporting the disk read-only, as a raw image, over
/// FUSE at `export` (an existing empty file). It daemonizes once the export
/// is ready and writes its pid to `pidfile`. The image file is opened
/// read-only; every node is read-only.
pub fn storage_daemon(disk: &DiskSpec<'_>, export: &Path, pidfile: &Path) -> Cmd {
    let mut nodes = vec![json!({
        "driver": "file",
        "node-name": "file0",
        "filename": disk.file.to_string_lossy(),
        "read-only": true,
    })];
    let mut top = "file0";
    if let Some((offset, size)) = disk.slice {
        nodes.push(json!({
            "driver": "raw",
            "node-name": "slice0",
            "file": top,
            "offset": offset,
            "size": size,
            "read-only": true,
        }));
        top = "slice0";
    }
    if disk.format != DiskFormat::Raw {
        nodes.push(json!({
            "driver": disk.format.driver(),
            "node-name": "disk0",
            "file": top,
            "read-only": true,
        }));
        top = "disk0";
    }
    let mut cmd = Cmd::new("qemu-storage-daemon")
        .arg("--daemonize")
        .arg("--pidfile")
        .arg(pidfile);
    for n in nodes {
        cmd = cmd.arg("--blockdev").arg(n.to_string());
    }
    cmd.arg("--export").arg(
        json!({
            "type": "fuse",
            "id": "export0",
            "node-name": top,
            "mountpoint": export.to_string_lossy(),
            "writable": false,
            "allow-other": "off",
        })
        .to_string(),
    )
}

/// `sfdisk --json` of the exported disk (read only).
pub fn sfdisk(disk: &Path) -> Cmd {
    Cmd::new("sfdisk").arg("--json").arg(disk)
}

/// `blkid` probing the filesystem at `offset` (read only).
pub fn blkid(disk: &Path, offset: u64, size: u64) -> Cmd {
    Cmd::new("blkid")
        .args(["--probe", "--output", "export", "--offset"])
        .arg(offset.to_string())
        .arg("--size")
        .arg(size.to_string())
        .arg(disk)
}

/// Mount options that read a filesystem without writing to it: no journal
/// replay, no log recovery.
pub fn read_only_options(fstype: &str) -> Option<&'static str> {
    match fstype {
        "ext2" | "ext3" | "ext4" => Some("ro,noload"),
        "xfs" => Some("ro,norecovery"),
        "btrfs" => Some("ro,rescue=nologreplay"),
        _ => None,
    }
}

/// Mount the filesystem at `offset` of `disk` read-only on `target` through
/// a loop device (`mount -o loop` sets it to free itself with the mount).
pub fn mount(disk: &Path, fstype: &str, offset: u64, size: u64, target: &Path) -> Option<Cmd> {
    let ro = read_only_options(fstype)?;
    Some(
        Cmd::new("mount")
            .args(["-t", fstype, "-o"])
            .arg(format!(
                "{ro},nosuid,nodev,noexec,loop,offset={offset},sizelimit={size}"
            ))
            .arg(disk)
            .arg(target),
    )
}

/// One partition from `sfdisk --json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its number (1-based, as sfdisk names it), 0 for a whole-disk filesystem.
    pub number: u32,
    /// First byte.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
    /// The partition type as sfdisk prints it.
    pub kind: String,
}

#[derive(Deserialize)]
struct SfdiskOut {
    partitiontable: Table,
}

#[derive(Deserialize)]
struct Table {
    #[serde(default)]
    sectorsize: Option<u64>,
    #[serde(default)]
    partitions: Vec<SfPart>,
}

#[derive(Deserialize)]
struct SfPart {
    node: String,
    start: u64,
    size: u64,
    #[serde(rename = "type")]
    kind: String,
}

/// DOS extended-partition containers: no filesystem of their own.
const EXTENDED: [&str; 3] = ["5", "f", "85"];

/// The partitions that may hold a filesystem.
pub fn parse_sfdisk(json: &str) -> Result<Vec<Partition>, serde_json::Error> {
    let out: SfdiskOut = serde_json::from_str(json)?;
    let sector = out.partitiontable.sectorsize.unwrap_or(512);
    Ok(out
        .partitiontable
        .partitions
        .into_iter()
        .filter(|p| !EXTENDED.contains(&p.kind.to_ascii_lowercase().as_str()))
        .map(|p| Partition {
            number: p
                .node
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            offset: p.start * sector,
            size: p.size * sector,
            kind: p.kind,
        })
        .collect())
}

/// `TYPE` from `blkid --output export`.
pub fn parse_blkid_type(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("TYPE="))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_daemon_opens_everything_read_only() {
        let c = storage_daemon(
            &DiskSpec {
                file: Path::new("/b/x,y.ova"),
                slice: Some((1536, 4096)),
                format: DiskFormat::Vmdk,
            },
            Path::new("/t/disk.raw"),
            Path::new("/t/qsd.pid"),
        );
        let argv = c.argv();
        assert_eq!(
            &argv[..4],
            [
                "qemu-storage-daemon",
                "--daemonize",
                "--pidfile",
                "/t/qsd.pid"
            ]
        );
        assert_eq!(
            argv[5],
            r#"{"driver":"file","filename":"/b/x,y.ova","node-name":"file0","read-only":true}"#
        );
        assert_eq!(
            argv[7],
            r#"{"driver":"raw","file":"file0","node-name":"slice0","offset":1536,"read-only":true,"size":4096}"#
        );
        assert_eq!(
            argv[9],
            r#"{"driver":"vmdk","file":"slice0","node-name":"disk0","read-only":true}"#
        );
        assert_eq!(
            argv[11],
            r#"{"allow-other":"off","id":"export0","mountpoint":"/t/disk.raw","node-name":"disk0","type":"fuse","writable":false}"#
        );
    }

    #[test]
    fn raw_disks_are_exported_without_a_format_node() {
        let c = storage_daemon(
            &DiskSpec {
                file: Path::new("/d.raw"),
                slice: None,
                format: DiskFormat::Raw,
            },
            Path::new("/e"),
            Path::new("/p"),
        );
        assert!(c.argv()[7].contains(r#""node-name":"file0""#));
        assert_eq!(c.argv().len(), 8);
    }

    #[test]
    fn sfdisk_json_gives_byte_offsets_without_extended_partitions() {
        let json = r#"{"partitiontable": {"label": "dos", "id": "0x1", "device": "/t/disk.raw",
          "unit": "sectors", "sectorsize": 512, "partitions": [
            {"node": "/t/disk.raw1", "start": 2048, "size": 41940992, "type": "83", "bootable": true},
            {"node": "/t/disk.raw2", "start": 41943040, "size": 2048, "type": "5"},
            {"node": "/t/disk.raw5", "start": 41945088, "size": 1024, "type": "82"}]}}"#;
        let p = parse_sfdisk(json).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0],
            Partition {
                number: 1,
                offset: 1_048_576,
                size: 41_940_992 * 512,
                kind: "83".into()
            }
        );
        assert_eq!(p[1].number, 5);
    }

    #[test]
    fn blkid_and_mount_options() {
        assert_eq!(
            parse_blkid_type("UUID=1\nTYPE=ext4\nUSAGE=filesystem\n").as_deref(),
            Some("ext4")
        );
        assert_eq!(parse_blkid_type("PTTYPE=dos\n"), None);
        let m = mount(Path::new("/d"), "ext4", 512, 1024, Path::new("/m")).unwrap();
        assert_eq!(
            m.argv(),
            [
                "mount",
                "-t",
                "ext4",
                "-o",
                "ro,noload,nosuid,nodev,noexec,loop,offset=512,sizelimit=1024",
                "/d",
                "/m"
            ]
        );
        assert!(mount(Path::new("/d"), "vfat", 0, 1, Path::new("/m")).is_none());
    }
}
