//! The compressed qcow2 artifact: `qemu-img convert -O qcow2 -c`.
use std::path::Path;

use crate::process::Cmd;
use crate::tool::qemu_img;

/// Convert `src` (of format `src_format`) to a compressed qcow2 at `dst`.
/// The source format is always given: probing a raw image is unsafe.
pub fn convert_cmd(src: &Path, src_format: &str, dst: &Path) -> Cmd {
    qemu_img::convert(src, Some(src_format), dst, "qcow2", true, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv() {
        let c = convert_cmd(Path::new("in.img"), "qcow2", Path::new("out.qcow2"));
        assert_eq!(
            c.argv(),
            [
                "qemu-img",
                "convert",
                "-f",
                "qcow2",
                "-O",
                "qcow2",
                "-c",
                "in.img",
                "out.qcow2"
            ]
        );
    }
}
