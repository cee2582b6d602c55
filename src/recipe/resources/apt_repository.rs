//! `apt.repository`: an apt source with its signing key in /etc/apt/keyrings.
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, CheckOptions, Plan, Resource};
use super::file::File;

/// A managed apt repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptRepository {
    /// The key file (`/etc/apt/keyrings/NAME.asc`, or `.gpg` for a binary
    /// keyring), if a key is given.
    pub key: Option<File>,
    /// The sources file (`/etc/apt/sources.list.d/NAME.list`).
    pub list: File,
}

impl AptRepository {
    /// From an `apt.repository` table: `repo` (a file name), `uri`, `suite`, `components`,
    /// and the key as `key` (inline armored text) or `key_source` (local file).
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let name = f.str("repo")?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(f.error("`repo` may only contain letters, digits, `-`, `_` and `.`"));
        }
        let uri = f.str("uri")?;
        let suite = f.str("suite")?;
        let components = f.str_list("components")?;
        let key = match (f.opt_str("key")?, f.node("key_source")) {
            (Some(k), _) => Some(k.into_bytes()),
            (None, Some(_)) => content_from_fields_key(f)?,
            (None, None) => None,
        };
        // apt tells armored from binary keyrings by the file extension
        let ext = match &key {
            Some(k) if !k.starts_with(b"-----BEGIN") => "gpg",
            _ => "asc",
        };
        let key_path = format!("/etc/apt/keyrings/{name}.{ext}");
        let signed = if key.is_some() {
            format!(" [signed-by={key_path}]")
        } else {
            String::new()
        };
        let line = format!("deb{signed} {uri} {suite} {}\n", components.join(" "));
        let file = File::root_owned;
        Ok(AptRepository {
            key: key.map(|k| file(key_path, k)),
            list: file(
                format!("/etc/apt/sources.list.d/{name}.list"),
                line.into_bytes(),
            ),
        })
    }
}

fn content_from_fields_key(f: &mut Fields<'_>) -> Result<Option<Vec<u8>>, RecipeError> {
    let Some(node) = f.node("key_source") else {
        return Ok(None);
    };
    let super::super::value::Kind::Str(rel) = &node.kind else {
        return Err(node.error("expected a path as a string"));
    };
    let base = f
        .table()
        .src
        .path
        .parent()
        .map(std::path::Path::to_owned)
        .unwrap_or_default();
    let p = base.join(rel);
    std::fs::read(&p)
        .map(Some)
        .map_err(|e| node.error(format!("cannot read `{}`: {e}", p.display())))
}

impl Resource for AptRepository {
    fn facts(&self, opts: CheckOptions) -> Vec<FactQuery> {
        let mut q = self.list.facts(opts);
        if let Some(k) = &self.key {
            q.extend(k.facts(opts));
        }
        q
    }

    fn check(&self, facts: &Facts, opts: CheckOptions) -> Result<Plan, FactError> {
        let mut changes = Vec::new();
        if let Some(k) = &self.key {
            changes.extend(k.check(facts, opts)?.changes);
        }
        let list = self.list.check(facts, opts)?;
        changes.extend(list.changes);
        if let Some(last) = changes.last_mut() {
            last.actions.push(Action::AptListsStale);
        }
        Ok(Plan::from_changes(
            changes,
            format!("`{}` and its key are in place", self.list.path),
        ))
    }
}
