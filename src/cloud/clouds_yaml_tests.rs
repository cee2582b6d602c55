//! Unit tests of clouds.yaml lookup and parsing, on tests/fixtures/openstack.
use std::collections::HashMap;

use super::*;
use crate::cloud::config::{Auth, DomainRef, ProjectScope, UserRef};
use crate::cloud::yaml_error::unquote;
use crate::ui::Ui;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openstack")
}

/// Search paths over the fixture tree: `cwd`, `user/openstack`, `etc/openstack`,
/// keeping only the directories named in `dirs`.
fn paths(dirs: &[&str]) -> SearchPaths {
    let root = fixtures().join("lookup");
    SearchPaths {
        clouds_override: None,
        secure_override: None,
        dirs: dirs.iter().map(|d| root.join(d)).collect(),
    }
}

fn load(
    name: Option<&str>,
    p: &SearchPaths,
    env: &[(&str, &str)],
) -> Result<CloudConfig, CloudError> {
    load_with_ui(name, p, env, &Ui::silent())
}

fn load_with_ui(
    name: Option<&str>,
    p: &SearchPaths,
    env: &[(&str, &str)],
    ui: &Ui,
) -> Result<CloudConfig, CloudError> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    load_cloud_with(name, p, &|k| map.get(k).cloned(), ui)
}

#[test]
fn standard_search_order() {
    let env: HashMap<&str, &str> = [("HOME", "/home/u")].into();
    let p = SearchPaths::from_env(&|k| env.get(k).map(|v| (*v).to_owned()));
    let c: Vec<String> = p
        .clouds_candidates()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(c[0], "./clouds.yaml");
    assert_eq!(c[1], "./clouds.yml");
    assert_eq!(c[3], "/home/u/.config/openstack/clouds.yaml");
    assert_eq!(c[6], "/etc/openstack/clouds.yaml");
    let env: HashMap<&str, &str> = [
        ("XDG_CONFIG_HOME", "/x"),
        ("OS_CLIENT_CONFIG_FILE", "/o/c.yaml"),
    ]
    .into();
    let p = SearchPaths::from_env(&|k| env.get(k).map(|v| (*v).to_owned()));
    assert_eq!(p.clouds_candidates()[0], Path::new("/o/c.yaml"));
    assert_eq!(
        p.clouds_candidates()[4],
        Path::new("/x/openstack/clouds.yaml")
    );
    assert_eq!(p.secure_candidates()[0], Path::new("./secure.yaml"));
}

#[test]
fn first_file_wins_and_secure_yaml_is_merged() {
    let c = load(
        Some("mycloud"),
        &paths(&["cwd", "user/openstack", "etc/openstack"]),
        &[],
    )
    .unwrap();
    assert_eq!(c.auth_url, "https://keystone.example.org:5000/v3");
    assert_eq!(c.region_name.as_deref(), Some("RegionTwo"));
    assert_eq!(c.interface, "internal");
    assert!(c.source.ends_with("lookup/cwd/clouds.yaml"));
    assert_eq!(
        c.auth,
        Auth::Password {
            user: UserRef::Name {
                name: "alice".into(),
                domain: DomainRef::Name("Default".into())
            },
            password: crate::cloud::Secret::new("from-secure-yaml"),
            scope: Some(ProjectScope::Name {
                name: "course".into(),
                domain: DomainRef::Id("default".into())
            }),
        }
    );
    // The user's file is not read when ./clouds.yaml exists.
    let e = load(Some("usercloud"), &paths(&["cwd", "user/openstack"]), &[]).unwrap_err();
    assert!(e.to_string().contains("cloud `usercloud` is not in"), "{e}");
    assert!(e.to_string().contains("appcred, mycloud, numeric"), "{e}");
}

#[test]
fn falls_through_to_user_then_system_dir() {
    let c = load(
        Some("usercloud"),
        &paths(&["missing", "user/openstack", "etc/openstack"]),
        &[],
    )
    .unwrap();
    assert_eq!(c.interface, "public");
    assert!(c.verify);
    let c = load(
        None,
        &paths(&["missing", "etc/openstack"]),
        &[("OS_CLOUD", "systemcloud")],
    )
    .unwrap();
    assert!(!c.verify);
    let Auth::Password { scope, .. } = &c.auth else {
        panic!("{c:?}")
    };
    assert_eq!(
        scope,
        &Some(ProjectScope::Name {
            name: "ops".into(),
            domain: DomainRef::Name("Default".into())
        })
    );
}

#[test]
fn os_client_config_file_comes_first() {
    let mut p = paths(&["cwd"]);
    p.clouds_override = Some(fixtures().join("lookup/override/my-clouds.yaml"));
    let c = load(Some("overridden"), &p, &[]).unwrap();
    assert_eq!(c.auth_url, "http://override.example:5000");
}

#[test]
fn application_credential_and_numeric_ids() {
    let p = paths(&["cwd"]);
    let c = load(Some("appcred"), &p, &[]).unwrap();
    assert!(matches!(&c.auth, Auth::ApplicationCredential { id: Some(id), .. } if id == "4a9f"));
    assert_eq!(c.secrets(), vec!["s3cret-app"]);
    assert!(
        !format!("{c:?}").contains("s3cret-app"),
        "Debug must redact"
    );
    let c = load(Some("numeric"), &p, &[]).unwrap();
    let Auth::Password { user, scope, .. } = &c.auth else {
        panic!()
    };
    assert_eq!(user, &UserRef::Id("12345".into()));
    assert_eq!(scope, &Some(ProjectScope::Id("678".into())));
}

