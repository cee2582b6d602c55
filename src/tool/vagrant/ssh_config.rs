//! `vagrant ssh-config`: how to reach the machine over SSH.
use std::path::PathBuf;

use thiserror::Error;

/// `vagrant ssh-config` output did not have what we need.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SshConfigError {
    /// A line we cannot read.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number in the output.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A required key is missing from a host block.
    #[error("host `{host}` has no `{key}`")]
    Missing {
        /// The `Host` alias.
        host: String,
        /// The missing key.
        key: &'static str,
    },
    /// No `Host` block at all (the machine is not running or not created).
    #[error("no `Host` block (is the machine running?)")]
    Empty,
}

/// One `Host` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// The alias (`Host` line): the machine name.
    pub host: String,
    /// Address to connect to.
    pub host_name: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Private keys to offer, in order.
    pub identity_files: Vec<PathBuf>,
    /// Every other option, in order, as (lower-cased key, value).
    pub options: Vec<(String, String)>,
}

impl SshConfig {
    /// `user@host:port`, as `vmbuild provision --host` takes it.
    pub fn target(&self) -> String {
        if self.host_name.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host_name, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host_name, self.port)
        }
    }
}

#[derive(Default)]
struct Partial {
    host: String,
    host_name: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity_files: Vec<PathBuf>,
    options: Vec<(String, String)>,
}

impl Partial {
    fn finish(self) -> Result<SshConfig, SshConfigError> {
        let missing = |key| SshConfigError::Missing {
            host: self.host.clone(),
            key,
        };
        Ok(SshConfig {
            host_name: self.host_name.clone().ok_or_else(|| missing("HostName"))?,
            user: self.user.clone().ok_or_else(|| missing("User"))?,
            port: self.port.unwrap_or(22),
            host: self.host,
            identity_files: self.identity_files,
            options: self.options,
        })
    }
}

/// Split `Key value` / `Key=value` and strip the quotes Vagrant puts around
/// values with spaces (e.g. an `IdentityFile` under a home with a space).
fn key_value(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let split = line.find([' ', '\t', '='])?;
    let key = line[..split].to_ascii_lowercase();
    let rest = line[split..].trim_start_matches([' ', '\t', '=']).trim();
    let value = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(rest);
    Some((key, value.to_owned()))
}

/// Parse the output of `vagrant ssh-config`: one [`SshConfig`] per `Host` block.
pub fn parse(text: &str) -> Result<Vec<SshConfig>, SshConfigError> {
    let mut blocks = Vec::new();
    let mut cur: Option<Partial> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| SshConfigError::Line {
            line: i + 1,
            message,
        };
        let (key, value) =
            key_value(line).ok_or_else(|| err(format!("expected `Key value`, got `{line}`")))?;
        if key == "host" {
            if let Some(p) = cur.take() {
                blocks.push(p.finish()?);
            }
            cur = Some(Partial {
                host: value,
                ..Partial::default()
            });
            continue;
        }
        let p = cur
            .as_mut()
            .ok_or_else(|| err(format!("`{key}` before any `Host` line")))?;
        match key.as_str() {
            "hostname" => p.host_name = Some(value),
            "user" => p.user = Some(value),
            "port" => {
                p.port = Some(
                    value
                        .parse()
                        .map_err(|_| err(format!("port `{value}` is not a number 1-65535")))?,
                )
            }
            "identityfile" => p.identity_files.push(PathBuf::from(value)),
            _ => p.options.push((key, value)),
        }
    }
    if let Some(p) = cur {
        blocks.push(p.finish()?);
    }
    if blocks.is_empty() {
        return Err(SshConfigError::Empty);
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_equals_sign_and_defaults() {
        let c = parse("Host vm\n  HostName=10.0.0.5\n  User vagrant\n  IdentityFile \"/home/a b/key\"\n  LogLevel FATAL\n").unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].port, 22);
        assert_eq!(c[0].identity_files, [PathBuf::from("/home/a b/key")]);
        assert_eq!(c[0].options, [("loglevel".to_owned(), "FATAL".to_owned())]);
        assert_eq!(c[0].target(), "vagrant@10.0.0.5:22");
    }

    #[test]
    fn errors_name_the_line_or_key() {
        assert_eq!(parse(""), Err(SshConfigError::Empty));
        assert_eq!(
            parse("Host a\n  HostName x\n  Port 99999\n")
                .unwrap_err()
                .to_string(),
            "line 3: port `99999` is not a number 1-65535"
        );
        assert_eq!(
            parse("  User root\n").unwrap_err().to_string(),
            "line 1: `user` before any `Host` line"
        );
        assert_eq!(
            parse("Host a\n  User root\n").unwrap_err().to_string(),
            "host `a` has no `HostName`"
        );
    }

    #[test]
    fn captured_libvirt_ssh_config() {
        let p = format!(
            "{}/tests/fixtures/tools/vagrant/ssh-config-libvirt.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let c = parse(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(c.len(), 1);
        let c = &c[0];
        assert_eq!(
            (
                c.host.as_str(),
                c.host_name.as_str(),
                c.port,
                c.user.as_str()
            ),
            ("devhub", "192.168.121.148", 22, "vagrant")
        );
        assert_eq!(
            c.identity_files,
            [PathBuf::from("/tmp/vmbv-dev/home/insecure_private_key")]
        );
        assert!(c.options.contains(&("identitiesonly".into(), "yes".into())));
    }
}
