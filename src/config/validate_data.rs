//! Checks of `[[groups]]` and `[[data.s3]]`: names the VM can use, members
//! and groups that exist, bucket names S3 accepts, and who may write.
use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::check::quote;
use super::data_types::{S3Bucket, S3Mode};
use super::types::Config;
use super::validate::Checks;

/// Unix groups are `group-<name>` (32 characters at most).
static GROUP_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9_-]{0,25}$"));
/// Hub users become unix users `jupyter-<name>` (32 characters at most).
static HUB_USER: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9][a-z0-9._-]{0,23}$"));
/// A folder name, a systemd unit name part and a unix group suffix.
static MOUNT_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9][a-z0-9_-]{0,28}$"));
static REGION: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9][a-z0-9-]{0,31}$"));

fn re(pattern: &str) -> Regex {
    // Patterns are literals above, covered by the tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// The word for "every hub user" in `read` and `write`.
const ALL: &str = "all";

/// Check `groups` and `data` of `cfg`.
pub(super) fn validate(c: &mut Checks<'_>, cfg: &Config) {
    let mut seen = BTreeSet::new();
    for (i, g) in cfg.groups.iter().enumerate() {
        let key = format!("groups[{i}]");
        c.check(&key, !g.name.is_empty(), || "missing `name`".into());
        let what = "a group name (lower-case letters, digits, `_`, `-`; at most 26)";
        c.pattern(&format!("{key}.name"), &g.name, &GROUP_NAME, what);
        c.check(&format!("{key}.name"), g.name != ALL, || {
            "`all` means every hub user in `data.s3`; choose another group name".into()
        });
        c.check(&format!("{key}.name"), seen.insert(g.name.as_str()), || {
            format!("group `{}` is defined twice", g.name)
        });
        let what = "a hub user name (lower-case letters, digits, `.`, `_`, `-`; at most 24)";
        c.each(&format!("{key}.members"), &g.members, &HUB_USER, what);
    }
    let groups: Vec<&str> = cfg.groups.iter().map(|g| g.name.as_str()).collect();
    let mut names = BTreeSet::new();
    for (i, b) in cfg.data.s3.iter().enumerate() {
        bucket(c, &format!("data.s3[{i}]"), b, &groups);
        c.check(&format!("data.s3[{i}].name"), names.insert(&b.name), || {
            format!("bucket `{}` is defined twice", b.name)
        });
    }
}

fn bucket(c: &mut Checks<'_>, key: &str, b: &S3Bucket, groups: &[&str]) {
    for (field, value) in [
        ("name", &b.name),
        ("endpoint", &b.endpoint),
        ("bucket", &b.bucket),
    ] {
        c.check(key, !value.is_empty(), || format!("missing `{field}`"));
    }
    c.check(key, !b.read.is_empty(), || {
        "missing `read`: `[\"all\"]` or names of `[[groups]]`".into()
    });
    let what = "a folder name (lower-case letters, digits, `_`, `-`; at most 29)";
    c.pattern(&format!("{key}.name"), &b.name, &MOUNT_NAME, what);
    c.url(&format!("{key}.endpoint"), &b.endpoint, &["http", "https"]);
    // it becomes one of s3fs's comma-separated mount options
    c.check(
        &format!("{key}.endpoint"),
        !b.endpoint.contains(','),
        || format!("expected a URL without `,`, found {}", quote(&b.endpoint)),
    );
    if let Some(problem) = bucket_name_problem(&b.bucket) {
        c.check(&format!("{key}.bucket"), false, || problem);
    }
    let what = "a region such as `us-east-1`";
    c.pattern(&format!("{key}.region"), &b.region, &REGION, what);
    if let Some(cr) = &b.credentials {
        let k = format!("{key}.credentials");
        c.check(&k, !cr.access_key_id.trim().is_empty(), || {
            "missing `access_key_id`".into()
        });
        c.check(&k, !cr.secret_access_key.trim().is_empty(), || {
            "missing `secret_access_key`".into()
        });
        // s3fs's passwd file is `ID:SECRET` on one line
        let plain = |s: &str| !s.contains([':', '\n', '\r']);
        c.check(
            &k,
            plain(&cr.access_key_id) && plain(&cr.secret_access_key),
            || "expected keys without `:` or line breaks".into(),
        );
    }
    who(c, &format!("{key}.read"), &b.read, groups);
    who(c, &format!("{key}.write"), &b.write, groups);
    permissions(c, key, b);
}

/// `["all"]` alone, or known group names.
fn who(c: &mut Checks<'_>, key: &str, list: &[String], groups: &[&str]) {
    for (i, name) in list.iter().enumerate() {
        let k = format!("{key}[{i}]");
        if name == ALL {
            c.check(&k, list.len() == 1, || {
                "`all` already includes every group; list it alone".into()
            });
        } else {
            c.check(&k, groups.contains(&name.as_str()), || {
                let known = if groups.is_empty() {
                    "no `[[groups]]` are defined".to_owned()
                } else {
                    format!("the groups are {}", tick(groups))
                };
                format!(
                    "unknown group {}: expected `all` or a group name ({known})",
                    quote(name)
                )
            });
        }
    }
}

/// What a single mount can enforce with one unix group and the mode bits.
fn permissions(c: &mut Checks<'_>, key: &str, b: &S3Bucket) {
    let all_write_at = b.write.iter().position(|w| w == ALL);
    let all_write = all_write_at.is_some();
    let all_read = b.read.iter().any(|r| r == ALL);
    match b.mode {
        S3Mode::Ro => c.check(&format!("{key}.write"), b.write.is_empty(), || {
            "a `ro` bucket is mounted read-only, so nobody writes: remove `write` or set `mode = \"rw\"`".into()
        }),
        S3Mode::Rw => c.check(&format!("{key}.mode"), !b.write.is_empty(), || {
            "`rw` needs `write` (the groups that may write, or `[\"all\"]`); for a read-only bucket use `ro`".into()
        }),
    }
    // at the `all` itself, where the fix is
    let at = all_write_at.map_or(format!("{key}.write"), |i| format!("{key}.write[{i}]"));
    c.check(&at, !all_write || b.allow_all_write, || {
        "`all` lets every hub user change and delete the bucket's files: set `allow_all_write = true` to mean it".into()
    });
    c.check(&format!("{key}.write"), !all_write || all_read, || {
        "`write = [\"all\"]` needs `read = [\"all\"]`".into()
    });
    if !all_read && !b.write.is_empty() {
        let r: BTreeSet<&String> = b.read.iter().collect();
        let w: BTreeSet<&String> = b.write.iter().collect();
        c.check(&format!("{key}.write"), r == w, || {
            "with `read` limited to groups, `write` must name the same groups (a mount has one unix group; readers who may not write need `read = [\"all\"]` or a bucket of their own)".into()
        });
    }
}

/// Why S3 would refuse `name` as a bucket name (its naming rules for
/// general purpose buckets), if it would.
pub(crate) fn bucket_name_problem(name: &str) -> Option<String> {
    let expected = "expected a bucket name S3 accepts (3-63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit, not an IP address)";
    let chars_ok = name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '-');
    let ends_ok = |ch: Option<char>| ch.is_some_and(|ch| ch.is_ascii_alphanumeric());
    let bad = !(3..=63).contains(&name.len())
        || !chars_ok
        || !ends_ok(name.chars().next())
        || !ends_ok(name.chars().last())
        || name.contains("..")
        || name.contains(".-")
        || name.contains("-.")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3");
    bad.then(|| format!("{expected}, found {}", quote(name)))
}

