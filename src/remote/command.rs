//! A remote command as data, mirroring `std::process::Command`.
use std::fmt;

use super::escape;

/// A command to run on the remote host. Arguments are escaped when the
/// command line is built ([`RemoteCommand::to_shell`]); callers never quote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteCommand {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    sudo: Option<String>,
    stdin: Option<Vec<u8>>,
    idempotent: bool,
}

impl RemoteCommand {
    /// Run `program` (looked up in the remote `PATH`).
    pub fn new(program: impl Into<String>) -> Self {
        RemoteCommand {
            program: program.into(),
            ..Default::default()
        }
    }

    /// Run `script` with `sh -c` (the script is one escaped argument). For the
    /// engine's generated fact and apply scripts; user data inside a script
    /// must itself be quoted with [`escape::quote`].
    pub fn shell(script: impl Into<String>) -> Self {
        RemoteCommand::new("sh").arg("-c").arg(script)
    }

    /// Append an argument.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Append arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set an environment variable (passed with `env`, not through ssh's SetEnv).
    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Run in directory `dir`.
    pub fn current_dir(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Run as root through `sudo -n` (never prompts).
    pub fn sudo(self) -> Self {
        self.sudo_user("root")
    }

    /// Run as `user` through `sudo -n -u user`.
    pub fn sudo_user(mut self, user: impl Into<String>) -> Self {
        self.sudo = Some(user.into());
        self
    }

    /// Feed these bytes on standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Mark the command safe to run twice: if the connection drops while it
    /// runs, the SSH transport reconnects and runs it again (fact gathering,
    /// re-runnable apply steps). Unmarked commands are retried only when they
    /// are known not to have started.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Whether [`RemoteCommand::idempotent`] was set.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The bytes for standard input, if any.
    pub fn get_stdin(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    /// Whether this runs through sudo.
    pub fn is_sudo(&self) -> bool {
        self.sudo.is_some()
    }

    /// The exact line the remote login shell receives.
    pub fn to_shell(&self) -> String {
        self.to_shell_masked(&|w| w.to_owned())
    }

    /// The line with the command `exec`ed by the login shell, after
    /// `prelude` (a snippet the transport runs first): the command then has
    /// the shell's pid and its exit status or signal is the session's.
    pub fn to_shell_after(&self, prelude: &str) -> String {
        let mut plain = self.clone();
        let cwd = plain.cwd.take();
        let line = plain.to_shell();
        match cwd {
            Some(d) => format!("{prelude} cd {} && exec {line}", escape::quote(&d)),
            None => format!("{prelude} exec {line}"),
        }
    }

    /// The line for display with `mask` applied to every word *before* it
    /// is quoted (a secret holding `'` would otherwise be split by the
    /// quoting and escape a mask applied to the finished line).
    pub fn to_shell_masked(&self, mask: &dyn Fn(&str) -> String) -> String {
        let mut words: Vec<String> = Vec::new();
        if let Some(user) = &self.sudo {
            words.extend(["sudo", "-n", "-H"].map(String::from));
            if user != "root" {
                words.extend(["-u".to_owned(), user.clone()]);
            }
            words.push("--".to_owned());
        }
        if !self.env.is_empty() {
            words.push("env".to_owned());
            words.extend(self.env.iter().map(|(k, v)| format!("{k}={}", mask(v))));
        }
        words.push(mask(&self.program));
        words.extend(self.args.iter().map(|a| mask(a)));
        let line = escape::join(&words);
        match &self.cwd {
            Some(d) => format!("cd {} && {line}", escape::quote(&mask(d))),
            None => line,
        }
    }
}

impl fmt::Display for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_shell())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_escaped_lines() {
        assert_eq!(RemoteCommand::new("id").arg("-u").to_shell(), "id -u");
        assert_eq!(
            RemoteCommand::new("useradd").arg("jo hn").sudo().to_shell(),
            "sudo -n -H -- useradd 'jo hn'"
        );
        assert_eq!(
            RemoteCommand::new("pip")
                .arg("install")
                .sudo_user("jupyter-a")
                .env("PIP_CERT", "/x y")
                .current_dir("/tmp")
                .to_shell(),
            "cd /tmp && sudo -n -H -u jupyter-a -- env 'PIP_CERT=/x y' pip install"
        );
        assert_eq!(
            RemoteCommand::shell("echo $HOME; true").to_shell(),
            "sh -c 'echo $HOME; true'"
        );
        assert_eq!(
            RemoteCommand::new("id")
                .current_dir("/a b")
                .to_shell_after("echo 1;"),
            "echo 1; cd '/a b' && exec id"
        );
        let secret = "it's \"s3cret\"";
        let c = RemoteCommand::new("login").arg(format!("--pw={secret}"));
        assert_eq!(
            c.to_shell_masked(&|w| w.replace(secret, "****")),
            "login '--pw=****'"
        );
    }
}
