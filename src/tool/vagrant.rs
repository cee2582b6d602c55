//! Vagrant: argv builders (pure) and parsers for its output.
//!
//! Every command runs with `VAGRANT_CWD` set to the project's Vagrant dir
//! (`<work_dir>/vagrant/`, holding the rendered Vagrantfile and `.vagrant`),
//! so the user's own current directory never matters. `VAGRANT_HOME` is
//! inherited: tests point it at a scratch dir for isolation.
pub mod machine_readable;
pub mod ssh_config;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::process::{Cmd, ProcessError};

pub use machine_readable::{ErrorExit, MachineStatus};
pub use ssh_config::{SshConfig, SshConfigError};

/// A Vagrant call failed, or its output was not what we expected.
#[derive(Debug, Error)]
pub enum VagrantError {
    /// Vagrant ran and reported an error; `message` is Vagrant's own text.
    #[error("`{command}` failed: {message}")]
    Failed {
        /// The command line.
        command: String,
        /// Vagrant's message (`error-exit`), or the tail of its stderr.
        message: String,
    },
    /// Vagrant could not be run, or was interrupted.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// `vagrant ssh-config` printed something we cannot use.
    #[error("cannot read `vagrant ssh-config` output: {0}")]
    SshConfig(#[from] SshConfigError),
    /// `vagrant ssh-config` did not describe the machine.
    #[error("`vagrant ssh-config` printed no `Host {0}` block")]
    NoSshHost(String),
}

impl VagrantError {
    /// Turn a failed run of `cmd` into an error carrying Vagrant's own
    /// message: the `error-exit` line of machine-readable `output` if there
    /// is one, else the runner's error (which carries the stderr tail).
    pub fn from_run(cmd: &Cmd, output: &str, err: ProcessError) -> VagrantError {
        if err.is_interrupted() {
            return VagrantError::Process(err);
        }
        match machine_readable::error_exit(output) {
            Some(e) => VagrantError::Failed {
                command: cmd.to_string(),
                message: e.message.trim().to_owned(),
            },
            None => VagrantError::Process(err),
        }
    }

    /// Whether the user interrupted the call.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, VagrantError::Process(e) if e.is_interrupted())
    }
}

/// Builds Vagrant command lines for one Vagrant directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vagrant {
    dir: PathBuf,
}

impl Vagrant {
    /// Commands acting on the Vagrantfile in `dir`.
    pub fn new(dir: &Path) -> Self {
        Vagrant {
            dir: dir.to_owned(),
        }
    }

