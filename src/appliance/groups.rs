//! The `appliance.*` variables of group data (recipes/50-groups.toml):
//! `[[groups]]` as unix groups and folders, `[[data.s3]]` as s3fs mounts,
//! and what the hub's settings say about both.
use serde_json::{Value, json};

use crate::config::{Config, S3Bucket, S3Mode};

/// Unix group of a `[[groups]]` entry (a prefix, so that no group name can
/// be a system group such as `sudo`).
pub fn unix_group(name: &str) -> String {
    format!("group-{name}")
}

/// Where a group's shared folder is.
pub const GROUP_FOLDERS: &str = "/srv/groups";

/// Where the S3 credentials live on the VM (root only).
pub const S3_DIR: &str = "/etc/vmbuild/s3";

/// Where buckets are mounted when the shared data folder is a folder of
/// the host (`-d DIR`), where vmbuild cannot make their mount points.
pub const S3_HOST_FOLDER_ROOT: &str = "/srv/s3";

/// The folder the buckets are mounted in: the shared data folder when it is
/// on the VM's own disk (`shared_mode` `local` or `bundle`), else
/// [`S3_HOST_FOLDER_ROOT`].
pub fn s3_root(config: &Config, shared_mode: &str) -> String {
    if matches!(shared_mode, "local" | "bundle") {
        config
            .shared_data
            .mount_point
            .trim_end_matches('/')
            .to_owned()
    } else {
        S3_HOST_FOLDER_ROOT.to_owned()
    }
}

/// `appliance.groups`, `appliance.s3`, `appliance.s3_*`; secrets (the
/// credentials) are added to `secrets`.
pub fn vars(
    config: &Config,
    shared_mode: &str,
    secrets: &mut Vec<String>,
) -> serde_json::Map<String, Value> {
    let groups: Vec<Value> = config
        .groups
        .iter()
        .map(|g| {
            json!({
                "name": g.name,
                "unix": unix_group(&g.name),
                "folder": format!("{GROUP_FOLDERS}/{}", g.name),
            })
        })
        .collect();
    let root = s3_root(config, shared_mode);
    let buckets: Vec<Value> = config
        .data
        .s3
        .iter()
        .map(|b| bucket(b, &root, config.data.s3_keep_free_mb, secrets))
        .collect();
    let names: Vec<&str> = config.data.s3.iter().map(|b| b.name.as_str()).collect();
    let with_credentials: Vec<Value> = buckets
        .iter()
        .filter(|b| b["passwd"] != "")
        .cloned()
        .collect();
    let drop_credentials: Vec<&str> = config
        .data
        .s3
        .iter()
        .filter(|b| !b.keep_credentials)
        .map(|b| b.name.as_str())
        .collect();
    let shared_groups: Vec<String> = config
        .data
        .s3
        .iter()
        .filter_map(|b| bucket_group(b).filter(|g| g.starts_with("s3-")))
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("groups".into(), json!(groups));
    out.insert("s3".into(), json!(buckets));
    out.insert("s3_root".into(), json!(root));
    out.insert("s3_names".into(), json!(names));
    out.insert("s3_with_credentials".into(), json!(with_credentials));
    out.insert("s3_drop_credentials".into(), json!(drop_credentials));
    out.insert("s3_unix_groups".into(), json!(shared_groups));
    out
}

/// What the hub's settings.json holds about groups: the members of each
/// group and which groups the unix group of a shared bucket stands for.
pub fn hub_settings(config: &Config) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    if !config.groups.is_empty() {
        let groups: serde_json::Map<String, Value> = config
            .groups
            .iter()
            .map(|g| (g.name.clone(), json!(g.members)))
            .collect();
        out.insert("groups".into(), Value::Object(groups));
    }
    let unix: serde_json::Map<String, Value> = config
        .data
        .s3
        .iter()
        .filter_map(|b| {
            let g = bucket_group(b).filter(|g| g.starts_with("s3-"))?;
            Some((g, json!(bucket_groups(b))))
        })
        .collect();
    if !unix.is_empty() {
        out.insert("unix_groups".into(), Value::Object(unix));
    }
    out
}

/// The `[[groups]]` a bucket names (readers and writers), without `all`.
fn bucket_groups(b: &S3Bucket) -> Vec<String> {
    let mut names: Vec<String> = b
        .read
        .iter()
        .chain(&b.write)
        .filter(|n| *n != "all")
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The unix group that owns a bucket's mount: none (root) when every user
/// reads and nobody writes, the group itself when one group is named, else
/// `s3-<name>` holding the members of all the named groups.
fn bucket_group(b: &S3Bucket) -> Option<String> {
    match bucket_groups(b).as_slice() {
        [] => None,
        [one] => Some(unix_group(one)),
        _ => Some(format!("s3-{}", b.name)),
    }
}

/// The mount's umask: owner root (rwx), the bucket's group and the others
/// get what `read`, `write` and `mode` allow them.
fn umask(b: &S3Bucket) -> &'static str {
    let all_read = b.read.iter().any(|r| r == "all");
    let all_write = b.write.iter().any(|w| w == "all");
    let writers = b.mode == S3Mode::Rw && !b.write.is_empty();
    match (all_read, writers, all_write) {
        (true, _, true) => "0000",
        (true, true, false) => "0002",
        (true, false, _) => "0022",
        (false, true, _) => "0007",
        (false, false, _) => "0027",
    }
}

