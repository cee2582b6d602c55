//! Everything a stage needs: the config, the platform decision, paths derived
//! from the config, the runner and the UI.
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::config::Config;
use crate::error::Error;
use crate::platform::{self, Platform, SystemProbes};
use crate::process::{Runner, SystemRunner};
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
    /// Export the unprovisioned base box when there is no VM.
    pub base_box: bool,
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
    platform: OnceLock<Platform>,
}

impl Context {
    /// A context; the platform is decided on first use ([`Context::platform`]).
    pub fn new(
        config: Config,
        project_dir: PathBuf,
        runner: Arc<dyn Runner>,
        ui: Arc<Ui>,
        opts: RunOptions,
    ) -> Context {
        Context {
            config,
            project_dir,
            runner,
            ui,
            opts,
            platform: OnceLock::new(),
        }
    }

    /// A context whose platform is already decided (tests, and callers that
    /// decided it themselves).
    pub fn with_platform(mut self, platform: Platform) -> Context {
        self.platform = OnceLock::from(platform);
        self
    }

    /// The platform of this run: decided once, on first use, by
    /// [`platform::decide`] from what answers on this machine, and announced
    /// in one line. Stages that only act on an existing VM never ask.
    pub fn platform(&self) -> Result<&Platform, Error> {
        if let Some(p) = self.platform.get() {
            return Ok(p);
        }
        // probes are read-only: they run for real even under --dry-run
        let runner = SystemRunner::new(Arc::clone(&self.ui), false);
        let probes = SystemProbes {
            runner: &runner,
            kernels: platform::probe_kernels(&self.work_dir()),
            cache_dir: self.work_dir().join("cache"),
            dry_run: self.opts.dry_run,
        };
        let decided = platform::decide(&self.config, &probes)?;
        if crate::interrupt::requested() {
            return Err(Error::Interrupted);
        }
        self.ui.info(&decided.describe());
        Ok(self.platform.get_or_init(|| decided))
    }

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
