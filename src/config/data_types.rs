//! Configuration types of group data: `[[groups]]` of hub users and the S3
//! buckets of `[[data.s3]]`. Every key of a group or bucket has a serde
//! default, so a missing one is reported by validation at the item's
//! `file:line:col` instead of by the deserializer without a location.
use serde::{Deserialize, Serialize};

/// A group of hub users: a unix group `group-<name>`, a JupyterHub group
/// `<name>` and a shared folder `/srv/groups/<name>`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    /// Group name: lower-case letters, digits, `_` and `-`, at most 26; not `all`.
    pub name: String,
    /// Hub user names in the group (`tljh-config set groups.<name> a,b` changes them later).
    pub members: Vec<String>,
}

/// Data mounted for the hub's users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// S3 buckets, each mounted with s3fs at `<shared_data.mount_point>/<name>`.
    pub s3: Vec<S3Bucket>,
    /// s3fs keeps at least this many MiB of the disk free for its temporary
    /// files, so one big read cannot fill the disk.
    #[schemars(range(min = 100, max = 1048576))]
    pub s3_keep_free_mb: u32,
}

/// How a bucket is mounted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum S3Mode {
    /// Read-only mount: nobody writes through it, not even root.
    #[default]
    Ro,
    /// Read-write for the groups in `write`.
    Rw,
}

/// One S3 bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct S3Bucket {
    /// Folder name under the shared data folder: lower-case letters, digits, `_` and `-`.
    pub name: String,
    /// Endpoint URL, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO/Ceph URL.
    pub endpoint: String,
    /// The bucket's name at the endpoint (3-63 lower-case letters, digits, `.`, `-`).
    pub bucket: String,
    /// Region for signature v4.
    pub region: String,
    /// `ro` (read-only mount) or `rw`.
    pub mode: S3Mode,
    /// Who may read: `["all"]` (every hub user) or names of `[[groups]]`.
    pub read: Vec<String>,
    /// Who may write (`mode = "rw"`): names of `[[groups]]`, or `["all"]` with `allow_all_write`.
    pub write: Vec<String>,
    /// Allow `write = ["all"]`: every hub user may change and delete the bucket's files.
    pub allow_all_write: bool,
    /// Access key; secret: root-only on the VM, masked in all output. Left
    /// out: the mount waits for `/etc/vmbuild/s3/<name>.passwd` on the machine.
    pub credentials: Option<S3Credentials>,
    /// Keep the credentials in exported images (default: the cleanup removes
    /// them, and each machine made from the image needs its own file).
    pub keep_credentials: bool,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO, Ceph and most
    /// S3-compatible servers need; `false` for virtual-hosted style.
    pub path_style: bool,
}

impl Default for S3Bucket {
    fn default() -> Self {
        S3Bucket {
            name: String::new(),
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            mode: S3Mode::Ro,
            read: Vec::new(),
            write: Vec::new(),
            allow_all_write: false,
            credentials: None,
            keep_credentials: false,
            path_style: true,
        }
    }
}

/// An S3 access key pair.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct S3Credentials {
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}