#[test]
fn envvars_cloud() {
    let env = [
        ("OS_AUTH_URL", "http://env.example:5000/v3"),
        ("OS_USERNAME", "erin"),
        ("OS_PASSWORD", "pw-env"),
        ("OS_PROJECT_NAME", "p"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ("OS_REGION_NAME", "R1"),
        ("OS_INTERFACE", "public"),
    ];
    let c = load(None, &paths(&["cwd"]), &env).unwrap();
    assert_eq!(c.name, ENVVARS_CLOUD);
    assert_eq!(c.region_name.as_deref(), Some("R1"));
    assert_eq!(c.secrets(), vec!["pw-env"]);
    // A named cloud wins over OS_* variables.
    let c = load(Some("appcred"), &paths(&["cwd"]), &env).unwrap();
    assert_eq!(c.name, "appcred");
}

#[test]
fn nothing_named_is_a_clear_user_error() {
    let e = load(None, &paths(&["cwd"]), &[]).unwrap_err();
    assert!(e.is_user_error());
    assert!(e.to_string().contains("OS_CLOUD"), "{e}");
    let e = load(Some("x"), &paths(&["missing"]), &[]).unwrap_err();
    assert!(e.to_string().contains("no clouds.yaml found"), "{e}");
}

#[test]
fn credentials_are_registered_as_secrets_even_when_the_cloud_is_refused() {
    // from secure.yaml, merged
    let ui = Ui::silent();
    load_with_ui(Some("mycloud"), &paths(&["cwd"]), &[], &ui).unwrap();
    assert_eq!(ui.mask("pw=from-secure-yaml"), "pw=********");
    let ui = Ui::silent();
    load_with_ui(Some("appcred"), &paths(&["cwd"]), &[], &ui).unwrap();
    assert_eq!(ui.mask("s3cret-app"), "********");
    // a token, in a cloud whose auth_type is refused
    let mut p = paths(&[]);
    p.clouds_override = Some(fixtures().join("bad/unsupported.yaml"));
    let ui = Ui::silent();
    load_with_ui(Some("tokencloud"), &p, &[], &ui).unwrap_err();
    assert_eq!(ui.mask("tok-abc123 ok"), "******** ok");
    // the OS_* variables, token included
    let env = [
        ("OS_AUTH_URL", "http://env.example:5000/v3"),
        ("OS_USER_ID", "erin"),
        ("OS_PASSWORD", "pw-env-123"),
        ("OS_TOKEN", "tok-env-456"),
    ];
    let ui = Ui::silent();
    load_with_ui(None, &paths(&[]), &env, &ui).unwrap();
    assert_eq!(
        ui.mask("pw-env-123 tok-env-456 erin"),
        "******** ******** erin"
    );
}

/// Every malformed file in tests/fixtures/openstack/bad/leaky-*.yaml holds
/// the password `hunter2-LEAK` near its error.
#[test]
fn syntax_errors_show_position_and_expectation_but_no_text() {
    let bad = fixtures().join("bad");
    for (name, expected) in [
        (
            "leaky-indent.yaml",
            "leaky-indent.yaml:5:29: invalid YAML: mapping values are not allowed in this context (the file's text is not shown: it may hold credentials)",
        ),
        (
            "leaky-quote.yaml",
            "leaky-quote.yaml:6:1: invalid YAML: invalid indentation in multiline quoted scalar (the file's text is not shown: it may hold credentials)",
        ),
        (
            "leaky-char.yaml",
            "leaky-char.yaml:5:17: invalid YAML: unexpected character (the file's text is not shown: it may hold credentials)",
        ),
        (
            "leaky-duplicate.yaml",
            "leaky-duplicate.yaml:5:7: invalid YAML: a key appears twice in the same mapping (the file's text is not shown: it may hold credentials)",
        ),
    ] {
        let path = Path::new(name);
        let text = std::fs::read_to_string(bad.join(name)).unwrap();
        assert!(text.contains("hunter2-LEAK"), "{name}");
        let e = parse_clouds(path, &text).unwrap_err();
        assert!(e.is_user_error());
        let e = e.to_string();
        assert!(!e.contains("LEAK") && !e.contains("hunter"), "{e}");
        assert_eq!(e, expected);
    }
}

#[test]
fn parser_messages_lose_quoted_text() {
    assert_eq!(unquote("unexpected character: `@'"), "unexpected character");
    assert_eq!(unquote("a `x' b `y' c"), "a  b  c");
    assert_eq!(
        unquote("did not find expected key"),
        "did not find expected key"
    );
    assert_eq!(unquote("open `quote"), "open");
}

#[test]
fn malformed_files_name_file_and_position() {
    let bad = fixtures().join("bad");
    let text = std::fs::read_to_string(bad.join("bad-indent.yaml")).unwrap();
    let e = parse_clouds(&bad.join("bad-indent.yaml"), &text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad-indent.yaml:5:"), "{e}");
    assert!(!e.contains("misaligned"), "{e}");
    let text = std::fs::read_to_string(bad.join("no-clouds.yaml")).unwrap();
    let e = parse_clouds(Path::new("no-clouds.yaml"), &text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no `clouds:` mapping"), "{e}");
    let e = parse_clouds(Path::new("e.yaml"), "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn unsupported_or_incomplete_auth_is_explained() {
    let mut p = paths(&[]);
    p.clouds_override = Some(fixtures().join("bad/unsupported.yaml"));
    let e = load(Some("tokencloud"), &p, &[]).unwrap_err().to_string();
    assert!(e.contains("auth_type `v3token` is not supported"), "{e}");
    let e = load(Some("nodomain"), &p, &[]).unwrap_err().to_string();
    assert!(e.contains("user_domain_name"), "{e}");
}
