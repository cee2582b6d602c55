//! Account facts: `getent passwd`/`getent group` lines.
use super::{FactError, FactQuery, Facts, failed};

/// A user as `getent passwd` + `id -Gn` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
    /// All group names (primary first, as `id -Gn` prints them).
    pub groups: Vec<String>,
}

/// A group as `getent group` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Supplementary members.
    pub members: Vec<String>,
}

fn num(s: &str, what: &str) -> Result<u32, String> {
    s.parse().map_err(|_| format!("bad {what} `{s}`"))
}

/// Parse `getent passwd NAME` followed by `groups|...`.
pub fn parse_passwd(text: &str) -> Result<Passwd, String> {
    let mut lines = text.lines();
    let line = lines.next().ok_or("no output")?;
    let f: Vec<&str> = line.split(':').collect();
    if f.len() != 7 {
        return Err(format!("unexpected passwd line `{line}`"));
    }
    let groups = lines
        .find_map(|l| l.strip_prefix("groups|"))
        .map(|g| g.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Passwd {
        name: f[0].to_owned(),
        uid: num(f[2], "uid")?,
        gid: num(f[3], "gid")?,
        home: f[5].to_owned(),
        shell: f[6].to_owned(),
        groups,
    })
}

/// Parse `getent group NAME`.
pub fn parse_group(text: &str) -> Result<GroupEntry, String> {
    let line = text.lines().next().ok_or("no output")?;
    let f: Vec<&str> = line.split(':').collect();
    if f.len() != 4 {
        return Err(format!("unexpected group line `{line}`"));
    }
    Ok(GroupEntry {
        name: f[0].to_owned(),
        gid: num(f[2], "gid")?,
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl Facts {
    /// User `name` (`None` if there is no such user: getent exits 2).
    pub fn user(&self, name: &str) -> Result<Option<Passwd>, FactError> {
        let out = self.raw(&FactQuery::User(name.to_owned()))?;
        let what = format!("user `{name}`");
        match out.rc {
            0 => parse_passwd(&out.stdout)
                .map(Some)
                .map_err(|m| FactError::parse(what, m)),
            2 => Ok(None),
            _ => Err(failed(&what, out)),
        }
    }

    /// Group `name` (`None` if absent).
    pub fn group(&self, name: &str) -> Result<Option<GroupEntry>, FactError> {
        let out = self.raw(&FactQuery::Group(name.to_owned()))?;
        let what = format!("group `{name}`");
        match out.rc {
            0 => parse_group(&out.stdout)
                .map(Some)
                .map_err(|m| FactError::parse(what, m)),
            2 => Ok(None),
            _ => Err(failed(&what, out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples() {
        let p =
            parse_passwd("vagrant:x:1000:1000:,,,:/home/vagrant:/bin/bash\ngroups|vagrant sudo\n")
                .unwrap();
        assert_eq!((p.uid, p.home.as_str()), (1000, "/home/vagrant"));
        assert_eq!(p.groups, ["vagrant", "sudo"]);
        let g = parse_group("sudo:x:27:vagrant,jo\n").unwrap();
        assert_eq!((g.gid, g.members.len()), (27, 2));
        assert!(parse_group("nonsense").is_err());
    }
}
