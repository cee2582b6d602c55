//! `block`: a block of lines between marker comments in a text file.
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file, ensure_block, remove_block};
use super::state_present;

/// A managed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The file.
    pub path: String,
    /// The lines between the markers.
    pub block: String,
    /// First marker line.
    pub begin: String,
    /// Last marker line.
    pub end: String,
    /// Present or absent.
    pub present: bool,
    /// Create the file if missing.
    pub create: bool,
}

impl Block {
    /// From a `block` table; `marker` contains `{mark}` (BEGIN/END).
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let path = f.str("path")?;
        let present = state_present(f)?;
        let block = f.opt_str("block")?.unwrap_or_default();
        let marker = f
            .opt_str("marker")?
            .unwrap_or_else(|| "# {mark} VMBUILD MANAGED BLOCK".to_owned());
        if !marker.contains("{mark}") {
            return Err(f.error("`marker` must contain `{mark}` (replaced by BEGIN and END)"));
        }
        Ok(Block {
            path,
            block,
            begin: marker.replace("{mark}", "BEGIN"),
            end: marker.replace("{mark}", "END"),
            present,
            create: f.bool_or("create", false)?,
        })
    }
}

impl Resource for Block {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        edit_facts(&self.path)
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        if self.present {
            edit_file(
                facts,
                &self.path,
                self.create,
                "set block",
                format!("`{}` contains the block `{}`", self.path, self.begin),
                |t| ensure_block(t, &self.begin, &self.end, &self.block),
            )
        } else {
            if facts.text(&self.path)?.is_none() {
                return Ok(Plan::ok(format!("`{}` does not exist", self.path)));
            }
            edit_file(
                facts,
                &self.path,
                false,
                "remove block",
                format!("`{}` has no block `{}`", self.path, self.begin),
                |t| remove_block(t, &self.begin, &self.end),
            )
        }
    }
}
