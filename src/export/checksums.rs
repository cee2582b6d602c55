//! One `<artifact>.sha256` file per artifact, in `sha256sum` format
//! (`HASH  NAME`, the bare file name), so `sha256sum -c x.ova.sha256` works in
//! `builds/`.
//!
//! Why per artifact rather than one `builds/SHA256SUMS`: each checksum file is
//! written atomically right after its artifact, by the run that made it, and
//! never needs rewriting when a later run replaces or removes only some
//! artifacts; a shared file would need a read-modify-write that can go stale
//! (or race with a concurrent run) and lists files that may be gone. A combined
//! list is still one command away: `cat builds/*.sha256`.
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Sha256Digest;
use crate::artifact;

/// The extension of checksum files.
pub const EXTENSION: &str = "sha256";

/// One `sha256sum` line. Names with a backslash or newline are escaped the
/// way GNU `sha256sum` does (line starts with `\`).
pub fn line(digest: &Sha256Digest, name: &str) -> String {
    if name.contains(['\\', '\n']) {
        let esc = name.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{}  {esc}\n", digest.hex())
    } else {
        format!("{}  {name}\n", digest.hex())
    }
}

/// The checksum file that belongs to `artifact_path`.
pub fn path_for(artifact_path: &Path) -> PathBuf {
    let mut s = artifact_path.as_os_str().to_owned();
    s.push(".");
    s.push(EXTENSION);
    PathBuf::from(s)
}

/// Write `<artifact>.sha256` atomically; returns its path.
pub fn write_for(artifact_path: &Path, digest: &Sha256Digest) -> io::Result<PathBuf> {
    let name = artifact_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dest = path_for(artifact_path);
    let mut f = artifact::AtomicFile::create(&dest)?;
    f.file().write_all(line(digest, &name).as_bytes())?;
    // temp files are created 0600; checksums are for sharing
    f.file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    f.commit()?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_sha256sum_format() {
        let d = Sha256Digest([0xab; 32]);
        assert_eq!(line(&d, "a.ova"), format!("{}  a.ova\n", "ab".repeat(32)));
        assert_eq!(line(&d, "a\\b"), format!("\\{}  a\\\\b\n", "ab".repeat(32)));
        assert_eq!(
            path_for(Path::new("builds/x.qcow2")),
            Path::new("builds/x.qcow2.sha256")
        );
    }

    #[test]
    fn sha256sum_accepts_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let art = dir.path().join("x.qcow2");
        std::fs::write(&art, b"abc").unwrap();
        let (d, _) = super::super::hash::hash_file(&art).unwrap();
        let sums = write_for(&art, &d).unwrap();
        // Inspecting with the system tool is fine in tests.
        let st = std::process::Command::new("sha256sum")
            .arg("-c")
            .arg(&sums)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stdout)
        );
    }
}
