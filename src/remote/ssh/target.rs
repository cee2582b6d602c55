//! `USER@ADDR[:PORT]` as given to `vmbuild provision --host`.
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Where to log in: user, host (name, IPv4 or IPv6 without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Login user.
    pub user: String,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port (22 unless given).
    pub port: u16,
}

/// A `--host` value that is not `USER@ADDR[:PORT]`.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "invalid host `{input}`: {why} (expected USER@ADDR[:PORT], e.g. vagrant@192.168.121.10:22 or root@[::1]:2222)"
)]
pub struct TargetError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why| TargetError {
            input: input.to_owned(),
            why,
        };
        let (user, rest) = input.rsplit_once('@').ok_or_else(|| err("missing USER@"))?;
        if user.is_empty() {
            return Err(err("empty user"));
        }
        if user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
        {
            return Err(err("bad character in user"));
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| err("missing `]` after IPv6 address"))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None => return Err(err("unexpected text after `]`")),
                },
            }
        } else if rest.matches(':').count() > 1 {
            // a bare IPv6 address: no port possible without brackets
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(err("empty address"));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/[]@".contains(c))
        {
            return Err(err("bad character in address"));
        }
        let port = match port {
            None => 22,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(err("port must be a number from 1 to 65535")),
                Ok(n) => n,
            },
        };
        Ok(Target {
            user: user.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: &str, host: &str, port: u16) -> Target {
        Target {
            user: user.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_valid_targets() {
        for (input, want) in [
            ("vagrant@192.168.121.10", t("vagrant", "192.168.121.10", 22)),
            ("root@127.0.0.1:2222", t("root", "127.0.0.1", 2222)),
            ("me@host.example.org:22", t("me", "host.example.org", 22)),
            ("root@[::1]:2222", t("root", "::1", 2222)),
            ("root@[::1]", t("root", "::1", 22)),
            ("root@fe80::1", t("root", "fe80::1", 22)),
            ("a@b@c", t("a@b", "c", 22)),
        ] {
            assert_eq!(input.parse::<Target>(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_invalid_targets() {
        for (input, why) in [
            ("192.168.1.1", "missing USER@"),
            ("@host", "empty user"),
            ("root@", "empty address"),
            ("root@:22", "empty address"),
            ("root@host:0", "port must be a number from 1 to 65535"),
            ("root@host:99999", "port must be a number from 1 to 65535"),
            ("root@host:ssh", "port must be a number from 1 to 65535"),
            ("root@[::1", "missing `]` after IPv6 address"),
            ("root@[::1]x", "unexpected text after `]`"),
            ("root@ho st", "bad character in address"),
            ("ro ot@host", "bad character in user"),
        ] {
            let e = input.parse::<Target>().unwrap_err();
            assert_eq!(e.why, why, "{input}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for s in ["root@127.0.0.1:2222", "root@[::1]:22"] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
        let e = "x".parse::<Target>().unwrap_err().to_string();
        assert!(e.starts_with("invalid host `x`: missing USER@ (expected USER@ADDR[:PORT]"));
    }
}
