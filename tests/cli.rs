//! The command line, tested by running the real binary in a temporary
//! directory and asserting exact output and exit codes (in the style of
//! casey/just's test builder).
use std::path::PathBuf;
use std::process::{Command, Output};

/// One run of `vmbuild` in a fresh temporary directory.
struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Test {
    fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    fn file(self, name: &str, text: &str) -> Test {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vmbuild"));
        cmd.current_dir(self.dir.path()).args(&self.args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("VMBUILD_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        Run(cmd.output().expect("run vmbuild"))
    }
}

/// The outcome of a run, with chainable exact assertions.
struct Run(Output);

impl Run {
    #[track_caller]
    fn code(self, code: i32) -> Run {
        assert_eq!(
            self.0.status.code(),
            Some(code),
            "exit code; stderr:\n{}",
            self.stderr_text()
        );
        self
    }

    #[track_caller]
    fn stderr(self, expected: &str) -> Run {
        pretty_assertions::assert_eq!(self.stderr_text(), expected);
        self
    }

    #[track_caller]
    fn stdout(self, expected: &str) -> Run {
        pretty_assertions::assert_eq!(self.stdout_text(), expected);
        self
    }

    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
}

#[test]
fn no_stage_is_a_usage_error() {
    Test::new().run().code(2).stdout("").stderr(
        "error: nothing to do: give at least one of -c, -r, -p, -u, -e (or a subcommand); see `vmbuild --help`\n",
    );
}

#[test]
fn version_and_help() {
    Test::new()
        .args(&["--version"])
        .run()
        .code(0)
        .stdout(&format!("vmbuild {}\n", env!("CARGO_PKG_VERSION")));
    let help = Test::new().args(&["--help"]).run().code(0).stdout_text();
    for needle in [
        "Usage: vmbuild [OPTIONS]",
        "Examples:\n  vmbuild -pue ",
        "vmbuild config init",
        "Stages always run in the order c, p, u, e",
        "VMBUILD_HUB__ADMIN_PASSWORD",
        "--dry-run",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn verbose_and_quiet_conflict() {
    Test::new().args(&["-v", "-q", "-p"]).run().code(2).stdout("").stderr(
        "error: the argument '--verbose' cannot be used with '--quiet'\n\nUsage: vmbuild --verbose -p\n\nFor more information, try '--help'.\n",
    );
}

#[test]
fn unknown_flags_are_usage_errors() {
    let run = Test::new().args(&["-x"]).run().code(2);
    assert!(
        run.stderr_text()
            .starts_with("error: unexpected argument '-x' found\n"),
        "{}",
        run.stderr_text()
    );
}

#[test]
fn ip_flag_is_validated() {
    Test::new().args(&["-u", "-i", "192.168.56.0"]).run().code(2).stdout("").stderr(
        "error: invalid value '192.168.56.0' for '-i <IP|dhcp>': expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24), found \"192.168.56.0\"\n\nFor more information, try '--help'.\n",
    );
    Test::new().args(&["-u", "-i", "fast"]).run().code(2).stdout("").stderr(
        "error: invalid value 'fast' for '-i <IP|dhcp>': expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24), found \"fast\"\n\nFor more information, try '--help'.\n",
    );
}

#[test]
fn data_dir_flag_is_validated() {
    Test::new().args(&["-u", "-d", "no-such-dir"]).run().code(2).stdout("").stderr(
        "error: invalid value 'no-such-dir' for '-d <DIR|none>': directory `no-such-dir` does not exist; expected a directory or `none`\n\nFor more information, try '--help'.\n",
    );
    Test::new()
        .file("notes.txt", "x")
        .args(&["-u", "-d", "notes.txt"])
        .run()
        .code(2)
        .stderr(
            "error: invalid value 'notes.txt' for '-d <DIR|none>': `notes.txt` is not a directory; expected a directory or `none`\n\nFor more information, try '--help'.\n",
        );
}

#[test]
fn an_unwritable_log_file_is_a_usage_error() {
    Test::new()
        .args(&["-p", "-l", "missing/dir/build.log"])
        .run()
        .code(2)
        .stderr("error: cannot open log file `missing/dir/build.log`: No such file or directory (os error 2)\n");
}

#[test]
fn a_symlinked_log_file_is_refused_with_exit_2() {
    let t =
        Test::new()
            .file("victim.txt", "precious\n")
            .args(&["-p", "--dry-run", "-l", "build.log"]);
    std::os::unix::fs::symlink(t.path("victim.txt"), t.path("build.log")).expect("symlink");
    t.run()
        .code(2)
        .stderr("error: cannot open log file `build.log`: it is a symbolic link; vmbuild does not follow links for its log, name the file itself\n");
    assert_eq!(
        std::fs::read_to_string(t.path("victim.txt")).expect("read"),
        "precious\n"
    );
}

#[test]
fn a_new_log_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new().args(&["-p", "--dry-run", "-l", "build.log"]);
    t.run().code(0);
    let mode = std::fs::metadata(t.path("build.log"))
        .expect("log written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Which stage (0 = c, 1 = p, 2 = u, 3 = e) a line of output belongs to:
/// a stage's `==>` step line, or its "not implemented yet" error.
fn stage_of(line: &str) -> Option<usize> {
    const MARKS: [(usize, &[&str]); 4] = [
        (0, &["==> Cleaning", "error: -c ("]),
        (
            1,
            &[
                "==> Base box",
                "==> Building the base",
                "==> Running Packer",
                "error: -p (",
            ],
        ),
        (2, &["==> Bringing the VM up", "error: -u ("]),
        (3, &["==> Exporting", "error: -e ("]),
    ];
    MARKS
        .iter()
        .find(|(_, marks)| marks.iter().any(|m| line.contains(m)))
        .map(|(i, _)| *i)
}

/// Stages run in the order c, p, u, e whatever the order typed: the stages'
/// output (step lines, or the error of a stage that has not landed yet)
/// appears in pipeline order, starting with the earliest stage asked for.
#[test]
fn stages_run_in_pipeline_order_whatever_the_typed_order() {
    for typed in ["-ec", "-eupc", "-uep", "-pue", "-ecpu", "-uc", "-ep"] {
        let run = Test::new().args(&[typed, "--dry-run", "-d", "none"]).run();
        let err = run.stderr_text();
        let seen: Vec<usize> = err.lines().filter_map(stage_of).collect();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "{typed}: stages out of order {seen:?}:\n{err}"
        );
        let first_typed = ['c', 'p', 'u', 'e'].iter().position(|s| typed.contains(*s));
        assert_eq!(seen.first().copied(), first_typed, "{typed}:\n{err}");
    }
}

#[test]
fn config_init_writes_a_commented_default_and_refuses_to_overwrite() {
    let t = Test::new().args(&["config", "init"]);
    t.run().code(0);
    let text = std::fs::read_to_string(t.path("vmbuild.toml")).expect("written");
    assert!(text.starts_with("# vmbuild.toml: configuration"), "{text}");
    assert!(
        text.contains("# Memory in MiB.\nmemory_mb = 2048\n"),
        "{text}"
    );
    t.run()
        .code(2)
        .stdout("")
        .stderr("error: `vmbuild.toml` already exists; use --force to overwrite it\n");
    std::fs::write(t.path("vmbuild.toml"), "# mine\n").expect("write");
    Test {
        args: vec!["config".into(), "init".into(), "--force".into()],
        ..t
    }
    .run()
    .code(0);
}

#[test]
fn config_init_output_is_accepted_by_config_show() {
    let t = Test::new().args(&["config", "init", "custom.toml"]);
    t.run().code(0);
    let init = Test::new()
        .args(&["config", "show"])
        .run()
        .code(0)
        .stdout_text();
    let shown = Test {
        args: vec![
            "config".into(),
            "show".into(),
            "--config".into(),
            "custom.toml".into(),
        ],
        ..t
    }
    .run()
    .code(0)
    .stdout_text();
    // Same values; only the header's layer list differs.
    let body = |s: &str| {
        s.split_once("\n\n")
            .map(|(_, b)| b.to_owned())
            .expect("header")
    };
    assert_eq!(body(&init), body(&shown));
    assert!(shown.contains("#   file custom.toml\n"), "{shown}");
}

#[test]
fn config_show_lists_layers_applies_precedence_and_masks_secrets() {
    let out = Test::new()
        .file(
            "vmbuild.toml",
            "[vm]\ncpus = 3\nmemory_mb = 4096\n[network]\nip = \"10.0.0.5\"\n",
        )
        .env("VMBUILD_VM__CPUS", "5")
        .env("VMBUILD_HUB__ADMIN_PASSWORD", "s3cret-pass-word")
        .env(
            "VMBUILD_HUB__AUTHENTICATOR_SETTINGS__CLIENT_SECRET",
            "gh-abcdef",
        )
        .env("VMBUILD_E2E", "1")
        .args(&["config", "show", "-i", "10.0.0.6", "--provider", "qemu"])
        .run()
        .code(0)
        .stderr("")
        .stdout_text();
    let header = "# Effective vmbuild configuration (secrets masked).\n# Layers, lowest precedence first:\n#   embedded default\n#   file vmbuild.toml\n#   environment VMBUILD_HUB__ADMIN_PASSWORD, VMBUILD_HUB__AUTHENTICATOR_SETTINGS__CLIENT_SECRET, VMBUILD_VM__CPUS\n#   flags --provider, -i\n\n";
    assert!(out.starts_with(header), "{out}");
    for needle in [
        "provider = \"qemu\"\n",
        "cpus = 5\n",
        "memory_mb = 4096\n",
        "ip = \"10.0.0.6\"\n",
        "admin_password = \"********\"\n",
        "client_secret = \"********\"\n",
    ] {
        assert!(out.contains(needle), "lacks {needle:?}:\n{out}");
    }
    assert!(
        !out.contains("s3cret-pass-word") && !out.contains("gh-abcdef"),
        "{out}"
    );
}

#[test]
fn config_schema_is_json_with_descriptions() {
    let out = Test::new()
        .args(&["config", "schema"])
        .run()
        .code(0)
        .stdout_text();
    let schema: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(schema["title"], "Config");
    assert_eq!(
        schema["$defs"]["VmConfig"]["properties"]["cpus"]["minimum"], 1,
        "{out}"
    );
    assert_eq!(
        schema["$defs"]["VmConfig"]["properties"]["memory_mb"]["description"],
        "Memory in MiB."
    );
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn a_config_error_stops_a_stage_run_with_exit_2() {
    Test::new()
        .file("vmbuild.toml", "[vm]\ncpus = -1\n")
        .args(&["-p", "--dry-run"])
        .run()
        .code(2)
        .stderr(
            "error: vmbuild.toml:2:8: `vm.cpus`: expected an integer from 1 to 256, found -1\n",
        );
}

#[test]
fn config_secrets_are_masked_in_screen_output_and_the_log() {
    // The work dir deliberately contains the password, so the dry-run's
    // command lines would show it if secrets were not registered.
    let t = Test::new()
        .env("VMBUILD_HUB__ADMIN_PASSWORD", "hunter2-very-secret")
        .env("VMBUILD_BUILD__WORK_DIR", "wd-hunter2-very-secret")
        .args(&["-p", "--dry-run", "-v", "-l", "run.log"]);
    let run = t.run();
    let log = std::fs::read_to_string(t.path("run.log")).expect("log written");
    let err = run.stderr_text();
    assert!(
        err.contains("wd-********"),
        "work dir not shown masked:\n{err}"
    );
    assert!(log.contains("wd-********"), "{log}");
    assert!(
        !err.contains("hunter2") && !log.contains("hunter2"),
        "{err}\n{log}"
    );
}

#[test]
fn vmbuild_config_names_the_config_file() {
    let out = Test::new()
        .file("conf/lab.toml", "[vm]\ncpus = 6\n")
        .env("VMBUILD_CONFIG", "conf/lab.toml")
        .args(&["config", "show"])
        .run()
        .code(0)
        .stdout_text();
    assert!(
        out.contains("#   file conf/lab.toml\n") && out.contains("cpus = 6\n"),
        "{out}"
    );
}

#[test]
fn config_show_masks_s3_credentials() {
    let out = Test::new()
        .file(
            "vmbuild.toml",
            "[[groups]]\nname = \"physics\"\nmembers = [\"alice\"]\n\
             [[data.s3]]\nname = \"physics\"\nendpoint = \"https://s3.example.org\"\n\
             bucket = \"physics-data\"\nmode = \"rw\"\nread = [\"physics\"]\nwrite = [\"physics\"]\n\
             credentials = { access_key_id = \"AKIDVISIBLE1\", secret_access_key = \"wJalr-s3-secret\" }\n",
        )
        .args(&["config", "show"])
        .run()
        .code(0)
        .stdout_text();
    assert!(
        !out.contains("AKIDVISIBLE1") && !out.contains("wJalr-s3-secret"),
        "{out}"
    );
    assert!(out.contains("bucket = \"physics-data\""), "{out}");
    assert!(out.contains("********"), "{out}");
}
