//! Recipe errors through the real binary: `file:line:col`, what was
//! expected, exit code 2, and nothing contacted (the host does not exist).
use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recipes")
        .join(name)
}

/// Run `vmbuild provision` on `recipe` in an empty directory; (exit code, stderr).
fn provision(recipe: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .args([
            "provision",
            "--host",
            "root@127.0.0.1:9",
            "--key",
            "/nonexistent",
        ])
        .arg(fixture(recipe))
        .current_dir(dir.path())
        .env_remove("VMBUILD_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let cases = [
        ("unterminated.toml", "unterminated.toml:5:", "string"),
        (
            "unknown-type.toml",
            "unknown-type.toml:1:1:",
            "unknown resource type `apt.package`; did you mean `apt.packages`?",
        ),
        (
            "unknown-key.toml",
            "unknown-key.toml:7:1:",
            "unknown key `modee` in the `file` resource `motd`; did you mean `mode`?",
        ),
        (
            "bad-mode.toml",
            "bad-mode.toml:6:8:",
            "`mode` must be an octal mode as a string, like \"0644\"",
        ),
        (
            "includes-bad.toml",
            "unknown-key.toml:7:1:",
            "unknown key `modee`",
        ),
    ];
    for (file, at, what) in cases {
        let (code, err) = provision(file);
        assert_eq!(code, 2, "{file}: {err}");
        assert!(err.contains(at), "{file}: expected `{at}` in {err}");
        assert!(err.contains(what), "{file}: expected `{what}` in {err}");
        assert!(
            !err.contains("SSH key"),
            "{file}: must fail before connecting: {err}"
        );
    }
}

#[test]
fn examples_load() {
    // every shipped example parses and builds: the run gets as far as
    // loading the (missing) SSH key, exit 1
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recipes/examples");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let (code, err) = provision(p.to_str().unwrap());
            assert_eq!(code, 1, "{}: {err}", p.display());
            assert!(
                err.contains("cannot load SSH key"),
                "{}: {err}",
                p.display()
            );
        }
    }
}
