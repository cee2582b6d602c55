//! Engine orchestration against a fake host: round trips, batching, check
//! mode, failures, handlers.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::engine::{Engine, RunOptions};
use super::facts::script::snippet;
use super::facts::{FactOutput, FactQuery};
use super::load::{Recipe, load};
use super::report::{Report, Status};
use crate::remote::fake::FakeTransport;
use crate::remote::{ExecOutput, RemoteCommand};

type Answers = HashMap<FactQuery, FactOutput>;

/// A fake host: fact scripts are answered from `before`, except facts in
/// `after` whose trigger text appeared in a command already run; commands
/// whose line contains a key of `fail` exit 1 with that stderr.
fn fake(
    before: Answers,
    after: Vec<(&'static str, Answers)>,
    fail: Vec<(&'static str, &'static str)>,
) -> FakeTransport {
    let ran: Arc<Mutex<Vec<String>>> = Arc::default();
    FakeTransport::new(move |cmd: &RemoteCommand| {
        let line = cmd.to_shell();
        if line == "sh -s" || line.ends_with("-- sh -s") {
            let script = String::from_utf8_lossy(cmd.get_stdin().unwrap_or_default()).into_owned();
            let mut answers = before.clone();
            for (trigger, a) in &after {
                if ran.lock().unwrap().iter().any(|c| c.contains(trigger)) {
                    answers.extend(a.clone());
                }
            }
            return ExecOutput {
                status: 0,
                stdout: answer(&script, &answers).into_bytes(),
                stderr: vec![],
            };
        }
        for (pat, err) in &fail {
            if line.contains(pat) {
                return ExecOutput {
                    status: 1,
                    stdout: vec![],
                    stderr: err.as_bytes().to_vec(),
                };
            }
        }
        ran.lock().unwrap().push(line);
        ExecOutput::default()
    })
}

/// The batch output for `script`: the path section from every `Path` answer,
/// then each snippet's section looked up in `answers`.
fn answer(script: &str, answers: &Answers) -> String {
    let nonce = script
        .split('\'')
        .find(|w| w.starts_with("@@vmbuild-"))
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let mut out = String::new();
    if script.contains(&format!("{nonce} paths stat")) {
        let (mut stat, mut sha, mut link) = (String::new(), String::new(), String::new());
        for (q, a) in answers {
            let FactQuery::Path(p) = q else { continue };
            for l in a.stdout.lines().filter(|l| *l != "absent") {
                if let Some(h) = l.strip_prefix("sha256|") {
                    sha.push_str(&format!("{h}  {p}\n"));
                } else if let Some(t) = l.strip_prefix("link|") {
                    link.push_str(&format!("{p}{nonce}{t}\n"));
                } else {
                    stat.push_str(&format!("{l}|{p}\n"));
                }
            }
        }
        out.push_str(&format!(
            "{nonce} paths stat\n{stat}\n{nonce} paths sha\n{sha}\n{nonce} paths link\n{link}\n{nonce} paths end\n"
        ));
    }
    let by_snippet: HashMap<String, &FactOutput> =
        answers.iter().map(|(q, a)| (snippet(q), a)).collect();
    for chunk in script.split("\n{ ").skip(1) {
        let snip = chunk.split("\n} 2>\"$E\"").next().unwrap();
        // the pending-handlers list is absent unless a test gives one
        let no_pending = FactOutput {
            stdout: "absent".into(),
            stderr: String::new(),
            rc: 0,
        };
        let a = match by_snippet.get(snip) {
            Some(a) => *a,
            None if snip == snippet(&pending_query()) => &no_pending,
            None => panic!("no answer for snippet {snip}"),
        };
        let idx = script[..script.find(chunk).unwrap()]
            .rsplit(&format!("{nonce} "))
            .next()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        out.push_str(&format!(
            "{nonce} {idx} out\n{}\n{nonce} {idx} err\n{}\n{nonce} {idx} rc {}\n",
            a.stdout, a.stderr, a.rc
        ));
    }
    out
}

fn pending_query() -> FactQuery {
    FactQuery::Content("/var/lib/vmbuild/pending-handlers".into())
}

fn ans(pairs: &[(FactQuery, &str, i32)]) -> Answers {
    pairs
        .iter()
        .map(|(q, out, rc)| {
            (
                q.clone(),
                FactOutput {
                    stdout: out.to_string(),
                    stderr: String::new(),
                    rc: *rc,
                },
            )
        })
        .collect()
}

fn recipe(text: &str) -> Recipe {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("r.toml");
    std::fs::write(&p, text).unwrap();
    load(&[p], serde_json::json!({}), &[]).unwrap()
}

fn run(t: &FakeTransport, r: &Recipe, opts: RunOptions) -> (Report, Vec<String>) {
    let mut lines = Vec::new();
    let mut cb = |o: &super::report::Outcome| lines.push(format!("{:?} {}", o.status, o.label));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let rep = rt.block_on(Engine::new(t, opts, &mut cb).run(r)).unwrap();
    (rep, lines)
}

const RECIPE: &str = r#"
[[resource]]
name = "tree"
type = "apt.packages"
packages = ["tree"]
notify = ["h"]
[[resource]]
name = "jq"
type = "apt.packages"
packages = "jq"
notify = ["h"]
[[resource]]
name = "six"
type = "pip.packages"
venv = "/opt/v"
packages = ["six==1.16.0"]
[[resource]]
name = "motd"
type = "file"
path = "/etc/motd"
content = "hi\n"
[[handler]]
name = "h"
type = "command"
command = "touch /tmp/h"
"#;

const SHA_HI: &str = "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4";

fn before() -> Answers {
    ans(&[
        (FactQuery::Dpkg, "base\tii \t1\n", 0),
        (FactQuery::AptLists, "100\n", 0),
        (FactQuery::Pip("/opt/v".into()), "absent\n", 0),
        (FactQuery::Path("/etc/motd".into()), "absent\n", 0),
    ])
}

fn after() -> Vec<(&'static str, Answers)> {
    vec![
        (
            "install --no-install-recommends",
            ans(&[
                (FactQuery::Dpkg, "tree\tii \t2.1\njq\tii \t1.6\n", 0),
                (FactQuery::AptLists, "100\n90\n", 0),
            ]),
        ),
        (
            "vmbuild-pip",
            ans(&[(
                FactQuery::Pip("/opt/v".into()),
                "venv\nsix-1.16.0.dist-info\n",
                0,
            )]),
        ),
        (
            ".motd.vmbuild-tmp-",
            ans(&[(
                FactQuery::Path("/etc/motd".into()),
                &format!("regular file|644|root|root|3\nsha256|{SHA_HI}\n"),
                0,
            )]),
        ),
    ]
}

fn converged() -> Answers {
    let mut a = before();
    for (_, x) in after() {
        a.extend(x);
    }
    a
}

#[test]
fn converge_batches_installs_verifies_and_runs_handlers_once() {
    let t = fake(before(), after(), vec![]);
    let (rep, lines) = run(&t, &recipe(RECIPE), RunOptions::default());
    let cmds = t.commands.lock().unwrap().clone();
    let installs: Vec<&String> = cmds
        .iter()
        .filter(|c| c.contains("apt-get") && c.contains("install"))
        .collect();
    assert_eq!(installs.len(), 1, "{cmds:#?}");
    assert!(
        installs[0].ends_with("install --no-install-recommends tree jq"),
        "{}",
        installs[0]
    );
    assert!(
        cmds.iter().any(|c| c.contains(" update")),
        "lists were missing: apt-get update first"
    );
    assert_eq!(rep.counts().changed, 5, "{lines:?}");
    assert_eq!(rep.counts().failed, 0, "{:#?}", rep.resources);
    assert_eq!(rep.handlers.len(), 1);
    assert!(
        rep.resources[1]
            .reason
            .contains("in one transaction with `apt.packages[tree]`")
    );
    assert_eq!(lines[0], "Changed apt.packages[tree]");
    assert_eq!(
        cmds.iter().filter(|c| c.contains("touch /tmp/h")).count(),
        1
    );
}

#[test]
fn a_no_op_run_is_one_round_trip() {
    let t = fake(converged(), vec![], vec![]);
    let (rep, _) = run(&t, &recipe(RECIPE), RunOptions::default());
    assert_eq!(rep.counts().ok, 4);
    assert_eq!(rep.round_trips, 1);
    assert_eq!(t.commands.lock().unwrap().len(), 1);
    assert!(
        rep.resources[3].reason.contains("has the expected content"),
        "{}",
        rep.resources[3].reason
    );
    assert!(rep.handlers.is_empty());
}

#[test]
fn check_mode_changes_nothing() {
    let t = fake(before(), after(), vec![]);
    let opts = RunOptions {
        check: true,
        ..Default::default()
    };
    let (rep, _) = run(&t, &recipe(RECIPE), opts);
    assert_eq!(t.commands.lock().unwrap().len(), 1, "only the fact batch");
    assert_eq!(
        rep.counts().changed,
        5,
        "4 resources + the handler would change"
    );
    assert!(rep.handlers[0].reason.starts_with("would run"));
}

#[test]
fn a_failure_stops_the_run_unless_keep_going() {
    let t = fake(
        before(),
        after(),
        vec![("pip install", "ERROR: no such package\n")],
    );
    let (rep, _) = run(&t, &recipe(RECIPE), RunOptions::default());
    let six = &rep.resources[2];
    assert_eq!(six.status, Status::Failed);
    assert!(
        six.reason.contains("exited 1: ERROR: no such package"),
        "{}",
        six.reason
    );
    let command = &six.failure.as_ref().unwrap().command;
    assert!(
        command.contains("vmbuild-pip /opt/v python3 ") && command.ends_with(" six==1.16.0"),
        "{command}"
    );
    assert_eq!(rep.resources[3].status, Status::Skipped);
    assert!(rep.recap().iter().any(|l| l.contains("not done (2)")));
    assert_eq!(rep.handlers[0].status, Status::Skipped);

    let t = fake(before(), after(), vec![("pip install", "boom\n")]);
    let (rep, _) = run(
        &t,
        &recipe(RECIPE),
        RunOptions {
            keep_going: true,
            ..Default::default()
        },
    );
    assert_eq!(rep.resources[3].status, Status::Changed);
}

#[test]
fn handlers_a_stopped_run_owed_are_run_by_the_next_one() {
    // tree and jq change (notifying h), then six fails: h is recorded
    let t = fake(before(), after(), vec![("pip install", "boom\n")]);
    let (rep, _) = run(&t, &recipe(RECIPE), RunOptions::default());
    assert_eq!(rep.handlers[0].status, Status::Skipped);
    let cmds = t.commands.lock().unwrap().clone();
    let record = cmds
        .iter()
        .find(|c| c.contains("vmbuild-pending"))
        .expect("recorded");
    assert!(
        record.contains("/var/lib/vmbuild/pending-handlers"),
        "{record}"
    );
    assert!(!cmds.iter().any(|c| c.contains("touch /tmp/h")));

    // the next run finds nothing to change but runs h, then clears the list
    let mut a = converged();
    a.extend(ans(&[(pending_query(), &format!("b64|{}", b64("h\n")), 0)]));
    let t = fake(a, vec![], vec![]);
    let (rep, _) = run(&t, &recipe(RECIPE), RunOptions::default());
    assert_eq!(rep.counts().ok, 4);
    assert_eq!(rep.handlers.len(), 1);
    assert_eq!(rep.handlers[0].status, Status::Changed);
    assert!(
        rep.handlers[0]
            .reason
            .contains("an earlier run that could not run it")
    );
    let cmds = t.commands.lock().unwrap().clone();
    assert!(cmds.iter().any(|c| c.contains("touch /tmp/h")), "{cmds:#?}");
    assert!(
        cmds.iter()
            .any(|c| c.contains("rm -f -- /var/lib/vmbuild/pending-handlers"))
    );
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn sudo_wraps_everything_for_a_non_root_login() {
    let t = fake(before(), after(), vec![]);
    run(
        &t,
        &recipe(RECIPE),
        RunOptions {
            sudo: true,
            ..Default::default()
        },
    );
    for c in t.commands.lock().unwrap().iter() {
        assert!(c.starts_with("sudo -n -H -- "), "{c}");
    }
}

fn run_with_progress(
    t: &FakeTransport,
    r: &Recipe,
    opts: RunOptions,
) -> (Report, Vec<super::engine::Progress>) {
    let mut cb = |_: &super::report::Outcome| {};
    let mut events = Vec::new();
    let mut on = |p: &super::engine::Progress| events.push(p.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let rep = rt
        .block_on(Engine::new(t, opts, &mut cb).with_progress(&mut on).run(r))
        .unwrap();
    (rep, events)
}

/// An install after a resource that prepares it (here a file) is not
/// pulled ahead of it: the file is written first, then the second install
/// runs on its own.
#[test]
fn an_install_never_moves_ahead_of_a_resource_between() {
    let text = r#"
[[resource]]
name = "tree"
type = "apt.packages"
packages = ["tree"]
[[resource]]
name = "motd"
type = "file"
path = "/etc/motd"
content = "hi\n"
[[resource]]
name = "less"
type = "apt.packages"
packages = ["less"]
"#;
    let mut later = after();
    later.push((
        "install --no-install-recommends less",
        ans(&[(FactQuery::Dpkg, "tree\tii \t2.1\nless\tii \t590\n", 0)]),
    ));
    let t = fake(before(), later, vec![]);
    let (rep, events) = run_with_progress(&t, &recipe(text), RunOptions::default());
    let cmds = t.commands.lock().unwrap().clone();
    let pos = |pat: &str| {
        cmds.iter()
            .position(|c| c.contains(pat))
            .unwrap_or_else(|| panic!("no `{pat}` in {cmds:#?}"))
    };
    let tree = pos("install --no-install-recommends tree");
    let motd = pos("motd");
    let less = pos("install --no-install-recommends less");
    assert!(tree < motd && motd < less, "{cmds:#?}");
    assert_eq!(rep.counts().failed, 0, "{:#?}", rep.resources);
    assert!(!rep.resources[2].reason.contains("one transaction"));
    let started: Vec<&super::engine::Progress> = events
        .iter()
        .filter(|e| matches!(e, super::engine::Progress::Started { .. }))
        .collect();
    assert_eq!(started.len(), 3, "{events:?}");
}

/// Members of a merged transaction are re-checked when it runs: the second
/// pip resource does not claim to create the venv the first one creates,
/// and a package the leader already installs is not installed twice.
#[test]
fn merged_reasons_are_recomputed_when_the_transaction_runs() {
    let text = r#"
[[resource]]
name = "six"
type = "pip.packages"
venv = "/opt/v"
packages = ["six==1.16.0"]
[[resource]]
name = "idna"
type = "pip.packages"
venv = "/opt/v"
packages = ["six==1.16.0", "idna==3.7"]
[[resource]]
name = "again"
type = "pip.packages"
venv = "/opt/v"
packages = ["six==1.16.0"]
"#;
    let installed = vec![(
        "vmbuild-pip",
        ans(&[(
            FactQuery::Pip("/opt/v".into()),
            "venv\nsix-1.16.0.dist-info\nidna-3.7.dist-info\n",
            0,
        )]),
    )];
    let t = fake(before(), installed, vec![]);
    let (rep, events) = run_with_progress(&t, &recipe(text), RunOptions::default());
    assert_eq!(
        rep.resources[0].reason,
        "create venv `/opt/v` and install six==1.16.0"
    );
    assert_eq!(
        rep.resources[1].reason,
        "install idna==3.7 into `/opt/v` (in one transaction with `pip.packages[six]`)"
    );
    assert!(
        rep.resources[2]
            .reason
            .ends_with("done by the same transaction as `pip.packages[six]`"),
        "{}",
        rep.resources[2].reason
    );
    let cmds = t.commands.lock().unwrap().clone();
    let pip: Vec<&String> = cmds.iter().filter(|c| c.contains("vmbuild-pip")).collect();
    assert_eq!(pip.len(), 1, "{cmds:#?}");
    assert!(
        pip[0].contains(" vmbuild-pip /opt/v python3 ")
            && pip[0].ends_with(" six==1.16.0 idna==3.7"),
        "{}",
        pip[0]
    );
    assert!(events.contains(&super::engine::Progress::Started {
        label: "pip.packages[six]".into(),
        with: vec!["pip.packages[idna]".into(), "pip.packages[again]".into()],
    }));
}

static STOP_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Stops from the second resource on (as if Ctrl-C came while the first ran).
fn stop_after_first() -> bool {
    STOP_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1
}

#[test]
fn a_stop_request_ends_the_run_between_resources() {
    let t = fake(before(), after(), vec![]);
    let opts = RunOptions {
        stop: stop_after_first,
        ..Default::default()
    };
    let (rep, _) = run(&t, &recipe(RECIPE), opts);
    assert!(rep.interrupted);
    assert_eq!(rep.resources[0].status, Status::Changed);
    assert_eq!(rep.resources[2].status, Status::Skipped);
    assert_eq!(rep.resources[2].reason, "not run: stopped by the user");
    assert_eq!(rep.handlers[0].status, Status::Skipped);
    let cmds = t.commands.lock().unwrap().clone();
    assert!(!cmds.iter().any(|c| c.contains("vmbuild-pip")), "{cmds:#?}");
    assert!(
        cmds.iter().any(|c| c.contains("vmbuild-pending")),
        "the handler the stopped run owes is recorded: {cmds:#?}"
    );
}

#[test]
fn diffs_never_show_secrets_or_private_files() {
    let text = r#"
[[resource]]
name = "token"
type = "file"
path = "/etc/token"
content = "token = s3cr\"et'\\value\n"
[[resource]]
name = "key"
type = "file"
path = "/etc/key.pem"
content = "-----BEGIN PRIVATE KEY-----\nabc\n"
mode = "0600"
[[resource]]
name = "motd"
type = "file"
path = "/etc/motd"
content = "hi\n"
"#;
    let a = ans(&[
        (FactQuery::Path("/etc/token".into()), "absent\n", 0),
        (FactQuery::Content("/etc/token".into()), "absent\n", 0),
        (FactQuery::Path("/etc/key.pem".into()), "absent\n", 0),
        (FactQuery::Path("/etc/motd".into()), "absent\n", 0),
        (FactQuery::Content("/etc/motd".into()), "absent\n", 0),
    ]);
    let t = fake(a, vec![], vec![]);
    let secrets = crate::mask::Secrets::new();
    secrets.add("s3cr\"et'\\value");
    let opts = RunOptions {
        check: true,
        diff: true,
        secrets,
        ..Default::default()
    };
    let (rep, _) = run(&t, &recipe(text), opts);
    assert_eq!(rep.resources[0].diffs, [super::engine::DIFF_HIDDEN_SECRET]);
    assert!(rep.resources[1].diffs[0].starts_with("(diff not shown: `/etc/key.pem` is private"));
    assert!(
        rep.resources[2].diffs[0].contains("+hi"),
        "{:?}",
        rep.resources[2].diffs
    );
    // the private file's content was not even fetched: the fake host
    // answers no `content:/etc/key.pem` fact and would have panicked
}
