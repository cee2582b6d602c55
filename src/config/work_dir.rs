//! `build.work_dir` must be a directory vmbuild owns alone: `-c` empties it.
//!
//! A work dir of `.`, `/`, `/tmp`, the user's home, the project directory or
//! any directory above it would have `-c` delete the user's own files, so
//! such a value is a configuration error (exit 2, located where it was set).
use std::path::{Component, Path, PathBuf};

use super::check::{Locations, quote};
use super::error::{ConfigError, Origin};
use super::types::Config;

/// Directories shared by the whole system: never a work dir.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/dev/shm",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/local",
    "/var",
    "/var/tmp",
];

/// Where vmbuild runs: what a work dir is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    /// The project directory (relative work dirs are resolved against it).
    pub(crate) project_dir: PathBuf,
    /// The user's home directory, when known.
    pub(crate) home: Option<PathBuf>,
}

impl Site {
    /// The current directory and `$HOME` of this process.
    pub(crate) fn current() -> Site {
        Site {
            project_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// Check `build.work_dir` of `cfg` against `site`.
pub(crate) fn check(cfg: &Config, locations: &Locations, site: &Site) -> Result<(), ConfigError> {
    let value = &cfg.build.work_dir;
    match why_not_dedicated(value, &cfg.build.output_dir, site) {
        None => Ok(()),
        Some(why) => Err(ConfigError::Value {
            origin: locations
                .get("build.work_dir")
                .cloned()
                .unwrap_or(Origin::Default),
            key: "build.work_dir".into(),
            message: format!(
                "expected a directory used by vmbuild alone (`-c` empties it), found {}, {why}; use a new directory such as \".vmbuild\"",
                quote(value)
            ),
        }),
    }
}

/// Why `work_dir` (relative to the project) is not a dedicated directory.
fn why_not_dedicated(work_dir: &str, output_dir: &str, site: &Site) -> Option<String> {
    let project = normalize(&site.project_dir);
    let dir = normalize(&project.join(work_dir));
    let output = normalize(&project.join(output_dir));
    let home = site.home.as_deref().map(normalize);
    // Compare the paths as written and, for those that exist, with links
    // resolved (a work dir may be a symlink to the home directory).
    let resolved = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let pairs = [
        (dir.clone(), project.clone(), home.clone(), output.clone()),
        (
            resolved(&dir),
            resolved(&project),
            home.as_deref().map(resolved),
            resolved(&output),
        ),
    ];
    for (dir, project, home, output) in pairs {
        if dir == project {
            return Some("which is the project directory".into());
        }
        if project.starts_with(&dir) {
            return Some(format!(
                "which contains the project directory `{}`",
                project.display()
            ));
        }
        if let Some(home) = &home
            && home.starts_with(&dir)
        {
            return Some(if *home == dir {
                "which is the home directory".into()
            } else {
                format!("which contains the home directory `{}`", home.display())
            });
        }
        if SYSTEM_DIRS.iter().any(|s| Path::new(s) == dir) {
            return Some(format!("which is the system directory `{}`", dir.display()));
        }
        if dir == output {
            return Some("which is also `build.output_dir`".into());
        }
    }
    None
}

/// `path` absolute and without `.` or `..` components, resolved lexically
/// (`..` of `/` is `/`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            project_dir: "/nonexistent/home/ann/hub".into(),
            home: Some("/nonexistent/home/ann".into()),
        }
    }

    fn why(work_dir: &str) -> Option<String> {
        why_not_dedicated(work_dir, "builds", &site())
    }

    #[test]
    fn dedicated_directories_pass() {
        for ok in [
            ".vmbuild",
            "work",
            "./state/vm",
            "/nonexistent/scratch/hub",
            "/var/tmp/vmbuild",
            "../other-work",
        ] {
            assert_eq!(why(ok), None, "{ok}");
        }
    }

    #[test]
    fn shared_directories_are_refused_and_say_why() {
        for (bad, expected) in [
            (".", "which is the project directory"),
            ("./", "which is the project directory"),
            ("sub/..", "which is the project directory"),
            (
                "/nonexistent/home/ann/hub",
                "which is the project directory",
            ),
            // the home directory, but first of all above the project
            (
                "..",
                "which contains the project directory `/nonexistent/home/ann/hub`",
            ),
            (
                "../..",
                "which contains the project directory `/nonexistent/home/ann/hub`",
            ),
            (
                "/",
                "which contains the project directory `/nonexistent/home/ann/hub`",
            ),
            ("/tmp", "which is the system directory `/tmp`"),
            ("/tmp/", "which is the system directory `/tmp`"),
            ("../../../../../tmp", "which is the system directory `/tmp`"),
            ("/dev/shm", "which is the system directory `/dev/shm`"),
            ("builds", "which is also `build.output_dir`"),
        ] {
            assert_eq!(why(bad).as_deref(), Some(expected), "{bad}");
        }
    }

    #[test]
    fn the_home_directory_is_refused_even_outside_the_project() {
        let s = Site {
            project_dir: "/nonexistent/srv/hub".into(),
            home: Some("/nonexistent/home/ann".into()),
        };
        assert_eq!(
            why_not_dedicated("/nonexistent/home/ann", "builds", &s).as_deref(),
            Some("which is the home directory")
        );
        assert_eq!(
            why_not_dedicated("/nonexistent/home", "builds", &s).as_deref(),
            Some("which contains the home directory `/nonexistent/home/ann`")
        );
    }

    #[test]
    fn a_link_to_the_project_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let project = d.path().join("hub");
        std::fs::create_dir(&project).unwrap();
        std::os::unix::fs::symlink(&project, project.join("work")).unwrap();
        let s = Site {
            project_dir: project,
            home: None,
        };
        assert_eq!(
            why_not_dedicated("work", "builds", &s).as_deref(),
            Some("which is the project directory")
        );
    }
}
