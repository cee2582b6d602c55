//! The Glance image attributes and properties vmbuild sets, computed from the
//! configuration and overridable in `[openstack.properties]`.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::error::CloudError;
use crate::config::Config;

/// What `POST /v2/images` gets besides the name.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageProperties {
    /// `qcow2`, `raw`, `vmdk`, ...
    pub disk_format: String,
    /// `bare` for a plain disk.
    pub container_format: String,
    /// Minimum disk in GiB (`min_disk`).
    pub min_disk: u64,
    /// Minimum RAM in MiB (`min_ram`).
    pub min_ram: u64,
    /// Free-form properties (`os_distro`, `hw_disk_bus`, ...), all strings.
    pub extra: BTreeMap<String, String>,
}

/// Attributes Glance sets itself; the API refuses them in a create request.
const READ_ONLY: &[&str] = &[
    "id",
    "name",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "owner",
    "created_at",
    "updated_at",
    "os_hash_algo",
    "os_hash_value",
    "file",
    "self",
    "schema",
    "locations",
    "direct_url",
    "stores",
];

/// The Debian release number of a suite name (`os_version` wants numbers).
fn debian_version(suite: &str) -> String {
    match suite {
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        other => other,
    }
    .to_owned()
}

/// The properties for an image built from `config`, in `disk_format`, with
/// `openstack.properties` applied over the computed ones (an empty string
/// removes a computed property).
pub fn compute_properties(
    config: &Config,
    disk_format: &str,
) -> Result<ImageProperties, CloudError> {
    let mut extra = BTreeMap::new();
    extra.insert("os_distro".to_owned(), "debian".to_owned());
    extra.insert("os_version".to_owned(), debian_version(&config.base.suite));
    extra.insert("hw_disk_bus".to_owned(), "virtio".to_owned());
    let agent = config
        .base
        .extra_packages
        .iter()
        .any(|p| p == "qemu-guest-agent");
    extra.insert(
        "hw_qemu_guest_agent".to_owned(),
        if agent { "yes" } else { "no" }.to_owned(),
    );
    extra.insert("architecture".to_owned(), std::env::consts::ARCH.to_owned());
    let mut p = ImageProperties {
        disk_format: disk_format.to_owned(),
        container_format: "bare".to_owned(),
        min_disk: u64::from(config.vm.disk_gb),
        min_ram: u64::from(config.vm.memory_mb),
        extra,
    };
    for (key, value) in &config.openstack.properties {
        apply_override(&mut p, key, value)?;
    }
    Ok(p)
}

fn apply_override(
    p: &mut ImageProperties,
    key: &str,
    value: &toml::Value,
) -> Result<(), CloudError> {
    let bad = |why: &str| CloudError::Config(format!("`openstack.properties.{key}` {why}"));
    if READ_ONLY.contains(&key) {
        return Err(bad(
            "is set by Glance (or by `--name`/`openstack.image_name`) and cannot be given here",
        ));
    }
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => return Err(bad("must be a string, number or boolean")),
    };
    let number = |t: &str| {
        t.parse::<u64>()
            .map_err(|_| bad("must be a non-negative whole number"))
    };
    match key {
        "disk_format" | "container_format" if text.is_empty() => {
            return Err(bad("cannot be empty"));
        }
        "disk_format" => p.disk_format = text,
        "container_format" => p.container_format = text,
        "min_disk" => p.min_disk = number(&text)?,
        "min_ram" => p.min_ram = number(&text)?,
        _ if text.is_empty() => {
            p.extra.remove(key);
        }
        _ => {
            p.extra.insert(key.to_owned(), text);
        }
    }
    Ok(())
}

impl ImageProperties {
    /// The `POST /v2/images` body for an image called `name`.
    pub fn create_body(&self, name: &str) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("disk_format".into(), json!(self.disk_format));
        m.insert("container_format".into(), json!(self.container_format));
        m.insert("min_disk".into(), json!(self.min_disk));
        m.insert("min_ram".into(), json!(self.min_ram));
        for (k, v) in &self.extra {
            m.insert(k.clone(), json!(v));
        }
        Value::Object(m)
    }
}

