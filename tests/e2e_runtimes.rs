//! `npm.global` and `r.packages` end to end: the real `vmbuild provision`
//! binary, the real SSH transport, a real Debian 12 test host whose rootfs
//! variant has `nodejs npm r-base-core` preinstalled (built once with apt in
//! a copy of the plain test rootfs, then cached; tests/support/testhost.sh).
//! npm reaches the registry through the host's proxy; Debian's node trusts
//! the system CA store, which holds the machine's bundle.
//! CRAN, Bioconductor and GitHub are made unreachable by the test itself
//! (on any machine, connected or not): those sources are tested for a fast
//! failure that names the package and the repository.
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
use std::time::{Duration, Instant};

use provision_run::{Run, provision_as};
use testhost::TestHost;

/// The rootfs variant these tests run on (part of its cache key).
const RUNTIMES: &str = "nodejs npm r-base-core";

/// Gate the test, build the rootfs variant if needed (apt-get of Node and
/// R: minutes, once), arm the test's deadline of `minutes`.
fn begin(test: &str, what: &str, minutes: u64) -> Option<gate::Deadline> {
    testhost::begin(test, what, RUNTIMES, Duration::from_secs(minutes * 60))
}

fn recipe(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recipes/runtimes")
        .join(name)
}

fn start(name: &str) -> TestHost {
    let t = Instant::now();
    let host = TestHost::start_with(name, RUNTIMES);
    eprintln!("[timing] host {name} ready in {:.1?}", t.elapsed());
    host
}

fn provision(host: &TestHost, recipe: &Path, extra: &[&str]) -> Run {
    let t = Instant::now();
    let run = provision_as("root", host, &[recipe], extra);
    eprintln!(
        "[timing] provision {} {extra:?}: {:.1?}",
        recipe.file_name().unwrap().to_string_lossy(),
        t.elapsed()
    );
    run
}

/// `--check` reports changes and leaves `state` as it was, the first run
/// changes, the second changes nothing in one round trip.
fn converge(host: &TestHost, recipe: &Path, state: &str) -> Run {
    let before = host.sh(state);
    let check = provision(host, recipe, &["--check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.count("changed") > 0,
        "check mode must report what would change"
    );
    assert_eq!(host.sh(state), before, "--check changed the host");
    let first = provision(host, recipe, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.count("changed") > 0, "{}", first.stderr);
    second_run_is_a_no_op(host, recipe);
    first
}

fn second_run_is_a_no_op(host: &TestHost, recipe: &Path) {
    let again = provision(host, recipe, &[]);
    assert_eq!(
        (again.code, again.count("changed")),
        (0, 0),
        "second run must change nothing: {}",
        again.stderr
    );
    assert_eq!(
        again.report["round_trips"], 1,
        "a no-op run is one fact batch"
    );
}

/// Global npm packages as npm itself reports them: name → version.
fn npm_global(host: &TestHost) -> serde_json::Map<String, serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&host.sh("npm ls -g --json")).unwrap();
    json["dependencies"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v["version"].clone()))
        .collect()
}

#[test]
fn npm_global_install_pin_bump_and_removal() {
    let Some(_d) = begin(
        "npm_global_install_pin_bump_and_removal",
        "npm.global against a real sshd test host with Node (npm via the proxy)",
        10,
    ) else {
        return;
    };
    let host = start("rt-npm");
    converge(
        &host,
        &recipe("npm.toml"),
        "ls /usr/local/lib/node_modules 2>&1; true",
    );
    let have = npm_global(&host);
    assert_eq!(
        (&have["configurable-http-proxy"], &have["is-number"]),
        (&"5.1.0".into(), &"7.0.0".into())
    );
    assert_eq!(host.sh("configurable-http-proxy --version"), "5.1.0\n");
    assert_eq!(
        host.sh("node -p 'require(\"/usr/local/lib/node_modules/is-number\")(42)'"),
        "true\n"
    );

    // another pin reinstalls, then converges
    let bump = provision(&host, &recipe("npm-bump.toml"), &[]);
    assert_eq!(
        (bump.code, bump.count("changed")),
        (0, 1),
        "{}",
        bump.stderr
    );
    assert_eq!(
        bump.outcome("npm.global[node tools]")["reason"],
        "npm install -g is-number@6.0.0",
        "only the changed pin is installed"
    );
    assert_eq!(npm_global(&host)["is-number"], "6.0.0");
    second_run_is_a_no_op(&host, &recipe("npm-bump.toml"));

    let gone = provision(&host, &recipe("npm-absent.toml"), &[]);
    assert_eq!(
        (gone.code, gone.count("changed")),
        (0, 1),
        "{}",
        gone.stderr
    );
    let have = npm_global(&host);
    assert!(!have.contains_key("is-number"), "{have:?}");
    assert_eq!(have["configurable-http-proxy"], "5.1.0");
    second_run_is_a_no_op(&host, &recipe("npm-absent.toml"));
}

