//! The recipe engine end to end: the real `vmbuild provision` binary, the real
//! SSH transport, a real Debian 12 test host (tests/support/testhost.sh).
//! For each resource family: `--check` changes nothing, the first run
//! changes, the second run changes nothing in one round trip, and the state
//! is checked on the host independently (ssh + shell, not the engine).
//!
//! Covered elsewhere: `npm.global` and `r.packages` in tests/e2e_runtimes.rs
//! (a host variant with Node and R preinstalled), and starting services in
//! tests/e2e_main.rs (a booted VM: this host has no init system, so the
//! test here asserts the honest failure instead, repeated by the next run
//! since the restart is still owed).
//!
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); needs root. Each test
//! has a deadline naming the last `vmbuild provision` run on expiry.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/provision_run.rs"]
mod provision_run;
#[path = "support/testhost.rs"]
mod testhost;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use provision_run::{Run, provision_as};
use testhost::TestHost;

/// Gate the test, build the rootfs if needed, arm the test's deadline of
/// `minutes` (each test is a few provisioning runs of seconds to minutes).
fn begin(test: &str, what: &str, minutes: u64) -> Option<gate::Deadline> {
    testhost::begin(test, what, "", Duration::from_secs(minutes * 60))
}

fn examples(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("recipes/examples")
        .join(name)
}

fn provision(host: &TestHost, recipes: &[&Path], extra: &[&str]) -> Run {
    provision_as("root", host, recipes, extra)
}

