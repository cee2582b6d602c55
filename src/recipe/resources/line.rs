//! `line`: one line present in (or absent from) a text file, optionally
//! replacing the last line that matches a regular expression.
use regex::Regex;

use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file, ensure_line, remove_lines};
use super::state_present;

/// A managed line.
#[derive(Debug, Clone)]
pub struct Line {
    /// The file.
    pub path: String,
    /// The line (without newline).
    pub line: String,
    /// Lines matching this are replaced (present) or removed (absent).
    pub regexp: Option<Regex>,
    /// Present or absent.
    pub present: bool,
    /// Create the file if missing.
    pub create: bool,
}

impl Line {
    /// From a `line` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let path = f.str("path")?;
        // Removing by `regexp` needs no `line`; adding one always does.
        let line = match (
            f.opt_str("line")?,
            f.node("regexp"),
            f.opt_raw_str("state")?,
        ) {
            (Some(l), _, _) => l,
            (None, Some(_), Some(s)) if s == "absent" => String::new(),
            (None, ..) => return Err(f.error("missing key `line` (a string) in a `line` resource")),
        };
        if line.contains('\n') {
            return Err(f.error("`line` must be a single line (use a `block` for several)"));
        }
        let regexp = match (f.opt_raw_str("regexp")?, f.node("regexp")) {
            (Some(r), Some(node)) => Some(
                Regex::new(&r)
                    .map_err(|e| node.error(format!("invalid regular expression: {e}")))?,
            ),
            _ => None,
        };
        Ok(Line {
            path,
            line,
            regexp,
            present: state_present(f)?,
            create: f.bool_or("create", false)?,
        })
    }
}

impl Resource for Line {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        edit_facts(&self.path)
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let re = self.regexp.as_ref();
        if self.present {
            edit_file(
                facts,
                &self.path,
                self.create,
                "set line",
                format!("`{}` contains `{}`", self.path, self.line),
                |t| ensure_line(t, &self.line, re),
            )
        } else {
            if facts.text(&self.path)?.is_none() {
                return Ok(Plan::ok(format!("`{}` does not exist", self.path)));
            }
            edit_file(
                facts,
                &self.path,
                false,
                "remove line",
                format!("`{}` has no such line", self.path),
                |t| remove_lines(t, &self.line, re),
            )
        }
    }
}
