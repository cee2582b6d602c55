//! A command line as data.
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// A program, its arguments, environment and working directory. Building one
/// runs nothing; see [`super::Runner`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    grace_secs: Option<u64>,
    cleanup: bool,
}

impl Cmd {
    /// A command running `program` (looked up in `PATH` unless it has a slash).
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            ..Default::default()
        }
    }

    /// Append one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Append several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Set an environment variable for the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Run in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Feed these bytes on standard input (otherwise stdin is /dev/null).
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Seconds to wait after SIGINT on interruption before escalating
    /// (default 10; Packer needs longer to stop qemu and delete its output).
    pub fn interrupt_grace(mut self, secs: u64) -> Self {
        self.grace_secs = Some(secs);
        self
    }

    /// Mark as cleanup work after an interruption (e.g. `vagrant destroy -f`
    /// so that Ctrl-C leaves no VM running): it runs even though the user
    /// interrupted us, and the interruption does not stop it.
    pub fn cleanup(mut self) -> Self {
        self.cleanup = true;
        self
    }

    /// Whether this is cleanup work (see [`Cmd::cleanup`]).
    pub fn is_cleanup(&self) -> bool {
        self.cleanup
    }

    /// The program.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments.
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The extra environment.
    pub fn get_envs(&self) -> &[(OsString, OsString)] {
        &self.env
    }

    /// The working directory, if set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// The bytes for standard input, if any.
    pub fn get_stdin(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    /// Grace period on interruption, in seconds.
    pub fn get_interrupt_grace(&self) -> u64 {
        self.grace_secs.unwrap_or(10)
    }

    /// Program and arguments as strings (lossy), e.g. for assertions in tests.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }
}

impl fmt::Display for Cmd {
    /// The command as a shell would need it typed (environment values are not shown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (k, _) in &self.env {
            write!(f, "{}=… ", k.to_string_lossy())?;
        }
        for a in self.argv() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(&shell_words::quote(&a))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_arguments_and_hides_env_values() {
        let c = Cmd::new("packer")
            .args(["build", "-var", "a=b c"])
            .env("PACKER_LOG", "1");
        assert_eq!(c.to_string(), "PACKER_LOG=… packer build -var 'a=b c'");
        assert_eq!(c.argv(), ["packer", "build", "-var", "a=b c"]);
    }
}
