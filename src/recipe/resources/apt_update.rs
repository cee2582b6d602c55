//! `apt.update`: the apt package lists refreshed when they are older than a
//! maximum age, missing, or older than a change to the sources (Ansible's
//! `apt: update_cache=yes cache_valid_time=…`).
use super::super::RecipeError;
use super::super::apply::apt_update_cmd;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};

/// Fresh apt package lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptUpdate {
    /// Lists at most this old (seconds) are fresh enough; 0 refreshes on
    /// every run.
    pub cache_valid_secs: i64,
}

impl AptUpdate {
    /// From an `apt.update` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        Ok(AptUpdate {
            cache_valid_secs: i64::from(f.opt_u32("cache_valid_secs")?.unwrap_or(3600)),
        })
    }
}

impl Resource for AptUpdate {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::AptLists]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let lists = facts.apt_lists()?;
        match lists.stale(self.cache_valid_secs) {
            None => Ok(Plan::ok(format!(
                "the package lists are {} s old (at most {} s wanted)",
                lists.age().unwrap_or(0),
                self.cache_valid_secs
            ))),
            Some(why) => Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("refresh the package lists: {why}"),
                    apt_update_cmd(),
                )],
                "",
            )),
        }
    }

    /// With `cache_valid_secs = 0` the lists are never fresh enough, so a
    /// re-check cannot confirm the refresh.
    fn converges(&self) -> bool {
        self.cache_valid_secs > 0
    }
}