fn tick(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        crate::config::parse_str("g.toml".as_ref(), text)
            .expect_err("should fail")
            .to_string()
    }

    const BUCKET: &str =
        "[[data.s3]]\nname = \"b\"\nendpoint = \"https://s3.example.org\"\nbucket = \"b-data\"\n";

    #[test]
    fn groups_need_plain_unique_names() {
        assert_eq!(
            err("[[groups]]\nname = \"all\"\n"),
            "g.toml:2:8: `groups[0].name`: `all` means every hub user in `data.s3`; choose another group name"
        );
        assert_eq!(
            err("[[groups]]\nname = \"a\"\n[[groups]]\nname = \"a\"\n"),
            "g.toml:4:8: `groups[1].name`: group `a` is defined twice"
        );
        assert_eq!(
            err("[[groups]]\nmembers = []\n"),
            "g.toml:1:1: `groups[0]`: missing `name`"
        );
    }

    #[test]
    fn buckets_say_who_may_write_in_a_way_a_mount_can_enforce() {
        assert_eq!(
            err(&format!(
                "{BUCKET}read = [\"all\"]\nwrite = [\"all\"]\nallow_all_write = true\n"
            )),
            "g.toml:6:9: `data.s3[0].write`: a `ro` bucket is mounted read-only, so nobody writes: remove `write` or set `mode = \"rw\"`"
        );
        assert_eq!(
            err(&format!("{BUCKET}mode = \"rw\"\nread = [\"all\"]\n")),
            "g.toml:5:8: `data.s3[0].mode`: `rw` needs `write` (the groups that may write, or `[\"all\"]`); for a read-only bucket use `ro`"
        );
        let two = "[[groups]]\nname = \"x\"\n[[groups]]\nname = \"y\"\n";
        assert!(
            err(&format!("{two}{BUCKET}mode = \"rw\"\nread = [\"x\", \"y\"]\nwrite = [\"x\"]\n"))
                .contains("`data.s3[0].write`: with `read` limited to groups, `write` must name the same groups")
        );
        assert_eq!(
            err(&format!("{BUCKET}read = [\"all\", \"x\"]\n")),
            "g.toml:5:9: `data.s3[0].read[0]`: `all` already includes every group; list it alone"
        );
        assert_eq!(
            err("[[data.s3]]\nname = \"b\"\nbucket = \"b-data\"\nread = [\"all\"]\n"),
            "g.toml:1:1: `data.s3[0]`: missing `endpoint`"
        );
        assert_eq!(
            err(&format!(
                "{BUCKET}read = [\"all\"]\ncredentials = {{ access_key_id = \"a:b\", secret_access_key = \"c\" }}\n"
            )),
            "g.toml:6:15: `data.s3[0].credentials`: expected keys without `:` or line breaks"
        );
    }

    #[test]
    fn a_valid_pair_of_buckets_loads() {
        let two = "[[groups]]\nname = \"x\"\nmembers = [\"alice\"]\n[[groups]]\nname = \"y\"\n";
        let c = crate::config::parse_str(
            "g.toml".as_ref(),
            &format!("{two}{BUCKET}mode = \"rw\"\nread = [\"x\", \"y\"]\nwrite = [\"y\", \"x\"]\n"),
        )
        .expect("valid");
        assert_eq!(c.data.s3[0].region, "us-east-1");
        assert!(c.data.s3[0].path_style);
        assert_eq!(c.groups[0].members, ["alice"]);
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket.data", "a1-b2", &"a".repeat(63)] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "ab",
            "My_Bucket",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            &"a".repeat(64),
        ] {
            assert!(bucket_name_problem(bad).is_some(), "{bad}");
        }
    }
}
