//! `vmbuild config init`: a commented `vmbuild.toml` with every key, its
//! documentation (from the types' doc comments) and its default.
use std::io::Write;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

use super::DEFAULT_TOML;
use super::error::ConfigError;
use super::schema::{Shape, root};

const HEADER: &str = "\
# vmbuild.toml: configuration of the appliance `vmbuild` builds.
# Written by `vmbuild config init`; every value shown is the default.
# Every key is optional: delete what you do not change, and a key left out
# keeps its default. Keys shown commented out are unset by default.
# Precedence: embedded default < this file < VMBUILD_* environment variables
# (VMBUILD_VM__CPUS=4 sets vm.cpus) < command-line flags (-i, -d, --provider).
# `vmbuild config show` prints the effective configuration;
# `vmbuild config schema` prints a JSON schema for editors.
";

/// Example values for keys that are unset by default.
const EXAMPLES: &[(&str, &str)] = &[
    ("templates_dir", "\"templates\""),
    ("bundled_dir", "\"data\""),
    ("http_proxy", "\"http://proxy.example.org:3128\""),
    ("https_proxy", "\"http://proxy.example.org:3128\""),
    ("no_proxy", "\"localhost,127.0.0.1\""),
    ("admin_password", "\"choose-a-long-password\""),
    ("domain", "\"hub.example.org\""),
    ("requirements_file", "\"requirements.txt\""),
    ("cloud", "\"mycloud\""),
    ("image_name", "\"jupyterhub-appliance\""),
];

/// The text `config init` writes.
pub fn commented_default() -> String {
    let doc: DocumentMut = DEFAULT_TOML.parse().unwrap_or_default();
    let mut out = String::from(HEADER);
    emit_table(&mut out, "", doc.as_table(), root());
    out
}

fn comment(out: &mut String, doc: Option<&str>) {
    for line in doc.unwrap_or("").lines() {
        out.push_str(&format!("# {line}\n"));
    }
}

fn emit_table(out: &mut String, path: &str, table: &Table, shape: &Shape) {
    let Shape::Table(fields) = shape else { return };
    for (key, item) in table.iter() {
        if let Item::Value(v) = item {
            let field = fields.iter().find(|f| f.name == key);
            out.push('\n');
            comment(out, field.and_then(|f| f.doc.as_deref()));
            out.push_str(&format!("{key} = {}\n", v.clone().decorated("", "")));
        }
    }
    for field in fields {
        if table.contains_key(&field.name) || matches!(field.shape, Shape::Table(_)) {
            continue;
        }
        let example = EXAMPLES
            .iter()
            .find(|(k, _)| *k == field.name)
            .map_or("\"\"", |(_, e)| e);
        out.push('\n');
        comment(out, field.doc.as_deref());
        out.push_str(&format!("# {} = {example}\n", field.name));
    }
    for (key, item) in table.iter() {
        if let Item::Table(sub) = item {
            let child = super::check::join(path, key);
            let field = fields.iter().find(|f| f.name == key);
            out.push_str("\n\n");
            comment(out, field.and_then(|f| f.doc.as_deref()));
            out.push_str(&format!("[{child}]\n"));
            let sub_shape = field.map_or(&Shape::Any, |f| &f.shape);
            emit_table(out, &child, sub, sub_shape);
        }
    }
}

/// Write [`commented_default`] to `path` atomically; an existing file is
/// replaced only with `force`.
pub fn write(path: &Path, force: bool) -> Result<(), ConfigError> {
    let write_err = |source| ConfigError::Write {
        path: path.display().to_string(),
        source,
    };
    if path.exists() && !force {
        return Err(ConfigError::Exists {
            path: path.display().to_string(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".vmbuild.toml.")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(commented_default().as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(write_err)?;
    let result = if force {
        tmp.persist(path).map(drop)
    } else {
        // Refuse to clobber a file created since the check above.
        tmp.persist_noclobber(path).map(drop)
    };
    result.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ConfigError::Exists {
                path: path.display().to_string(),
            }
        } else {
            write_err(e.error)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    #[test]
    fn the_commented_file_is_the_default_and_documents_every_key() {
        let text = commented_default();
        let from_init = parse_str(Path::new("init.toml"), &text).expect("valid");
        let default = parse_str(Path::new("d.toml"), "").expect("valid");
        assert_eq!(from_init, default);
        fn names(shape: &Shape, out: &mut Vec<String>) {
            if let Shape::Table(fields) = shape {
                for f in fields {
                    out.push(f.name.clone());
                    names(&f.shape, out);
                }
            }
        }
        let mut all = Vec::new();
        names(root(), &mut all);
        for name in all {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{name} = "))
                    || l.starts_with(&format!("# {name} = "))
                    || l.contains(&format!(".{name}]"))
                    || l == format!("[{name}]")),
                "`{name}` missing from:\n{text}"
            );
        }
        assert!(text.contains("# Virtual CPUs.\ncpus = 2\n"), "{text}");
        assert!(text.contains("# Admin password; secret. Empty: generated at provisioning and printed once.\n# admin_password = "), "{text}");
    }
}
