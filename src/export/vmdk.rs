//! The streamOptimized VMDK (the disk format OVF packages carry).
use std::path::Path;

use crate::process::Cmd;
use crate::tool::qemu_img;

/// Convert `src` (of format `src_format`) to a streamOptimized VMDK at `dst`.
pub fn convert_cmd(src: &Path, src_format: &str, dst: &Path) -> Cmd {
    qemu_img::convert(
        src,
        Some(src_format),
        dst,
        "vmdk",
        false,
        &["subformat=streamOptimized"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv() {
        let c = convert_cmd(Path::new("in.img"), "raw", Path::new("out.vmdk"));
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
                "in.img",
                "out.vmdk"
            ]
        );
    }
}
