//! The appliance's `tljh-config` (recipes/files/tljh-config.py), run with the
//! machine's python3 on a temporary config directory. Only the hub restart
//! is cut out (no systemd here); booted-VM tests cover it.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/recipes/files/tljh-config.py");

/// Run `tljh-config ARGS` on `dir` with `stdin`.
fn tljh_config(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let src = std::fs::read_to_string(SCRIPT).expect("read tljh-config.py");
    let patched = src
        .replace(
            "CONFIG_DIR = \"/opt/tljh/config\"",
            &format!("CONFIG_DIR = {:?}", dir.display().to_string()),
        )
        .replace(
            "subprocess.run([\"systemctl\", \"restart\", \"jupyterhub.service\"], check=True)",
            "pass",
        );
    assert_ne!(src, patched, "the script's CONFIG_DIR or reload changed");
    let script = dir.join("tljh-config.py");
    std::fs::write(&script, patched).expect("write script");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn local(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("local.json")).expect("local.json written");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn set_reads_a_value_from_stdin_when_given_a_dash() {
    let d = tempfile::tempdir().unwrap();
    let out = tljh_config(
        d.path(),
        &["set", "authenticator_settings.client_secret", "-"],
        "s3cret-from-stdin\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        local(d.path())["authenticator_settings"]["client_secret"],
        "s3cret-from-stdin"
    );
    // without a trailing newline (as vmbuild sends it), and validated as usual
    let out = tljh_config(d.path(), &["set", "mem_limit", "-"], "2G");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(local(d.path())["mem_limit"], "2G");
    let out = tljh_config(d.path(), &["set", "mem_limit", "-"], "lots");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // `show` masks it
    let out = tljh_config(d.path(), &["show"], "");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("\"client_secret\": \"********\""), "{shown}");
}

#[test]
fn set_still_takes_a_value_argument() {
    let d = tempfile::tempdir().unwrap();
    let out = tljh_config(d.path(), &["set", "idle_timeout_secs", "1800"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(local(d.path())["idle_timeout_secs"], 1800);
}

#[test]
fn groups_of_vmbuild_toml_get_new_members_and_unset_restores_them() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("settings.json"),
        r#"{"groups": {"physics": ["alice", "bob"], "chem": ["alice"]}}"#,
    )
    .unwrap();
    let out = tljh_config(d.path(), &["set", "groups.physics", "carol, alice"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        local(d.path())["groups"]["physics"],
        serde_json::json!(["alice", "carol"])
    );
    let out = tljh_config(d.path(), &["show"], "");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["groups"],
        serde_json::json!({"physics": ["alice", "carol"], "chem": ["alice"]})
    );
    // a group can be emptied; an unknown group or a bad name is refused
    let out = tljh_config(d.path(), &["set", "groups.chem", ""], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = tljh_config(d.path(), &["set", "groups.biology", "dave"], "");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "unknown group `biology` (groups from vmbuild.toml [[groups]]: chem, physics)"
        ),
        "{err}"
    );
    let out = tljh_config(d.path(), &["set", "groups.physics", "Dave"], "");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = tljh_config(d.path(), &["unset", "groups.physics"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(local(d.path())["groups"], serde_json::json!({"chem": []}));
    // the last override gone, no empty table is left to hide vmbuild.toml's
    let out = tljh_config(d.path(), &["unset", "groups.chem"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        local(d.path()).get("groups").is_none(),
        "{:?}",
        local(d.path())
    );
}
