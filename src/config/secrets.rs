//! Which config values are secrets: masked by `config show`, registered with
//! [`Ui::add_secret`] so that they never reach the screen or the log.
//!
//! A value is secret when its key (at any depth, including the free-form
//! `hub.authenticator_settings` and `openstack.properties`) contains one of
//! [`SECRET_WORDS`]; so are passwords inside proxy URLs (`http://u:pw@proxy`).
use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::types::Config;
use crate::ui::{MASK, Ui};

/// Key fragments that mark a value as secret.
pub const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "token",
    "secret",
    "credential",
    "api_key",
    "apikey",
    "private_key",
];

/// Keys whose values are URLs that may carry a password.
const URL_KEYS: &[&str] = &["http_proxy", "https_proxy", "mirror", "security_mirror"];

/// Whether a value stored under `key` is a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// Every secret string in `cfg`, sorted, each once (a secret table such as
/// `credentials` holds secret keys of its own, so both visits find them).
pub fn secret_values(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(cfg) {
        visit(&t, &mut |key, v| collect(key, v, &mut out));
    }
    out.sort();
    out.dedup();
    out
}

/// Register every secret of `cfg` with `ui`, so it is masked from now on.
/// Called by `config::resolve_for_run` (the pipeline's entry point).
pub fn register(cfg: &Config, ui: &Ui) {
    for s in secret_values(cfg) {
        ui.add_secret(&s);
    }
}

/// `cfg` as TOML (keys in declaration order) with every secret replaced by [`MASK`].
pub fn masked(cfg: &Config) -> String {
    let Ok(mut doc) = toml::to_string_pretty(cfg)
        .map_err(|e| e.to_string())
        .and_then(|t| t.parse::<DocumentMut>().map_err(|e| e.to_string()))
    else {
        return String::new();
    };
    mask_table(doc.as_table_mut());
    doc.to_string()
}

/// Every key and value of `t` at any depth, tables inside arrays too
/// (`[[data.s3]]`).
fn visit(t: &toml::Table, f: &mut dyn FnMut(&str, &toml::Value)) {
    for (k, v) in t {
        f(k, v);
        visit_value(v, f);
    }
}

fn visit_value(v: &toml::Value, f: &mut dyn FnMut(&str, &toml::Value)) {
    match v {
        toml::Value::Table(inner) => visit(inner, f),
        toml::Value::Array(items) => items.iter().for_each(|x| visit_value(x, f)),
        _ => {}
    }
}

fn collect(key: &str, v: &toml::Value, out: &mut Vec<String>) {
    if is_secret_key(key) {
        strings(v, out);
    } else if URL_KEYS.contains(&key)
        && let Some(pw) = v.as_str().and_then(url_password)
    {
        out.push(pw);
    }
}

/// Every string inside `v`.
fn strings(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn url_password(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    u.password().filter(|p| !p.is_empty()).map(str::to_owned)
}

fn mask_table(t: &mut dyn TableLike) {
    for (key, item) in t.iter_mut() {
        if is_secret_key(key.get()) {
            mask_item(item);
        } else if URL_KEYS.contains(&key.get()) {
            if let Some(url) = item.as_str().and_then(masked_url) {
                *item = toml_edit::value(url);
            }
        } else if let Some(inner) = item.as_table_like_mut() {
            mask_table(inner);
        } else if let Item::ArrayOfTables(a) = item {
            a.iter_mut().for_each(|t| mask_table(t));
        } else if let Some(Value::Array(a)) = item.as_value_mut() {
            for v in a.iter_mut() {
                if let Value::InlineTable(t) = v {
                    mask_table(t);
                }
            }
        }
    }
}

/// `url` with its password masked, if it has one.
fn masked_url(url: &str) -> Option<String> {
    let mut u = reqwest::Url::parse(url).ok()?;
    if u.password().is_some_and(|p| !p.is_empty()) && u.set_password(Some(MASK)).is_ok() {
        Some(u.to_string())
    } else {
        None
    }
}

fn mask_item(item: &mut Item) {
    match item {
        Item::Value(v) => mask_value(v),
        Item::Table(t) => t.iter_mut().for_each(|(_, i)| mask_item(i)),
        Item::ArrayOfTables(a) => a
            .iter_mut()
            .for_each(|t| t.iter_mut().for_each(|(_, i)| mask_item(i))),
        Item::None => {}
    }
}

fn mask_value(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(mask_value),
        Value::InlineTable(t) => t.iter_mut().for_each(|(_, x)| mask_value(x)),
        // a switch such as `keep_credentials = true` holds no secret
        Value::Boolean(_) => {}
        _ => {
            let decor = v.decor().clone();
            *v = Value::from(MASK);
            *v.decor_mut() = decor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const SECRETS: &str = r#"
[proxy]
http_proxy = "http://alice:pr0xy-pass@proxy.example:3128"
[hub]
admin_password = "correct horse"
authenticator = "github"
authenticator_settings = { client_id = "id-visible", client_secret = "gh-secret-1", oauth_token = "tok-12345" }
[openstack]
properties = { hw_disk_bus = "virtio", api_key = "os-key-999" }
"#;

    #[test]
    fn secrets_are_found_and_masked() {
        let cfg = parse_str("s.toml".as_ref(), SECRETS).expect("valid");
        let mut found = secret_values(&cfg);
        found.sort();
        assert_eq!(
            found,
            [
                "correct horse",
                "gh-secret-1",
                "os-key-999",
                "pr0xy-pass",
                "tok-12345"
            ]
        );
        let shown = masked(&cfg);
        for s in &found {
            assert!(!shown.contains(s.as_str()), "{s} leaked:\n{shown}");
        }
        assert!(
            shown.contains("id-visible")
                && shown.contains("http://alice:********@proxy.example:3128")
        );
        let ui = Ui::silent();
        register(&cfg, &ui);
        assert_eq!(
            ui.mask("pw correct horse, gh-secret-1"),
            "pw ********, ********"
        );
    }

    #[test]
    fn s3_credentials_in_an_array_of_tables_are_found_and_masked() {
        let cfg = parse_str(
            "s.toml".as_ref(),
            "[[data.s3]]\nname = \"pub\"\nendpoint = \"https://s3.example.org\"\nbucket = \"pub-data\"\nread = [\"all\"]\nkeep_credentials = true\ncredentials = { access_key_id = \"AKIDVISIBLE1\", secret_access_key = \"wJalr-s3-secret\" }\n",
        )
        .expect("valid");
        let mut found = secret_values(&cfg);
        found.sort();
        assert_eq!(found, ["AKIDVISIBLE1", "wJalr-s3-secret"]);
        let shown = masked(&cfg);
        for s in &found {
            assert!(!shown.contains(s.as_str()), "{s} leaked:\n{shown}");
        }
        assert!(shown.contains("bucket = \"pub-data\""), "{shown}");
        assert!(shown.contains("keep_credentials = true"), "{shown}");
    }
}
