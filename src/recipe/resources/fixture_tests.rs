//! Table tests from `tests/fixtures/resources/cases/*.toml`: a resource as
//! written in a recipe, the facts the host printed, and the expected plan
//! (status, reason, command lines). `check` is pure, so no host is needed.
use std::path::Path;

use crate::recipe::facts::{FactOutput, FactQuery, Facts};
use crate::recipe::load::load;
use crate::recipe::resource::{Action, CheckOptions};

fn query(key: &str) -> FactQuery {
    let (kind, arg) = key.split_once(':').unwrap_or((key, ""));
    let a = arg.to_owned();
    match kind {
        "path" => FactQuery::Path(a),
        "content" => FactQuery::Content(a),
        "dpkg" => FactQuery::Dpkg,
        "apt-lists" => FactQuery::AptLists,
        "user" => FactQuery::User(a),
        "group" => FactQuery::Group(a),
        "systemd" => FactQuery::Systemd(a),
        "pip" => FactQuery::Pip(a),
        "npm" => FactQuery::Npm,
        "r" => FactQuery::RPackages,
        "mount" => FactQuery::Mount(a),
        "sysctl" => FactQuery::Sysctl(a),
        "hostname" => FactQuery::Hostname,
        "locales" => FactQuery::Locales,
        "guard" => FactQuery::Guard {
            command: a,
            user: None,
        },
        other => panic!("unknown fact key `{other}`"),
    }
}

fn shown(a: &Action) -> String {
    match a {
        // the safe-write perl scripts are shown by name with their arguments
        Action::Exec(c) => match c.to_shell().strip_prefix("perl -e '#") {
            Some(rest) => format!(
                "{} {}",
                rest.split('\n').next().unwrap_or(""),
                // the script holds no `'`: the first `' ` ends it
                rest.split_once("' ").map_or("", |(_, args)| args)
            ),
            None => c.to_shell(),
        },
        Action::Put {
            path,
            content,
            mode,
            owner,
            group,
        } => format!(
            "put {path} {mode:04o} {}:{} {:?}",
            owner.as_deref().unwrap_or(""),
            group.as_deref().unwrap_or(""),
            String::from_utf8_lossy(content)
        ),
        other => format!("{other:?}"),
    }
}

fn run_case(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let case: toml::Table = toml::from_str(&text).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    // the [resource] table becomes a one-resource recipe
    let mut res = case["resource"].as_table().unwrap().clone();
    res.entry("name").or_insert_with(|| "case".into());
    let recipe_text = toml::to_string(&toml::Table::from_iter([(
        "resource".to_owned(),
        toml::Value::Array(vec![toml::Value::Table(res)]),
    )]))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rp = dir.path().join("r.toml");
    std::fs::write(&rp, recipe_text).unwrap();
    let recipe = load(&[rp], serde_json::json!({}), &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r = &recipe.entries[0].resource;
    let mut facts = Facts::default();
    for f in case
        .get("facts")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let q = query(f["query"].as_str().unwrap());
        let out = FactOutput {
            stdout: f
                .get("stdout")
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_owned(),
            stderr: String::new(),
            rc: f.get("rc").and_then(|x| x.as_integer()).unwrap_or(0) as i32,
        };
        facts.insert(q, out);
    }
    for q in r.facts(CheckOptions::default()) {
        assert!(
            facts.raw(&q).is_ok(),
            "{name}: the resource asks for {q:?}, which the case does not give"
        );
    }
    let expect = case["expect"].as_table().unwrap();
    let want_status = expect["status"].as_str().unwrap();
    let want_reason = expect.get("reason").and_then(|r| r.as_str()).unwrap_or("");
    let (status, reason, cmds) = match r.check(&facts, CheckOptions::default()) {
        Err(e) => ("failed", e.to_string(), vec![]),
        Ok(p) if p.is_ok() => ("ok", p.ok_reason, vec![]),
        Ok(p) => (
            "changed",
            p.summary(),
            p.actions().iter().map(shown).collect(),
        ),
    };
    assert_eq!(status, want_status, "{name}: {reason}");
    assert!(
        reason.contains(want_reason),
        "{name}: reason `{reason}` lacks `{want_reason}`"
    );
    if let Some(want) = expect.get("commands").and_then(|c| c.as_array()) {
        let want: Vec<&str> = want.iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(cmds, want, "{name}");
    }
}

#[test]
fn resource_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resources/cases");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            run_case(&p);
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} cases found");
}
