//! The host-side package cache end to end: `vmbuild provision` against two
//! fresh real sshd test hosts (tests/support/testhost.rs), installing a
//! Debian package and a pip package. The first run fetches them into the
//! cache (misses), the second host gets them from it (hits); both get them
//! over the SSH connection's remote forward, the pip package installed by
//! uv and byte-compiled; no cache setting is left on either host.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/testhost.rs"]
mod testhost;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use testhost::TestHost;

const RECIPE: &str = r#"
[[resource]]
name = "a tool"
type = "apt.packages"
packages = ["tree"]

[[resource]]
name = "six in a venv"
type = "pip.packages"
venv = "/opt/cache-venv"
packages = ["six==1.17.0"]
"#;

/// Build-time settings that must be gone after a run.
const LEFT_BEHIND: &str = "ls /etc/apt/apt.conf.d/99vmbuild-cache /etc/dpkg/dpkg.cfg.d/99vmbuild-build \
     /run/vmbuild/cache.env 2>/dev/null; true";

fn extra_cas() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/usr/local/share/ca-certificates")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// `vmbuild provision` of RECIPE on `host` with the cache in `cache`;
/// returns what it printed.
fn provision(dir: &Path, cache: &Path, host: &TestHost) -> String {
    let cas: Vec<String> = extra_cas().iter().map(|c| format!("{c:?}")).collect();
    std::fs::write(
        dir.join("vmbuild.toml"),
        format!(
            "[cache]\ndir = {:?}\n[proxy]\nextra_ca_certs = [{}]\n",
            cache.display().to_string(),
            cas.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("recipe.toml"), RECIPE).unwrap();
    let _ = std::fs::remove_file(dir.join("known_hosts"));
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .args(["provision", "--host"])
        .arg(format!("root@{}:{}", host.addr, host.port))
        .arg("--key")
        .arg(&host.key_path)
        .arg("--known-hosts")
        .arg(dir.join("known_hosts"))
        .arg("recipe.toml")
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{text}");
    assert_eq!(out.status.code(), Some(0), "provisioning failed:\n{text}");
    text
}

/// (hits, misses) of `kind` in the cache line.
fn counts(line: &str, kind: &str) -> (u32, u32) {
    let rest = line
        .split(&format!(" {kind} "))
        .nth(1)
        .unwrap_or_else(|| panic!("no {kind} counts in {line}"));
    let num = |s: &str| {
        s.trim_start_matches(|c: char| !c.is_ascii_digit())
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (h, m) = rest.split_once(" hits/").unwrap();
    (num(h), num(m))
}

fn cache_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("cache: "))
        .unwrap_or_else(|| panic!("no cache line after the recap:\n{out}"))
        .to_owned()
}

#[test]
fn second_host_gets_packages_from_the_cache() {
    if !gate::e2e(
        "package cache: provision two real sshd test hosts, packages from Debian and PyPI through the cache",
    ) {
        return;
    }
    let deadline = gate::Deadline::arm(
        "second_host_gets_packages_from_the_cache",
        Duration::from_secs(1200),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    deadline.step("first host: cold cache");
    let a = TestHost::start("cache-a");
    let first = cache_line(&provision(dir.path(), &cache, &a));
    // six, pip (seeded into the new venv) and uv itself, each fetched once
    assert_eq!(counts(&first, "pypi"), (0, 3), "{first}");
    assert!(counts(&first, "apt").1 > 0, "{first}");
    assert_eq!(
        a.sh("/opt/cache-venv/bin/python -c 'import six; print(six.__version__)'"),
        "1.17.0\n"
    );
    let pyc = a.sh(
        "ls /opt/cache-venv/lib/python3*/site-packages/__pycache__/ | grep -c '^six\\.cpython'",
    );
    assert_eq!(pyc.trim(), "1", "six is byte-compiled");
    assert!(a.sh("dpkg -s tree").contains("install ok installed"));
    assert_eq!(
        a.sh(LEFT_BEHIND),
        "",
        "build-time settings left on the host"
    );
    let debs = std::fs::read_dir(cache.join("apt"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(debs > 0, "no Debian files in the cache");
    drop(a);

    deadline.step("second host: warm cache");
    let b = TestHost::start("cache-b");
    let second = cache_line(&provision(dir.path(), &cache, &b));
    assert_eq!(counts(&second, "pypi"), (3, 0), "{second}");
    // the .debs come from the cache (an index file may be new on the mirror)
    assert!(counts(&second, "apt").0 > 0, "{second}");
    assert!(b.sh("dpkg -s tree").contains("install ok installed"));
    assert_eq!(
        b.sh(LEFT_BEHIND),
        "",
        "build-time settings left on the host"
    );
}
