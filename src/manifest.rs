//! The JSON manifest written next to each built box (`<box>.json`), and the
//! build cache it drives: a box is up to date when the hash of its inputs
//! equals the manifest's and the box still has the recorded size. A hit never
//! re-reads the box (that would cost seconds for a gigabyte).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's schema version.
pub const FORMAT_VERSION: u32 = 1;

/// What `builds/<name>-<provider>.box.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxManifest {
    /// Schema version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Appliance name.
    pub name: String,
    /// Vagrant provider of the box (`libvirt`, `virtualbox`).
    pub provider: String,
    /// Base-box builder used (`debootstrap`, `installer`).
    pub builder: String,
    /// SHA-256 over all inputs ([`input_hash`]): the cache key.
    pub input_hash: String,
    /// Each named input and its SHA-256.
    pub inputs: BTreeMap<String, String>,
    /// File name of the box, next to the manifest.
    pub box_file: String,
    /// Size of the box in bytes.
    pub box_size: u64,
    /// SHA-256 of the box, hex.
    pub box_sha256: String,
    /// Versions of the tools that built it (`packer`, `qemu-img`, `debootstrap`).
    pub tools: BTreeMap<String, String>,
    /// qemu accelerator used (`kvm`, `tcg`).
    pub accelerator: String,
    /// Seconds per phase (`base_disk`, `packer`, `hash`, `total`).
    pub timings_secs: BTreeMap<String, f64>,
    /// When the build finished (UTC, RFC 3339).
    pub created: String,
}

/// The manifest path for `box_path` (`x.box` → `x.box.json`).
pub fn path_for(box_path: &Path) -> PathBuf {
    let mut s = box_path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The cache key over named input hashes: order-independent, and a name
/// cannot be confused with a value.
pub fn input_hash(inputs: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in inputs {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// Whether a box is up to date, and if not why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Manifest matches and the box is there with its recorded size.
    UpToDate,
    /// It must be (re)built, for this reason.
    Stale(String),
}

/// Read a manifest; `Ok(None)` when there is none.
pub fn read(path: &Path) -> std::io::Result<Option<BoxManifest>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Write `m` to `path` atomically (pretty JSON, trailing newline, mode 0644
/// like the box it describes).
pub fn write(path: &Path, m: &BoxManifest) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut text = serde_json::to_string_pretty(m).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut f = crate::artifact::AtomicFile::create(path)?;
    f.file().write_all(text.as_bytes())?;
    f.file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    f.commit().map(|_| ())
}

/// Compare the box at `box_path` and its manifest with `input_hash`.
/// An unreadable or corrupt manifest counts as stale (it is rewritten).
pub fn freshness(box_path: &Path, input_hash: &str) -> Freshness {
    let m = match read(&path_for(box_path)) {
        Ok(Some(m)) => m,
        Ok(None) => return Freshness::Stale("no manifest yet".into()),
        Err(e) => return Freshness::Stale(format!("manifest unreadable ({e})")),
    };
    if m.input_hash != input_hash {
        let changed = "inputs changed".to_owned();
        return Freshness::Stale(changed);
    }
    match std::fs::metadata(box_path) {
        Ok(md) if md.len() == m.box_size => Freshness::UpToDate,
        Ok(md) => Freshness::Stale(format!(
            "box size {} differs from the manifest's {}",
            md.len(),
            m.box_size
        )),
        Err(_) => Freshness::Stale("box file missing".into()),
    }
}

/// Names of inputs that differ between `old` and `new` (for the log).
pub fn changed_inputs(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut names: Vec<String> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(new.keys().filter(|k| !old.contains_key(*k)).cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(hash: &str, size: u64) -> BoxManifest {
        BoxManifest {
            format_version: FORMAT_VERSION,
            name: "a".into(),
            provider: "libvirt".into(),
            builder: "debootstrap".into(),
            input_hash: hash.into(),
            inputs: BTreeMap::new(),
            box_file: "a-libvirt.box".into(),
            box_size: size,
            box_sha256: "00".into(),
            tools: BTreeMap::new(),
            accelerator: "tcg".into(),
            timings_secs: BTreeMap::new(),
            created: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn input_hash_is_order_independent_and_unambiguous() {
        let a: BTreeMap<_, _> = [("x".to_owned(), "1".to_owned()), ("y".into(), "2".into())].into();
        let b: BTreeMap<_, _> = [("y".to_owned(), "2".to_owned()), ("x".into(), "1".into())].into();
        assert_eq!(input_hash(&a), input_hash(&b));
        let c: BTreeMap<_, _> = [("x1".to_owned(), "".to_owned())].into();
        let d: BTreeMap<_, _> = [("x".to_owned(), "1".to_owned())].into();
        assert_ne!(input_hash(&c), input_hash(&d));
    }

    #[test]
    fn freshness_needs_manifest_hash_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("a-libvirt.box");
        assert!(matches!(freshness(&b, "h"), Freshness::Stale(_)));
        std::fs::write(&b, b"12345").unwrap();
        write(&path_for(&b), &manifest("h", 5)).unwrap();
        assert_eq!(freshness(&b, "h"), Freshness::UpToDate);
        assert_eq!(
            freshness(&b, "other"),
            Freshness::Stale("inputs changed".into())
        );
        std::fs::write(&b, b"1234").unwrap();
        assert!(matches!(freshness(&b, "h"), Freshness::Stale(r) if r.contains("size")));
        std::fs::write(path_for(&b), b"{not json").unwrap();
        assert!(matches!(freshness(&b, "h"), Freshness::Stale(r) if r.contains("unreadable")));
    }

    #[test]
    fn changed_inputs_lists_added_removed_and_modified() {
        let old: BTreeMap<_, _> =
            [("a".to_owned(), "1".to_owned()), ("b".into(), "2".into())].into();
        let new: BTreeMap<_, _> =
            [("a".to_owned(), "9".to_owned()), ("c".into(), "3".into())].into();
        assert_eq!(changed_inputs(&old, &new), ["a", "b", "c"]);
    }
}
