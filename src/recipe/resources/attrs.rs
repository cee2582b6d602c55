//! Mode, owner and group of a path: read from a recipe, compared with a stat.
use super::super::RecipeError;
use super::super::facts::files::PathInfo;
use super::super::fields::Fields;
use super::super::resource::Change;
use crate::remote::safe_write::attrs_cmd;

/// Desired mode/owner/group; `None` means "leave as it is".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits.
    pub mode: Option<u32>,
    /// Owner name.
    pub owner: Option<String>,
    /// Group name.
    pub group: Option<String>,
}

impl Attrs {
    /// Read `mode`, `owner` and `group`.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        Ok(Attrs {
            mode: f.opt_mode("mode")?,
            owner: f.opt_str("owner")?,
            group: f.opt_str("group")?,
        })
    }

    /// Changes that bring an existing path's attributes in line (never
    /// through a symlink at `path`: see [`attrs_cmd`]).
    pub fn changes(&self, path: &str, have: &PathInfo) -> Vec<Change> {
        let mut out = Vec::new();
        if let Some(m) = self.mode
            && m != have.mode
        {
            out.push(Change::exec(
                format!("mode {:04o} → {m:04o}", have.mode),
                attrs_cmd(path, Some(m), None, None),
            ));
        }
        let owner = self.owner.as_ref().filter(|o| **o != have.owner);
        let group = self.group.as_ref().filter(|g| **g != have.group);
        if owner.is_some() || group.is_some() {
            out.push(Change::exec(
                format!(
                    "owner {}:{} → {}",
                    have.owner,
                    have.group,
                    describe_owner(owner, group, have)
                ),
                attrs_cmd(
                    path,
                    None,
                    owner.map(String::as_str),
                    group.map(String::as_str),
                ),
            ));
        }
        out
    }

    /// "mode 0644, owner root:root" for ok reasons.
    pub fn describe(have: &PathInfo) -> String {
        format!(
            "mode {:04o}, owner {}:{}",
            have.mode, have.owner, have.group
        )
    }
}

fn describe_owner(owner: Option<&String>, group: Option<&String>, have: &PathInfo) -> String {
    format!(
        "{}:{}",
        owner.unwrap_or(&have.owner),
        group.unwrap_or(&have.group)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::facts::files::parse_path;

    #[test]
    fn only_differences_become_changes() {
        let have = parse_path("regular file|644|root|root|1\n").unwrap();
        let a = Attrs {
            mode: Some(0o600),
            owner: Some("root".into()),
            group: Some("staff".into()),
        };
        let c = a.changes("/x", &have);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].what, "mode 0644 → 0600");
        assert_eq!(c[1].what, "owner root:root → root:staff");
        let crate::recipe::resource::Action::Exec(cmd) = &c[1].actions[0] else {
            panic!()
        };
        assert_eq!(cmd, &attrs_cmd("/x", None, None, Some("staff")));
        assert!(Attrs::default().changes("/x", &have).is_empty());
    }
}
