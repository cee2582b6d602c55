//! `file`: a file with given content (inline, template or local source),
//! mode and owner, written atomically; or absent.
use std::path::Path;

use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, Change, CheckOptions, Plan, Resource};
use super::attrs::Attrs;
use super::{sha256_hex, short, state_present, unified_diff};
use crate::remote::RemoteCommand;

/// A managed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Absolute path on the host.
    pub path: String,
    /// Desired content (`None`: absent).
    pub content: Option<Vec<u8>>,
    /// Mode/owner/group.
    pub attrs: Attrs,
    /// Mode for a new file when `attrs.mode` is not set.
    pub default_mode: u32,
}

/// Read `content`, `template` (rendered with the recipe variables) or `source`
/// (copied as is); paths are relative to the recipe file.
pub fn content_from_fields(f: &mut Fields<'_>) -> Result<Option<Vec<u8>>, RecipeError> {
    let base = f
        .table()
        .src
        .path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default();
    let content = f.opt_str("content")?;
    let template = f.node("template");
    let source = f.node("source");
    let given = [content.is_some(), template.is_some(), source.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(f.error("give only one of `content`, `template` and `source`"));
    }
    if let Some(c) = content {
        return Ok(Some(c.into_bytes()));
    }
    for (node, render) in [(template, true), (source, false)] {
        let Some(node) = node else { continue };
        let super::super::value::Kind::Str(rel) = &node.kind else {
            return Err(node.error("expected a path as a string"));
        };
        let p = base.join(f.render(node, rel)?);
        let bytes = std::fs::read(&p)
            .map_err(|e| node.error(format!("cannot read `{}`: {e}", p.display())))?;
        if !render {
            return Ok(Some(bytes));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| node.error(format!("template `{}` is not UTF-8", p.display())))?;
        return f
            .render_file(node, &p.display().to_string(), &text)
            .map(|t| Some(t.into_bytes()));
    }
    Ok(None)
}

/// Whether a file of `mode` is readable by its owner only (its content is
/// never shown in a diff: keys, passwords, tokens).
pub fn private(mode: u32) -> bool {
    mode & 0o044 == 0
}

impl File {
    /// A root-owned 0644 file with `content` (system config the engine manages
    /// for other resources: apt sources, unit files).
    pub fn root_owned(path: String, content: Vec<u8>) -> Self {
        File {
            path,
            content: Some(content),
            attrs: Attrs {
                mode: Some(0o644),
                owner: Some("root".into()),
                group: Some("root".into()),
            },
            default_mode: 0o644,
        }
    }

    /// From a `file` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let path = f.str("path")?;
        let present = state_present(f)?;
        let content = content_from_fields(f)?;
        let attrs = Attrs::from_fields(f)?;
        if present && content.is_none() {
            return Err(f.error(
                "a `file` needs `content`, `template` or `source` (or state = \"absent\")",
            ));
        }
        Ok(File {
            path,
            content: if present { content } else { None },
            attrs,
            default_mode: 0o644,
        })
    }

    fn put(
        &self,
        content: &[u8],
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    ) -> Action {
        Action::Put {
            path: self.path.clone(),
            content: content.to_vec(),
            mode,
            owner,
            group,
        }
    }
}

impl Resource for File {
    fn facts(&self, opts: CheckOptions) -> Vec<FactQuery> {
        let mut q = vec![FactQuery::Path(self.path.clone())];
        // a private file's content is not even fetched for a diff
        let private = self.attrs.mode.is_some_and(private);
        if opts.diff && self.content.is_some() && !private {
            q.push(FactQuery::Content(self.path.clone()));
        }
        q
    }

    fn check(&self, facts: &Facts, opts: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.path(&self.path)?;
        let Some(want) = &self.content else {
            return Ok(match have.kind {
                PathKind::Absent => Plan::ok(format!("`{}` is absent", self.path)),
                PathKind::Dir => {
                    return Err(FactError::Conflict(format!(
                        "`{}` is a directory; refusing to remove it as a file",
                        self.path
                    )));
                }
                _ => Plan::from_changes(
                    vec![Change::exec(
                        format!("remove `{}`", self.path),
                        RemoteCommand::new("rm").arg("-f").arg("--").arg(&self.path),
                    )],
                    "",
                ),
            });
        };
        let sha = sha256_hex(want);
        let new_mode = self.attrs.mode.unwrap_or(match have.kind {
            PathKind::File => have.mode,
            _ => self.default_mode,
        });
        let was_private = have.kind == PathKind::File && private(have.mode);
        let diff = || -> Result<Option<String>, FactError> {
            if !opts.diff {
                return Ok(None);
            }
            if private(new_mode) || was_private {
                let m = if was_private { have.mode } else { new_mode };
                return Ok(Some(format!(
                    "(diff not shown: `{}` is private, mode {m:04o})",
                    self.path
                )));
            }
            let before = facts.text(&self.path)?.unwrap_or_default();
            Ok(Some(unified_diff(
                &self.path,
                &before,
                &String::from_utf8_lossy(want),
            )))
        };
        match have.kind {
            PathKind::Absent => {
                let mut c = Change::new(
                    format!("create `{}` ({} bytes)", self.path, want.len()),
                    vec![self.put(
                        want,
                        self.attrs.mode.unwrap_or(self.default_mode),
                        self.attrs.owner.clone(),
                        self.attrs.group.clone(),
                    )],
                );
                c.diff = diff()?;
                Ok(Plan::from_changes(vec![c], ""))
            }
            PathKind::File => {
                if have.sha256.as_deref() != Some(sha.as_str()) {
                    let mut c = Change::new(
                        format!(
                            "content of `{}` differs (sha256 {} → {})",
                            self.path,
                            short(have.sha256.as_deref().unwrap_or("?")),
                            short(&sha)
                        ),
                        vec![self.put(
                            want,
                            self.attrs.mode.unwrap_or(have.mode),
                            Some(self.attrs.owner.clone().unwrap_or(have.owner.clone())),
                            Some(self.attrs.group.clone().unwrap_or(have.group.clone())),
                        )],
                    );
                    c.diff = diff()?;
                    return Ok(Plan::from_changes(vec![c], ""));
                }
                Ok(Plan::from_changes(
                    self.attrs.changes(&self.path, &have),
                    format!(
                        "`{}` has the expected content (sha256 {}), {}",
                        self.path,
                        short(&sha),
                        Attrs::describe(&have)
                    ),
                ))
            }
            other => Err(FactError::Conflict(format!(
                "`{}` is {other}, not a regular file; refusing to replace it",
                self.path
            ))),
        }
    }
}
