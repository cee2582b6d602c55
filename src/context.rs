//! Everything a stage needs: the config, paths derived from it, the runner and the UI.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::process::Runner;
use crate::template::Templates;
use crate::ui::Ui;

/// Per-run options that are not configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Rebuild even on a cache hit.
    pub force: bool,
    /// Print commands, run nothing.
    pub dry_run: bool,
    /// Upload to this cloud after export.
    pub openstack: Option<String>,
}

/// The run's context, shared by all stages.
pub struct Context {
    /// The effective configuration.
    pub config: Config,
    /// The directory relative paths in the config are resolved against.
    pub project_dir: PathBuf,
    /// Spawns every external program.
    pub runner: Arc<dyn Runner>,
    /// Output.
    pub ui: Arc<Ui>,
    /// Run options.
    pub opts: RunOptions,
}

impl Context {
    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.project_dir.join(p)
        }
    }

    /// Where finished artifacts go (`builds/`).
    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.config.build.output_dir)
    }

    /// Scratch space (`.vmbuild/`).
    pub fn work_dir(&self) -> PathBuf {
        self.resolve(&self.config.build.work_dir)
    }

    /// The template set, with the user's overrides.
    pub fn templates(&self) -> Templates {
        Templates::new(
            self.config
                .build
                .templates_dir
                .as_deref()
                .map(|d| self.resolve(d))
                .as_deref(),
        )
    }
}
