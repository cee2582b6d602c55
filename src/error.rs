//! The top-level error: wraps each domain's error and maps it to an exit code.
use thiserror::Error;

/// Process exit codes: 0 ok, 1 a build failed, 2 the user's input is wrong,
/// 130 interrupted (as shells report SIGINT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for was done.
    Success = 0,
    /// A build, tool or remote step failed.
    Failed = 1,
    /// Bad flags, config or recipe.
    Usage = 2,
    /// Ctrl-C or SIGTERM.
    Interrupted = 130,
}

/// Every error vmbuild reports. Domain errors keep their own types and sources.
#[derive(Debug, Error)]
pub enum Error {
    /// Bad configuration file, environment or flags.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// An external program failed.
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    /// A template did not render.
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    /// A recipe is malformed or a resource failed.
    #[error(transparent)]
    Recipe(#[from] crate::recipe::RecipeError),
    /// SSH transport failure.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// Export of images failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// Talking to a cloud failed.
    #[error(transparent)]
    Cloud(#[from] crate::cloud::CloudError),
    /// A build stage failed.
    #[error(transparent)]
    Stage(#[from] crate::stage::StageError),
    /// The provider asked for cannot run here.
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// A download (e.g. the installer ISO) failed or had the wrong checksum.
    #[error(transparent)]
    Download(#[from] crate::download::DownloadError),
    /// A Vagrant call failed (carries Vagrant's own message).
    #[error(transparent)]
    Vagrant(#[from] crate::tool::vagrant::VagrantError),
    /// Preparing the appliance recipes failed.
    #[error(transparent)]
    Appliance(#[from] crate::appliance::ApplianceError),
    /// `vmbuild audit` could not read the image, or found what must not ship.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// A stage whose implementation has not landed yet.
    #[error("{stage}: not implemented yet (see issue {issue}); nothing was done")]
    NotLanded {
        /// The stage the user asked for.
        stage: &'static str,
        /// The issue that delivers it.
        issue: u32,
    },
    /// The user wrote something we cannot accept (flags, arguments).
    #[error("{0}")]
    Usage(String),
    /// The user pressed Ctrl-C or the process got SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The exit code this error should produce.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Platform(_) => ExitCode::Usage,
            Error::Cloud(e) if e.is_interrupted() => ExitCode::Interrupted,
            Error::Cloud(e) if e.is_user_error() => ExitCode::Usage,
            Error::Recipe(e) if e.is_user_error() => ExitCode::Usage,
            Error::Recipe(e) if e.is_interrupted() => ExitCode::Interrupted,
            Error::Remote(e) if e.is_stopped() => ExitCode::Interrupted,
            Error::Appliance(e) if e.is_user_error() => ExitCode::Usage,
            Error::Process(e) if e.is_interrupted() => ExitCode::Interrupted,
            Error::Interrupted => ExitCode::Interrupted,
            Error::Audit(e) => e.exit_code(),
            Error::Vagrant(e) if e.is_interrupted() => ExitCode::Interrupted,
            // file copies and hashing stop with io::ErrorKind::Interrupted on Ctrl-C
            Error::Stage(crate::stage::StageError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::Interrupted =>
            {
                ExitCode::Interrupted
            }
            _ => ExitCode::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_copy_exits_130() {
        let e = Error::Stage(crate::stage::StageError::Io {
            what: "hashing",
            path: "builds/x.box".into(),
            source: std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted by the user"),
        });
        assert_eq!(e.exit_code(), ExitCode::Interrupted);
    }
}
