//! qemu-img: argv builders and the `info --output=json` parser.
use std::path::Path;

use serde::Deserialize;

use crate::process::Cmd;

/// `qemu-img convert` from `src` (format probed unless given) to `dst`.
/// `options` are `-o` creation options, e.g. `subformat=streamOptimized`.
pub fn convert(
    src: &Path,
    src_format: Option<&str>,
    dst: &Path,
    dst_format: &str,
    compress: bool,
    options: &[&str],
) -> Cmd {
    let mut c = Cmd::new("qemu-img").arg("convert");
    if let Some(f) = src_format {
        c = c.args(["-f", f]);
    }
    c = c.args(["-O", dst_format]);
    if compress {
        c = c.arg("-c");
    }
    if !options.is_empty() {
        c = c.args(["-o", &options.join(",")]);
    }
    c.arg(src).arg(dst)
}

/// `qemu-img create` of a qcow2 `overlay` whose backing file is the qcow2
/// `base` (absolute, so the overlay works from anywhere); writes go to the
/// overlay, the base stays untouched.
pub fn overlay(base: &Path, overlay: &Path) -> Cmd {
    Cmd::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(std::path::absolute(base).unwrap_or_else(|_| base.to_owned()))
        .arg(overlay)
}

/// `qemu-img info --output=json`.
pub fn info(image: &Path) -> Cmd {
    Cmd::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(image)
}

/// `qemu-img check` (qcow2 consistency).
pub fn check(image: &Path) -> Cmd {
    Cmd::new("qemu-img").arg("check").arg(image)
}

/// The parts of `qemu-img info --output=json` we use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageInfo {
    /// Image format (`qcow2`, `vmdk`, `raw`).
    pub format: String,
    /// Size the guest sees, in bytes.
    #[serde(rename = "virtual-size")]
    pub virtual_size: u64,
    /// Bytes used on the host.
    #[serde(rename = "actual-size", default)]
    pub actual_size: u64,
}

/// Parse `qemu-img info --output=json` output.
pub fn parse_info(json: &str) -> Result<ImageInfo, serde_json::Error> {
    serde_json::from_str(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convert_argv() {
        let c = convert(
            Path::new("a.raw"),
            Some("raw"),
            Path::new("b.vmdk"),
            "vmdk",
            false,
            &["subformat=streamOptimized"],
        );
        assert_eq!(
            c.argv(),
            [
                "qemu-img",
                "convert",
                "-f",
                "raw",
                "-O",
                "vmdk",
                "-o",
                "subformat=streamOptimized",
                "a.raw",
                "b.vmdk"
            ]
        );
        let c = convert(
            Path::new("a.qcow2"),
            None,
            Path::new("b.qcow2"),
            "qcow2",
            true,
            &[],
        );
        assert_eq!(
            c.argv(),
            [
                "qemu-img", "convert", "-O", "qcow2", "-c", "a.qcow2", "b.qcow2"
            ]
        );
    }

    #[test]
    fn parses_captured_info() {
        let sample = r#"{
    "children": [],
    "virtual-size": 8589934592,
    "filename": "debian12.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 1073741824,
    "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false, "refcount-bits": 16, "corrupt": false, "extended-l2": false}},
    "dirty-flag": false
}"#;
        let i = parse_info(sample).unwrap();
        assert_eq!(
            i,
            ImageInfo {
                format: "qcow2".into(),
                virtual_size: 8 << 30,
                actual_size: 1 << 30
            }
        );
    }
}