/// `--check` (reports changes, and `state` is the same afterwards), a first
/// run that changes and succeeds, a second run with nothing to do.
fn converge(host: &TestHost, recipe: &Path, state: &str) -> Run {
    let before = host.sh(state);
    let check = provision(host, &[recipe], &["--check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.count("changed") > 0,
        "check mode must report what would change"
    );
    assert_eq!(host.sh(state), before, "--check changed the host");
    let first = provision(host, &[recipe], &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.count("failed"), 0);
    assert!(first.count("changed") > 0);
    let second = provision(host, &[recipe], &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.count("changed"),
        0,
        "second run must change nothing: {}",
        second.stderr
    );
    assert_eq!(
        second.report["round_trips"], 1,
        "a no-op run is one fact batch"
    );
    first
}

#[test]
fn files_links_edits_when_tags_and_handlers() {
    let Some(_d) = begin(
        "files_links_edits_when_tags_and_handlers",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-files");
    let first = converge(
        &host,
        &examples("files.toml"),
        "ls -la /srv/example 2>&1 || true",
    );
    assert_eq!(
        first.outcome("command[note change]")["status"],
        "changed",
        "handler ran"
    );
    assert_eq!(
        host.sh("stat -c '%a %U %G' /srv/example/inline.txt"),
        "640 root adm\n"
    );
    assert_eq!(host.sh("cat /srv/example/inline.txt"), "greeting = hello\n");
    assert_eq!(
        host.sh("readlink /srv/example/current"),
        "/srv/example/inline.txt\n"
    );
    assert!(host.sh("cat /srv/example/motd").starts_with("Welcome to "));
    assert_eq!(
        host.sh("cat /srv/example/source.txt"),
        "copied as is: {{not a template}}\n"
    );
    assert_eq!(
        host.sh("cat /srv/example/app.conf"),
        "port = 8000\n# BEGIN example block\n[extra]\nenabled = true\n# END example block\n"
    );
    assert!(
        host.exec_local("test -e /srv/example/gpu.txt")
            .status
            .code()
            == Some(1)
    );

    // a tag selects only its resources; `when` follows --var
    let tagged = provision(
        &host,
        &[&examples("files.toml")],
        &["--tags", "gpu", "--var", "gpu=true"],
    );
    assert_eq!(tagged.code, 0, "{}", tagged.stderr);
    assert_eq!(tagged.count("changed"), 1);
    assert!(
        tagged.outcome("file[inline file]")["reason"]
            .as_str()
            .unwrap()
            .starts_with("not tagged")
    );
    assert_eq!(host.sh("cat /srv/example/gpu.txt"), "gpu\n");

    // drift is repaired, and only the drifted resource changes
    host.sh("chmod 600 /srv/example/inline.txt && echo edited >> /srv/example/app.conf");
    let repaired = provision(&host, &[&examples("files.toml")], &[]);
    assert_eq!(
        repaired.count("changed"),
        2,
        "mode fix + handler: {}",
        repaired.stderr
    );
    assert_eq!(host.sh("stat -c %a /srv/example/inline.txt"), "640\n");
}

#[test]
fn diffs_mask_secrets() {
    let Some(_d) = begin(
        "diffs_mask_secrets",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-secret");
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("secret.toml");
    // a multi-line secret with every character escaping changes
    std::fs::write(
        &r,
        "secret_vars = [\"db_password\", \"token\"]\n[vars]\ndb_password = \"s3cr3t-value\"\n\
         token = \"tok\\\"en'\\\\first\\nsecond-line-of-it\"\n\
         [[resource]]\nname = \"db conf\"\ntype = \"file\"\npath = \"/etc/db.conf\"\nmode = \"0600\"\n\
         content = \"password = {{db_password}}\\n\"\n\
         [[resource]]\nname = \"app conf\"\ntype = \"file\"\npath = \"/etc/app.conf\"\nmode = \"0644\"\n\
         content = \"token = {{token}}\\nport = 80\\n\"\n\
         [[resource]]\nname = \"fails\"\ntype = \"command\"\n\
         argv = [\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$1\\\" >&2; exit 3\", \"x\", \"{{token}}\"]\n",
    )
    .unwrap();
    let run = provision(&host, &[&r], &["--diff", "--keep-going"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // a private file's diff is not shown at all, nor one holding a secret
    assert!(
        run.stderr
            .contains("(diff not shown: `/etc/db.conf` is private, mode 0600)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("(diff not shown: the content holds a secret)"),
        "{}",
        run.stderr
    );
    let report = run.report.to_string();
    // (the JSON report escapes `"`: look for both renderings)
    for leak in ["s3cr3t-value", "tok\"en", "tok\\\"en", "second-line-of-it"] {
        assert!(
            !run.stderr.contains(leak),
            "`{leak}` printed:\n{}",
            run.stderr
        );
        assert!(!report.contains(leak), "`{leak}` in the report:\n{report}");
    }
    assert_eq!(host.sh("cat /etc/db.conf"), "password = s3cr3t-value\n");
    assert_eq!(
        host.sh("head -1 /etc/app.conf"),
        "token = tok\"en'\\first\n"
    );
}

#[test]
fn users_and_groups() {
    let Some(_d) = begin(
        "users_and_groups",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-users");
    converge(
        &host,
        &examples("accounts.toml"),
        "getent passwd instructor hubsvc; getent group students; true",
    );
    assert_eq!(
        host.sh("id instructor"),
        "uid=2001(instructor) gid=2001(students) groups=2001(students),4(adm)\n"
    );
    assert!(
        host.sh("getent passwd hubsvc")
            .ends_with(":/var/lib/hubsvc:/usr/sbin/nologin\n")
    );
    assert!(host.exec_local("test -d /home/instructor").status.success());
}

#[test]
fn a_sudo_user_provisions_through_sudo() {
    let Some(_d) = begin(
        "a_sudo_user_provisions_through_sudo",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-sudo");
    let first = provision_as("vagrant", &host, &[&examples("accounts.toml")], &[]);
    assert_eq!(
        (first.code, first.count("changed")),
        (0, 3),
        "{}",
        first.stderr
    );
    let again = provision_as("vagrant", &host, &[&examples("accounts.toml")], &[]);
    assert_eq!(
        (again.code, again.count("changed")),
        (0, 0),
        "{}",
        again.stderr
    );
    assert_eq!(host.sh("id -un instructor"), "instructor\n");
}

#[test]
fn host_settings_timezone_hostname_locale_sysctl_mount() {
    let Some(_d) = begin(
        "host_settings_timezone_hostname_locale_sysctl_mount",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-system");
    converge(
        &host,
        &examples("system.toml"),
        "hostname; cat /etc/hostname; readlink /etc/localtime; locale -a; findmnt /mnt/scratch; grep scratch /etc/fstab; true",
    );
    assert_eq!(
        host.sh("hostname; cat /etc/hostname"),
        "example-hub\nexample-hub\n"
    );
    assert!(host.sh("grep 127.0.1.1 /etc/hosts").contains("example-hub"));
    assert_eq!(
        host.sh("readlink /etc/localtime; cat /etc/timezone"),
        "/usr/share/zoneinfo/Europe/Berlin\nEurope/Berlin\n"
    );
    assert!(host.sh("locale -a").contains("de_DE.utf8"));
    assert!(
        host.sh("cat /etc/default/locale")
            .contains("LANG=de_DE.UTF-8")
    );
    assert_eq!(
        host.sh("cat /etc/sysctl.d/99-vmbuild.conf"),
        "net.ipv4.ip_forward = 1\n"
    );
    assert_eq!(host.sh("findmnt -n -o FSTYPE /mnt/scratch"), "tmpfs\n");
    assert!(
        host.sh("cat /etc/fstab")
            .contains("tmpfs /mnt/scratch tmpfs size=8m,mode=1777 0 0")
    );
}

#[test]
fn apt_pip_and_a_signed_repository() {
    let Some(_d) = begin(
        "apt_pip_and_a_signed_repository",
        "recipe engine against a real sshd test host (apt/pip through the host's proxy)",
        15,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-pkgs");
    let first = converge(
        &host,
        &examples("packages.toml"),
        "dpkg -s tree less 2>&1 | grep Status; ls /opt 2>&1; true",
    );
    assert!(
        first.outcome("apt.packages[more tools]")["reason"]
            .as_str()
            .unwrap()
            .contains("in one transaction")
    );
    assert!(
        host.sh("dpkg -s tree")
            .contains("Status: install ok installed")
    );
    assert_eq!(
        host.sh("/opt/example-venv/bin/python -c 'import six; print(six.__version__)'"),
        "1.16.0\n"
    );

    // a repository with its (binary) signing key, then a package from it:
    // apt-get update runs first and must accept the signature
    let mirror = host.sh("awk 'NR==1 {print $2}' /etc/apt/sources.list");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "/usr/share/keyrings/debian-archive-keyring.gpg",
        dir.path().join("debian.gpg"),
    )
    .unwrap();
    let r = dir.path().join("repo.toml");
    std::fs::write(
        &r,
        format!(
            "[[resource]]\nname = \"contrib\"\ntype = \"apt.repository\"\nrepo = \"debian-contrib\"\n\
             uri = \"{}\"\nsuite = \"bookworm\"\ncomponents = [\"contrib\"]\nkey_source = \"debian.gpg\"\n\
             [[resource]]\nname = \"jq\"\ntype = \"apt.packages\"\npackages = [\"jq\"]\n",
            mirror.trim()
        ),
    )
    .unwrap();
    converge(
        &host,
        &r,
        "ls /etc/apt/sources.list.d /etc/apt/keyrings; dpkg -s jq 2>&1 | grep Status; true",
    );
    assert_eq!(
        host.sh("cat /etc/apt/sources.list.d/debian-contrib.list"),
        format!(
            "deb [signed-by=/etc/apt/keyrings/debian-contrib.gpg] {} bookworm contrib\n",
            mirror.trim()
        )
    );
    assert!(
        host.sh("ls /var/lib/apt/lists").contains("contrib"),
        "apt-get update used the new source"
    );
    assert!(
        host.sh("dpkg -s jq")
            .contains("Status: install ok installed")
    );
}

#[test]
fn unit_files_and_enabling_without_a_running_systemd() {
    let Some(_d) = begin(
        "unit_files_and_enabling_without_a_running_systemd",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-svc");
    let first = provision(&host, &[&examples("services.toml")], &[]);
    // the handler wants a restart: impossible without systemd as PID 1, said so
    assert_eq!(first.code, 1, "{}", first.stderr);
    let h = first.outcome("systemd.service[restart hello]");
    assert_eq!(h["status"], "failed");
    assert!(
        h["reason"]
            .as_str()
            .unwrap()
            .contains("systemd is not running on the host"),
        "{h}"
    );
    assert_eq!(first.count("changed"), 3);
    // nothing left to change, but the restart is still owed (recorded on the
    // host), so the next run tries it again and says why it cannot
    let second = provision(&host, &[&examples("services.toml")], &[]);
    assert_eq!(
        (second.code, second.count("changed")),
        (1, 0),
        "{}",
        second.stderr
    );
    let h = second.outcome("systemd.service[restart hello]");
    assert_eq!(h["status"], "failed");
    assert!(
        host.sh("cat /var/lib/vmbuild/pending-handlers")
            .contains("restart hello"),
        "the owed handler is recorded"
    );
    assert_eq!(
        host.sh("readlink /etc/systemd/system/multi-user.target.wants/hello.service"),
        "/etc/systemd/system/hello.service\n"
    );
    assert!(
        host.sh("cat /etc/systemd/system/hello.service")
            .contains("ExecStart=/bin/sleep infinity")
    );
}

fn write_recipe(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("r.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn command_guards_and_failures() {
    let Some(_d) = begin(
        "command_guards_and_failures",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-cmd");
    let dir = tempfile::tempdir().unwrap();
    let r = write_recipe(
        dir.path(),
        "[[resource]]\nname = \"once\"\ntype = \"command\"\ncommand = \"echo 1 >> /root/once\"\ncreates = \"/root/once\"\n\
         [[resource]]\nname = \"unless\"\ntype = \"command\"\nargv = [\"sh\", \"-c\", \"echo x > /root/u\"]\nunless = \"grep -q x /root/u\"\n\
         [[resource]]\nname = \"as vagrant\"\ntype = \"script\"\nuser = \"vagrant\"\ninterpreter = \"/bin/bash\"\n\
         script = \"set -e\\nid -un > /tmp/who\\n\"\ncreates = \"/tmp/who\"\n",
    );
    converge(&host, &r, "ls /root /tmp");
    assert_eq!(
        host.sh("cat /root/once /root/u /tmp/who"),
        "1\nx\nvagrant\n"
    );

    let bad = write_recipe(
        dir.path(),
        "[[resource]]\nname = \"fails\"\ntype = \"command\"\ncommand = \"echo first >&2; echo oops >&2; exit 3\"\n\
         [[resource]]\nname = \"after\"\ntype = \"file\"\npath = \"/root/after\"\ncontent = \"x\"\n",
    );
    let run = provision(&host, &[&bad], &[]);
    assert_eq!(run.code, 1);
    let f = run.outcome("command[fails]");
    assert_eq!(f["failure"]["status"], 3);
    assert_eq!(f["failure"]["stderr_tail"], "first\noops");
    assert!(
        run.stderr.contains("exit status: 3") && run.stderr.contains("| oops"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not done (1)"), "{}", run.stderr);
    assert!(host.exec_local("test -e /root/after").status.code() == Some(1));
    let run = provision(&host, &[&bad], &["--keep-going"]);
    assert_eq!(
        (run.code, run.outcome("file[after]")["status"].as_str()),
        (1, Some("changed"))
    );
}

#[test]
fn a_dropped_connection_during_apply_is_rechecked_and_retried() {
    let Some(_d) = begin(
        "a_dropped_connection_during_apply_is_rechecked_and_retried",
        "recipe engine against a real sshd test host",
        5,
    ) else {
        return;
    };
    let host = TestHost::start("rcp-drop");
    let dir = tempfile::tempdir().unwrap();
    let r = write_recipe(
        dir.path(),
        "[[resource]]\nname = \"slow\"\ntype = \"command\"\n\
         command = \"touch /root/started; sleep 3; touch /root/done\"\ncreates = \"/root/done\"\n",
    );
    let started = host.root.join("root/started");
    let killer = {
        let name = host.name.clone();
        std::thread::spawn(move || {
            // wait until the command runs, then cut every connection; a run
            // that never gets there fails here instead of waiting forever
            let since = Instant::now();
            while !started.exists() {
                assert!(
                    since.elapsed() < Duration::from_secs(120),
                    "the command never started: no /root/started after 120 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let ok = Command::new(testhost::script())
                .args(["kill-sessions", &name])
                .status()
                .unwrap();
            assert!(ok.success());
        })
    };
    let run = provision(&host, &[&r], &[]);
    killer
        .join()
        .expect("the killer thread (its message is above)");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let slow = run.outcome("command[slow]");
    assert_eq!(slow["status"], "changed");
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("re-checked and applied again"),
        "{slow}"
    );
    // facts, the interrupted run, facts again after reconnecting, the
    // second run, the verification
    assert_eq!(run.report["round_trips"], 5);
    assert!(host.exec_local("test -e /root/done").status.success());
}