/// The disk format of an image file, from its magic bytes, else its extension.
pub fn detect_disk_format(path: &Path) -> std::io::Result<&'static str> {
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut head)?;
    Ok(disk_format_of(&head[..n], path))
}

fn disk_format_of(head: &[u8], path: &Path) -> &'static str {
    if head.starts_with(b"QFI\xfb") {
        return "qcow2";
    }
    if head.starts_with(b"KDMV") {
        return "vmdk";
    }
    if head.starts_with(b"vhdxfile") {
        return "vhdx";
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("vmdk") => "vmdk",
        Some("vdi") => "vdi",
        Some("vhd") => "vhd",
        Some("iso") => "iso",
        _ => "raw",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        crate::config::parse_str(Path::new("t.toml"), "").unwrap()
    }

    #[test]
    fn computed_from_default_config() {
        let p = compute_properties(&config(), "qcow2").unwrap();
        assert_eq!(p.disk_format, "qcow2");
        assert_eq!(p.container_format, "bare");
        assert_eq!(p.min_disk, 20);
        assert_eq!(p.min_ram, 2048);
        assert_eq!(p.extra["os_distro"], "debian");
        assert_eq!(p.extra["os_version"], "12");
        assert_eq!(p.extra["hw_disk_bus"], "virtio");
        assert_eq!(p.extra["hw_qemu_guest_agent"], "no");
        let body = p.create_body("img");
        assert_eq!(body["name"], "img");
        assert_eq!(body["min_ram"], 2048);
        assert_eq!(body["os_version"], "12");
    }

    #[test]
    fn overrides_replace_add_and_remove() {
        let mut c = config();
        c.base.extra_packages.push("qemu-guest-agent".into());
        c.base.suite = "trixie".into();
        c.openstack.properties = toml::from_str(
            "min_disk = 8\nmin_ram = \"512\"\nhw_disk_bus = \"scsi\"\nhw_scsi_model = \"virtio-scsi\"\narchitecture = \"\"\nos_require_quiesce = true",
        )
        .unwrap();
        let p = compute_properties(&c, "raw").unwrap();
        assert_eq!((p.min_disk, p.min_ram), (8, 512));
        assert_eq!(p.extra["hw_disk_bus"], "scsi");
        assert_eq!(p.extra["hw_scsi_model"], "virtio-scsi");
        assert_eq!(p.extra["hw_qemu_guest_agent"], "yes");
        assert_eq!(p.extra["os_version"], "13");
        assert_eq!(p.extra["os_require_quiesce"], "true");
        assert!(!p.extra.contains_key("architecture"));
    }

    #[test]
    fn bad_overrides_are_refused() {
        let mut c = config();
        for (toml_text, want) in [
            ("min_disk = -1", "whole number"),
            ("checksum = \"x\"", "set by Glance"),
            ("tags = [\"a\"]", "string, number or boolean"),
            ("disk_format = \"\"", "cannot be empty"),
        ] {
            c.openstack.properties = toml::from_str(toml_text).unwrap();
            let e = compute_properties(&c, "qcow2").unwrap_err();
            assert!(e.is_user_error());
            assert!(e.to_string().contains(want), "{toml_text}: {e}");
        }
    }

    #[test]
    fn disk_format_from_magic_or_extension() {
        assert_eq!(
            disk_format_of(b"QFI\xfb\0\0\0\x03", Path::new("x.img")),
            "qcow2"
        );
        assert_eq!(disk_format_of(b"KDMV\x01", Path::new("x")), "vmdk");
        assert_eq!(disk_format_of(b"\0\0\0\0", Path::new("d.vdi")), "vdi");
        assert_eq!(disk_format_of(b"", Path::new("disk.raw")), "raw");
    }
}