    /// The Vagrant directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where Vagrant keeps the machine state (`.vagrant`).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join(".vagrant")
    }

    fn cmd<'a>(&self, args: impl IntoIterator<Item = &'a str>) -> Cmd {
        Cmd::new("vagrant")
            .args(args)
            .env("VAGRANT_CWD", &self.dir)
            // no version check against HashiCorp's servers (unreachable, slow)
            .env("VAGRANT_CHECKPOINT_DISABLE", "1")
            .env("VAGRANT_NO_COLOR", "1")
            .current_dir(&self.dir)
    }

    /// `vagrant box add --force --name NAME --provider P FILE`.
    pub fn box_add(&self, name: &str, provider: &str, file: &Path) -> Cmd {
        self.cmd([
            "box",
            "add",
            "--force",
            "--machine-readable",
            "--name",
            name,
            "--provider",
            provider,
        ])
        .arg(file)
    }

    /// `vagrant box remove --force NAME --provider P`.
    pub fn box_remove(&self, name: &str, provider: &str) -> Cmd {
        self.cmd([
            "box",
            "remove",
            "--force",
            "--machine-readable",
            "--provider",
            provider,
            name,
        ])
    }

    /// `vagrant up --provider P --no-provision`: vmbuild provisions itself.
    pub fn up(&self, provider: &str) -> Cmd {
        self.cmd([
            "up",
            "--machine-readable",
            "--provider",
            provider,
            "--no-provision",
        ])
        // Vagrant tidies up a half-created VM on SIGINT; give it time.
        .interrupt_grace(60)
    }

    /// `vagrant ssh-config MACHINE`.
    pub fn ssh_config(&self, machine: &str) -> Cmd {
        self.cmd(["ssh-config", machine])
    }

    /// `vagrant status --machine-readable`.
    pub fn status(&self) -> Cmd {
        self.cmd(["status", "--machine-readable"])
    }

    /// `vagrant halt` (graceful shutdown).
    pub fn halt(&self) -> Cmd {
        self.cmd(["halt", "--machine-readable"]).interrupt_grace(60)
    }

    /// `vagrant package MACHINE --output FILE` (the VirtualBox provider's
    /// own export of a halted VM to a box).
    pub fn package(&self, machine: &str, output: &Path) -> Cmd {
        self.cmd(["package", "--machine-readable", machine, "--output"])
            .arg(output)
            .interrupt_grace(60)
    }

    /// `vagrant destroy -f` (powers off forcibly, then deletes the VM).
    pub fn destroy(&self) -> Cmd {
        self.cmd(["destroy", "-f", "--machine-readable"])
            .interrupt_grace(60)
    }

    /// `vagrant validate -p` (checks the Vagrantfile without the provider).
    pub fn validate(&self) -> Cmd {
        self.cmd(["validate", "-p"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Vagrant {
        Vagrant::new(Path::new("/p/.vmbuild/vagrant"))
    }

    #[test]
    fn argv_of_each_call() {
        let v = v();
        assert_eq!(
            v.box_add("vmbuild/hub", "libvirt", Path::new("/p/builds/hub.box"))
                .argv(),
            [
                "vagrant",
                "box",
                "add",
                "--force",
                "--machine-readable",
                "--name",
                "vmbuild/hub",
                "--provider",
                "libvirt",
                "/p/builds/hub.box"
            ]
        );
        assert_eq!(
            v.up("libvirt").argv(),
            [
                "vagrant",
                "up",
                "--machine-readable",
                "--provider",
                "libvirt",
                "--no-provision"
            ]
        );
        assert_eq!(v.ssh_config("hub").argv(), ["vagrant", "ssh-config", "hub"]);
        assert_eq!(
            v.destroy().argv(),
            ["vagrant", "destroy", "-f", "--machine-readable"]
        );
        assert_eq!(v.validate().argv(), ["vagrant", "validate", "-p"]);
        assert_eq!(v.halt().argv(), ["vagrant", "halt", "--machine-readable"]);
        assert_eq!(
            v.package("hub", Path::new("/p/builds/.partial-hub.box"))
                .argv(),
            [
                "vagrant",
                "package",
                "--machine-readable",
                "hub",
                "--output",
                "/p/builds/.partial-hub.box"
            ]
        );
        assert_eq!(
            v.box_remove("vmbuild/hub", "libvirt").argv(),
            [
                "vagrant",
                "box",
                "remove",
                "--force",
                "--machine-readable",
                "--provider",
                "libvirt",
                "vmbuild/hub"
            ]
        );
    }

    #[test]
    fn every_call_pins_the_vagrant_dir() {
        let c = v().status();
        assert!(
            c.get_envs()
                .iter()
                .any(|(k, val)| k == "VAGRANT_CWD" && val == "/p/.vmbuild/vagrant")
        );
        assert_eq!(c.get_current_dir(), Some(Path::new("/p/.vmbuild/vagrant")));
    }

    #[test]
    fn failures_carry_vagrants_message() {
        let cmd = v().up("libvirt");
        let out = "1,,error-exit,Vagrant::Errors::BoxNotFound,The box 'x' could not be found.\n";
        let err = ProcessError::failed(
            &cmd,
            &crate::process::Output {
                code: Some(1),
                ..Default::default()
            },
        );
        let e = VagrantError::from_run(&cmd, out, err);
        assert_eq!(
            e.to_string(),
            "`VAGRANT_CWD=… VAGRANT_CHECKPOINT_DISABLE=… VAGRANT_NO_COLOR=… vagrant up --machine-readable --provider libvirt --no-provision` failed: The box 'x' could not be found."
        );
    }
}
