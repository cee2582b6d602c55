//! vmbuild: build a multi-user JupyterHub appliance VM.
//!
//! Stages run in a fixed order (clean, packer, up, export); each lives in
//! [`stage`]. Every external program is spawned through [`process`], every
//! remote command through [`remote`].
#![warn(missing_docs, unreachable_pub)]

pub mod appliance;
pub mod artifact;
pub mod audit;
pub mod cache;
pub mod cli;
pub mod cloud;
pub mod command;
pub mod config;
pub mod context;
pub mod download;
pub mod error;
pub mod export;
pub mod interrupt;
pub mod location;
pub mod machine;
pub mod manifest;
pub mod mask;
pub(crate) mod mount;
pub mod pipeline;
pub mod platform;
pub mod process;
pub mod recipe;
pub mod remote;
pub mod request;
pub mod run;
pub mod stage;
pub mod summary;
pub mod template;
pub mod tool;
pub mod ui;

pub use error::{Error, ExitCode};

/// Run the command line `args` and return the process exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    cli::main(args)
}

/// Run an already parsed request and return the process exit code.
pub fn run_request(request: request::Request) -> i32 {
    run::run(request)
}
