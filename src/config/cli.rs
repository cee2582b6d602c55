//! `vmbuild config show|init|schema`.
use std::io::Write;
use std::sync::Arc;

use super::{Resolved, env_vars, init, resolve_layers, secrets};
use crate::error::Error;
use crate::request::{ConfigCommand, Global};
use crate::ui::Ui;

/// Run a `config` subcommand.
pub fn run(action: &ConfigCommand, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    match action {
        ConfigCommand::Show => {
            let resolved = resolve_layers(global, &env_vars())?;
            secrets::register(&resolved.config, ui);
            print_stdout(&show(&resolved))
        }
        ConfigCommand::Init { path, force } => {
            init::write(path, *force)?;
            ui.info(&format!("wrote `{}`", path.display()));
            Ok(())
        }
        ConfigCommand::Schema => print_stdout(&schema_json()),
    }
}

/// The text of `config show`: a header naming the layers, then the effective
/// config as TOML with secrets masked.
pub fn show(resolved: &Resolved) -> String {
    let mut out = String::from("# Effective vmbuild configuration (secrets masked).\n");
    out.push_str("# Layers, lowest precedence first:\n");
    for layer in &resolved.layers {
        out.push_str(&format!("#   {layer}\n"));
    }
    out.push('\n');
    out.push_str(&secrets::masked(&resolved.config));
    out
}

/// The JSON schema of `vmbuild.toml`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(super::Config);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Print to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print_stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Usage(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