#[test]
fn r_packages_from_debian() {
    let Some(_d) = begin(
        "r_packages_from_debian",
        "r.packages against a real sshd test host with R (apt via the proxy)",
        10,
    ) else {
        return;
    };
    let host = start("rt-rapt");
    let first = converge(
        &host,
        &recipe("r-apt.toml"),
        "dpkg -s r-cran-praise 2>&1 | grep Status; ls /usr/lib/R/site-library; true",
    );
    assert!(
        first.outcome("r.packages[praise]")["reason"]
            .as_str()
            .unwrap()
            .contains("r-cran-praise"),
        "{}",
        first.outcome("r.packages[praise]")
    );
    assert_eq!(
        host.sh("Rscript -e 'cat(format(packageVersion(\"praise\")))'"),
        "1.0.0"
    );
}

/// The repositories' own names, each made to resolve to the test host's
/// loopback.
const R_REPOSITORY_HOSTS: &str = "cloud.r-project.org bioconductor.org api.github.com";

/// Every source but Debian fails fast, naming the package and the
/// repository, when the repository cannot be reached. Unreachable by
/// construction, so the test holds on a connected machine too: the host has
/// a network namespace of its own (no default route), its proxy settings
/// are removed, and the repositories' names resolve to its own loopback,
/// where nothing listens on port 443 (connection refused at once).
#[test]
fn r_packages_from_unreachable_repositories_fail_fast_and_clearly() {
    let Some(d) = begin(
        "r_packages_from_unreachable_repositories_fail_fast_and_clearly",
        "r.packages against a real sshd test host with R",
        10,
    ) else {
        return;
    };
    let host = start("rt-rnet");
    gate::require(
        host.has_own_network(),
        "a test host in a network namespace of its own (testhost.sh netns mode: `ip netns add` must work)",
    );
    d.step("cut the host off: no proxy, the repositories on its own loopback");
    host.sh(&format!(
        "sed -i '/_proxy=/Id' /etc/environment && rm -f /etc/pip.conf && \
         echo '127.0.0.1 {R_REPOSITORY_HOSTS}' >> /etc/hosts"
    ));
    for name in R_REPOSITORY_HOSTS.split(' ') {
        assert_eq!(
            host.sh(&format!("getent hosts {name} | cut -d' ' -f1")),
            "127.0.0.1\n",
            "{name}"
        );
    }
    assert!(
        !host.sh("ip route").contains("default"),
        "the host's namespace has a default route"
    );
    assert!(
        !host.sh("env").to_ascii_lowercase().contains("_proxy="),
        "a session on the host still has a proxy"
    );
    assert_eq!(
        host.exec_local("exec 3<>/dev/tcp/127.0.0.1/443")
            .status
            .code(),
        Some(1),
        "something listens on the host's 127.0.0.1:443"
    );

    let check = provision(&host, &recipe("r-unreachable.toml"), &["--check"]);
    assert_eq!(
        (check.code, check.count("changed")),
        (0, 3),
        "{}",
        check.stderr
    );

    let run = provision(&host, &recipe("r-unreachable.toml"), &["--keep-going"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (label, says) in [
        (
            "r.packages[from CRAN]",
            "CRAN package `praise`: repository https://cloud.r-project.org not reachable (",
        ),
        (
            "r.packages[from Bioconductor]",
            "Bioconductor package `limma`: repository https://bioconductor.org not reachable (",
        ),
        (
            "r.packages[from GitHub]",
            "GitHub package `rladies/praise`: repository https://api.github.com not reachable (",
        ),
    ] {
        let o = run.outcome(label);
        assert_eq!(o["status"], "failed", "{o}");
        assert_eq!(o["failure"]["status"], 2, "the probe's exit status: {o}");
        let tail = o["failure"]["stderr_tail"].as_str().unwrap_or("");
        assert!(tail.contains(says), "{label}: {o}");
        assert!(
            !tail.contains("Traceback") && !tail.contains("not available for this version of R"),
            "no R backtrace, no install attempt: {o}"
        );
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert!(
        host.exec_local("ls /usr/local/lib/R/site-library/praise")
            .status
            .code()
            != Some(0)
    );
}
