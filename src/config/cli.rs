//! `vmbuild config show|init|schema`.
use std::sync::Arc;

use crate::cli::{Args, ConfigAction};
use crate::error::Error;
use crate::ui::Ui;

/// Run a `config` subcommand.
pub fn run(action: &ConfigAction, args: &Args, _ui: &Arc<Ui>) -> Result<(), Error> {
    match action {
        ConfigAction::Show => {
            let cfg = super::resolve(args)?;
            print!(
                "{}",
                toml::to_string_pretty(&cfg).map_err(|e| Error::Usage(e.to_string()))?
            );
            Ok(())
        }
        ConfigAction::Init { path, force } => {
            if path.exists() && !force {
                return Err(Error::Usage(format!(
                    "`{}` exists; use --force to overwrite",
                    path.display()
                )));
            }
            std::fs::write(path, super::DEFAULT_TOML)
                .map_err(|e| Error::Usage(format!("cannot write `{}`: {e}", path.display())))?;
            Ok(())
        }
        ConfigAction::Schema => {
            let schema = schemars::schema_for!(super::Config);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).map_err(|e| Error::Usage(e.to_string()))?
            );
            Ok(())
        }
    }
}
