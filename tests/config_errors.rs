//! Bad configuration: every case runs the real binary and asserts the exact
//! message (file:line:col, dotted key, what was expected) and exit code 2.
use std::path::Path;
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config");

/// Run `vmbuild ARGS` in `dir` with `env` as the only `VMBUILD_*` variables.
fn vmbuild(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vmbuild"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VMBUILD_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run vmbuild")
}

#[track_caller]
fn assert_usage_error(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    pretty_assertions::assert_eq!(stderr, format!("error: {expected}\n"));
    assert_eq!(out.status.code(), Some(2), "exit code");
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

/// `config show --config FIXTURE` fails with exactly `expected`.
#[track_caller]
fn fixture(name: &str, expected: &str) {
    let file = format!("{name}.toml");
    let out = vmbuild(
        Path::new(FIXTURES),
        &["config", "show", "--config", &file],
        &[],
    );
    assert_usage_error(&out, expected);
}

const TOP_LEVEL_KEYS: &str = "`access`, `base`, `build`, `cache`, `data`, `export`, `groups`, `hub`, `name`, `network`, `openstack`, `provider`, `proxy`, `python`, `r`, `shared_data`, `vm`";

#[test]
fn unknown_keys_suggest_the_nearest_valid_key() {
    fixture(
        "unknown_key",
        "unknown_key.toml:4:1: `vm.memroy_mb`: unknown key; did you mean `memory_mb`?",
    );
    fixture(
        "unknown_table",
        "unknown_table.toml:1:2: `hubb`: unknown key; did you mean `hub`?",
    );
    fixture(
        "unknown_inline_key",
        "unknown_inline_key.toml:1:18: `vm.hostnme`: unknown key; did you mean `hostname`?",
    );
}

#[test]
fn unknown_keys_without_a_near_match_list_the_valid_keys() {
    fixture(
        "unknown_top_level",
        &format!(
            "unknown_top_level.toml:2:1: `colour`: unknown key; expected one of {TOP_LEVEL_KEYS}"
        ),
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    fixture(
        "string_for_int",
        "string_for_int.toml:2:8: `vm.cpus`: expected an integer from 1 to 256, found \"two\"",
    );
    fixture(
        "accelerator_wrong_type",
        "accelerator_wrong_type.toml:2:15: `vm.accelerator`: expected one of `auto`, `kvm`, `tcg`, found 1",
    );
    fixture(
        "bool_as_string",
        "bool_as_string.toml:2:11: `r.enabled`: expected `true` or `false`, found \"yes\"",
    );
    fixture(
        "table_as_scalar",
        "table_as_scalar.toml:1:6: `vm`: expected a table, found 4",
    );
    fixture(
        "array_of_tables",
        "array_of_tables.toml:1:1: `vm`: expected a table, found an array of tables",
    );
    fixture(
        "date_for_string",
        "date_for_string.toml:2:12: `vm.hostname`: expected a string, found the date-time 1979-05-27",
    );
}

#[test]
fn numbers_out_of_range_give_the_range() {
    fixture(
        "cpus_zero",
        "cpus_zero.toml:2:8: `vm.cpus`: expected an integer from 1 to 256, found 0",
    );
    fixture(
        "memory_too_small",
        "memory_too_small.toml:2:13: `vm.memory_mb`: expected an integer from 512 to 1048576, found 256",
    );
    fixture(
        "disk_too_big",
        "disk_too_big.toml:2:11: `vm.disk_gb`: expected an integer from 4 to 4096, found 10000",
    );
    fixture(
        "port_out_of_range",
        "port_out_of_range.toml:2:21: `network.forward_http_port`: expected an integer from 0 to 65535, found 70000",
    );
    fixture(
        "cpu_limit_zero",
        "cpu_limit_zero.toml:2:13: `hub.cpu_limit`: expected a number greater than 0, found 0",
    );
}

#[test]
fn choices_list_the_allowed_values_and_suggest() {
    fixture(
        "provider_typo",
        "provider_typo.toml:1:12: `provider`: expected one of `auto`, `libvirt`, `qemu`, `virtualbox`, found \"virtualbx\"; did you mean `virtualbox`?",
    );
    fixture(
        "shared_kind",
        "shared_kind.toml:2:8: `shared_data.kind`: expected one of `auto`, `virtualbox`, `9p`, `virtiofs`, `nfs`, found \"smb\"",
    );
    fixture(
        "authenticator_typo",
        "authenticator_typo.toml:2:17: `hub.authenticator`: expected one of `firstuse`, `native`, `github`, `gitlab`, `google`, `oidc`, `ldap`, found \"githb\"; did you mean `github`?",
    );
    fixture(
        "export_format_unknown",
        "export_format_unknown.toml:2:19: `export.formats[1]`: expected one of `box`, `ova`, `qcow2`, `vmdk`, found \"iso\"",
    );
}

#[test]
fn semantic_checks_point_at_the_value() {
    fixture(
        "ip_broadcast",
        "ip_broadcast.toml:2:6: `network.ip`: expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24), found \"192.168.56.255\"",
    );
    fixture(
        "ip_garbage",
        "ip_garbage.toml:2:6: `network.ip`: expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24), found \"dhcpp\"",
    );
    fixture(
        "export_format_twice",
        "export_format_twice.toml:2:28: `export.formats[2]`: \"box\" is listed twice",
    );
    fixture(
        "sha256_short",
        "sha256_short.toml:2:14: `base.installer.iso_sha256`: expected a SHA-256 checksum (64 hexadecimal digits), found \"abc123\"",
    );
    fixture(
        "mirror_not_url",
        "mirror_not_url.toml:2:10: `base.mirror`: expected a URL (http, https, file), found \"deb.debian.org/debian\"",
    );
    fixture(
        "name_with_space",
        "name_with_space.toml:1:8: `name`: expected a name usable as a file name (letters, digits, `.`, `_`, `-`; at most 64), found \"my appliance\"",
    );
    fixture(
        "proxy_not_url",
        "proxy_not_url.toml:2:14: `proxy.http_proxy`: expected a URL (http, https, socks5, socks5h), found \"proxy:3128\"",
    );
    fixture(
        "password_short",
        "password_short.toml:2:18: `hub.admin_password`: expected at least 8 characters (or leave it out to generate one)",
    );
    fixture(
        "admin_user_upper",
        "admin_user_upper.toml:2:25: `hub.admin_users[1]`: expected a user name (lower-case letters, digits, `_`, `-`; at most 32), found \"Teacher\"",
    );
}

#[test]
fn owner_ssh_keys_must_be_public_key_lines() {
    fixture(
        "ssh_key_truncated",
        "ssh_key_truncated.toml:4:3: `access.ssh_keys[1]`: the key data after `ssh-ed25519` is not an SSH key",
    );
    fixture(
        "ssh_key_path",
        "ssh_key_path.toml:2:13: `access.ssh_keys[0]`: expected an OpenSSH public key line such as `ssh-ed25519 AAAAC3Nza… you@host`",
    );
    fixture(
        "ssh_user_reserved",
        "ssh_user_reserved.toml:2:12: `access.ssh_user`: \"vagrant\" is reserved (root, the build account `vagrant`, cloud-init's `debian` and the hub's `jupyter-*` users); choose another name such as `sysadmin`",
    );
}

#[test]
fn the_shared_folder_is_a_plain_path_of_its_own() {
    fixture(
        "mount_point_shell",
        "mount_point_shell.toml:2:15: `shared_data.mount_point`: expected only letters, digits, `/`, `.`, `_`, `+`, `@` and `-`, found \"/srv/da'ta; rm -rf /\"",
    );
    fixture(
        "mount_point_root",
        "mount_point_root.toml:2:15: `shared_data.mount_point`: \"/\" is a directory of the system itself; use a folder of its own such as `/srv/data`",
    );
    fixture(
        "mount_point_dotdot",
        "mount_point_dotdot.toml:2:15: `shared_data.mount_point`: expected a path without `.` or `..` parts, found \"/srv/../etc\"",
    );
}

#[test]
fn toml_syntax_errors_are_located() {
    fixture(
        "syntax_unclosed_header",
        "syntax_unclosed_header.toml:1:4: invalid TOML: unclosed table, expected `]`",
    );
    fixture(
        "syntax_duplicate_key",
        "syntax_duplicate_key.toml:3:1: invalid TOML: duplicate key",
    );
}

#[test]
fn bad_environment_variables_are_named() {
    let dir = Path::new(FIXTURES);
    let show = ["config", "show"];
    assert_usage_error(
        &vmbuild(dir, &show, &[("VMBUILD_VM__CPUS", "two")]),
        "environment variable `VMBUILD_VM__CPUS`: expected an integer from 1 to 256, found \"two\"",
    );
    assert_usage_error(
        &vmbuild(dir, &show, &[("VMBUILD_VMM__CPUS", "2")]),
        "environment variable `VMBUILD_VMM__CPUS`: `vmm` is not a config key; did you mean `VMBUILD_VM__CPUS`?",
    );
    assert_usage_error(
        &vmbuild(dir, &show, &[("VMBUILD_NETWORK__IP", "10.1.2.0")]),
        "environment variable `VMBUILD_NETWORK__IP`: expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24), found \"10.1.2.0\"",
    );
    assert_usage_error(
        &vmbuild(
            dir,
            &show,
            &[("VMBUILD_EXPORT__FORMATS", "[\"box\", \"zip\"]")],
        ),
        "environment variable `VMBUILD_EXPORT__FORMATS`: expected one of `box`, `ova`, `qcow2`, `vmdk`, found \"zip\"",
    );
}

#[test]
fn the_environment_overrides_a_bad_file_value_only_after_the_file_is_checked() {
    // The file is checked on its own: an env var cannot hide a file error.
    let out = vmbuild(
        Path::new(FIXTURES),
        &["config", "show", "--config", "cpus_zero.toml"],
        &[("VMBUILD_VM__CPUS", "4")],
    );
    assert_usage_error(
        &out,
        "cpus_zero.toml:2:8: `vm.cpus`: expected an integer from 1 to 256, found 0",
    );
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let out = vmbuild(
        Path::new(FIXTURES),
        &["config", "show", "--config", "does-not-exist.toml"],
        &[],
    );
    assert_usage_error(
        &out,
        "cannot read config file `does-not-exist.toml`: No such file or directory (os error 2)",
    );
}

#[test]
fn a_work_dir_that_is_not_dedicated_is_refused() {
    fixture(
        "work_dir_project",
        "work_dir_project.toml:3:12: `build.work_dir`: expected a directory used by vmbuild alone (`-c` empties it), found \".\", which is the project directory; use a new directory such as \".vmbuild\"",
    );
    let dir = Path::new(FIXTURES);
    let show = ["config", "show"];
    assert_usage_error(
        &vmbuild(dir, &show, &[("VMBUILD_BUILD__WORK_DIR", "/tmp")]),
        "environment variable `VMBUILD_BUILD__WORK_DIR`: expected a directory used by vmbuild alone (`-c` empties it), found \"/tmp\", which is the system directory `/tmp`; use a new directory such as \".vmbuild\"",
    );
    assert_usage_error(
        &vmbuild(dir, &show, &[("VMBUILD_BUILD__WORK_DIR", "..")]),
        &format!(
            "environment variable `VMBUILD_BUILD__WORK_DIR`: expected a directory used by vmbuild alone (`-c` empties it), found \"..\", which contains the project directory `{FIXTURES}`; use a new directory such as \".vmbuild\""
        ),
    );
    let home = tempfile::tempdir().expect("tempdir");
    let home_s = home.path().display().to_string();
    assert_usage_error(
        &vmbuild(
            dir,
            &show,
            &[("VMBUILD_BUILD__WORK_DIR", &home_s), ("HOME", &home_s)],
        ),
        &format!(
            "environment variable `VMBUILD_BUILD__WORK_DIR`: expected a directory used by vmbuild alone (`-c` empties it), found {home_s:?}, which is the home directory; use a new directory such as \".vmbuild\""
        ),
    );
    // and `-c` never runs with it
    assert_usage_error(
        &vmbuild(dir, &["-c"], &[("VMBUILD_BUILD__WORK_DIR", "/tmp")]),
        "environment variable `VMBUILD_BUILD__WORK_DIR`: expected a directory used by vmbuild alone (`-c` empties it), found \"/tmp\", which is the system directory `/tmp`; use a new directory such as \".vmbuild\"",
    );
}

#[test]
fn group_data_errors_point_at_the_value() {
    fixture(
        "group_unknown_in_bucket",
        "group_unknown_in_bucket.toml:10:9: `data.s3[0].read[0]`: unknown group \"chemistry\": expected `all` or a group name (the groups are `physics`)",
    );
    fixture(
        "s3_bucket_name",
        "s3_bucket_name.toml:4:10: `data.s3[0].bucket`: expected a bucket name S3 accepts (3-63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit, not an IP address), found \"Reference_Data\"",
    );
    fixture(
        "s3_all_write",
        "s3_all_write.toml:7:10: `data.s3[0].write[0]`: `all` lets every hub user change and delete the bucket's files: set `allow_all_write = true` to mean it",
    );
    fixture(
        "group_member_upper",
        "group_member_upper.toml:3:21: `groups[0].members[1]`: expected a hub user name (lower-case letters, digits, `.`, `_`, `-`; at most 24), found \"Bob\"",
    );
}