fn bucket(b: &S3Bucket, root: &str, keep_free_mb: u32, secrets: &mut Vec<String>) -> Value {
    let mount = format!("{root}/{}", b.name);
    let passwd = match &b.credentials {
        Some(c) => {
            secrets.push(c.access_key_id.clone());
            secrets.push(c.secret_access_key.clone());
            format!("{}:{}\n", c.access_key_id, c.secret_access_key)
        }
        None => String::new(),
    };
    let spec = json!({
        "name": b.name,
        "bucket": b.bucket,
        "endpoint": b.endpoint.trim_end_matches('/'),
        "region": b.region,
        "mount": mount,
        "unit": mount_unit(&mount),
        "group": bucket_group(b),
        "mode": match b.mode { S3Mode::Ro => "ro", S3Mode::Rw => "rw" },
        "umask": umask(b),
        "path_style": b.path_style,
        "keep_free_mb": keep_free_mb,
    });
    let mut spec_json = serde_json::to_string_pretty(&spec).unwrap_or_default();
    spec_json.push('\n');
    json!({
        "name": b.name,
        "mount": mount,
        "unit": mount_unit(&mount),
        "spec_json": spec_json,
        "passwd": passwd,
    })
}

/// systemd's unit name for a mount at `path` (`systemd-escape --path
/// --suffix=mount`): `/` becomes `-`, other bytes but ASCII letters,
/// digits, `_` and (not leading) `.` become `\xNN`.
pub fn mount_unit(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    let mut out = String::new();
    for (i, b) in trimmed.bytes().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i > 0 => out.push('.'),
            b if b.is_ascii_alphanumeric() || b == b'_' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push_str(".mount");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        crate::config::parse_str("t.toml".as_ref(), toml).expect("valid config")
    }

    const TWO_KINDS: &str = r#"
[[groups]]
name = "physics"
members = ["alice", "bob"]
[[groups]]
name = "chem"
members = ["carol"]
[[data.s3]]
name = "reference"
endpoint = "http://10.0.2.2:9000/"
bucket = "reference-data"
mode = "ro"
read = ["all"]
[[data.s3]]
name = "physics"
endpoint = "http://10.0.2.2:9000"
bucket = "physics-data"
mode = "rw"
read = ["physics"]
write = ["physics"]
credentials = { access_key_id = "AKIDPHYSICS", secret_access_key = "s3cr3t-physics" }
keep_credentials = true
[[data.s3]]
name = "shared"
endpoint = "http://10.0.2.2:9000"
bucket = "shared-data"
mode = "ro"
read = ["physics", "chem"]
"#;

    #[test]
    fn buckets_become_mounts_owned_by_the_right_group() {
        let mut secrets = Vec::new();
        let v = vars(&config(TWO_KINDS), "local", &mut secrets);
        assert_eq!(secrets, ["AKIDPHYSICS", "s3cr3t-physics"]);
        assert_eq!(v["groups"][0]["unix"], "group-physics");
        assert_eq!(v["groups"][1]["folder"], "/srv/groups/chem");
        let spec = |i: usize| -> Value {
            serde_json::from_str(v["s3"][i]["spec_json"].as_str().unwrap()).unwrap()
        };
        let (r, p, s) = (spec(0), spec(1), spec(2));
        assert_eq!(
            (&r["group"], &r["umask"], &r["mode"]),
            (&Value::Null, &json!("0022"), &json!("ro"))
        );
        assert_eq!(r["endpoint"], "http://10.0.2.2:9000");
        assert_eq!(r["unit"], "srv-data-reference.mount");
        assert_eq!(
            (&p["group"], &p["umask"], &p["mode"]),
            (&json!("group-physics"), &json!("0007"), &json!("rw"))
        );
        assert_eq!(
            (&s["group"], &s["umask"]),
            (&json!("s3-shared"), &json!("0027"))
        );
        assert_eq!(v["s3"][1]["passwd"], "AKIDPHYSICS:s3cr3t-physics\n");
        assert_eq!(v["s3_with_credentials"].as_array().unwrap().len(), 1);
        assert_eq!(v["s3_drop_credentials"], json!(["reference", "shared"]));
        assert_eq!(v["s3_unix_groups"], json!(["s3-shared"]));
        let h = hub_settings(&config(TWO_KINDS));
        assert_eq!(h["groups"]["physics"], json!(["alice", "bob"]));
        assert_eq!(h["unix_groups"], json!({"s3-shared": ["chem", "physics"]}));
    }

    #[test]
    fn buckets_leave_a_host_folder_alone() {
        let c = config(TWO_KINDS);
        let v = vars(&c, "9p", &mut Vec::new());
        assert_eq!(v["s3"][0]["mount"], "/srv/s3/reference");
        assert_eq!(s3_root(&c, "bundle"), "/srv/data");
    }

    #[test]
    fn no_groups_no_settings() {
        assert!(hub_settings(&config("")).is_empty());
    }

    #[test]
    fn mount_units_are_escaped_as_systemd_does() {
        assert_eq!(
            mount_unit("/srv/data/ref-data"),
            "srv-data-ref\\x2ddata.mount"
        );
        assert_eq!(mount_unit("/srv/data/a_b.c"), "srv-data-a_b.c.mount");
    }
}
