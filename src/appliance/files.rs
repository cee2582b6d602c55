//! Which recipe files a run applies. A project with its own `recipes/*.toml`
//! uses those (and `recipes/cleanup/*.toml` before export); anywhere else
//! the built-in appliance is written to the work dir and used from there.
use std::path::{Path, PathBuf};

use super::ApplianceError;
use super::embedded::RECIPES;

/// A set of recipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipeSet {
    /// What `-u` applies: `recipes/*.toml`.
    Provision,
    /// What `-e` applies before shutting the VM down: `recipes/cleanup/*.toml`.
    Cleanup,
    /// What `-e` applies in a throwaway boot of the disk that becomes the
    /// OVA and qcow2: the cleanup again, then `recipes/seal/*.toml`, which
    /// removes the build account and powers the machine off.
    Seal,
}

impl RecipeSet {
    fn subdir(self) -> &'static str {
        match self {
            RecipeSet::Provision => "",
            RecipeSet::Cleanup => "cleanup",
            RecipeSet::Seal => "seal",
        }
    }
}

/// The `*.toml` files directly in `dir`, sorted (number them to order them).
pub fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ApplianceError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ApplianceError::State {
                what: "listing",
                path: dir.display().to_string(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The files of `set` for the project in `project_dir`; the built-in
/// appliance is written under `work_dir/recipes` when the project has none.
///
/// [`RecipeSet::Seal`] is the cleanup files followed by the seal files, run
/// as one recipe over one SSH session: the cleanup removes the SSH host
/// keys, and sshd reads them for every new connection, so a second session
/// would not get in.
pub fn recipe_files(
    project_dir: &Path,
    work_dir: &Path,
    set: RecipeSet,
) -> Result<Vec<PathBuf>, ApplianceError> {
    if set == RecipeSet::Seal {
        let mut files = set_files(project_dir, work_dir, RecipeSet::Cleanup)?;
        files.extend(set_files(project_dir, work_dir, RecipeSet::Seal)?);
        return Ok(files);
    }
    set_files(project_dir, work_dir, set)
}

/// The files of one set's own directory.
fn set_files(
    project_dir: &Path,
    work_dir: &Path,
    set: RecipeSet,
) -> Result<Vec<PathBuf>, ApplianceError> {
    let own = project_dir.join("recipes");
    if !toml_files(&own)?.is_empty() {
        let files = toml_files(&own.join(set.subdir()))?;
        if !files.is_empty() || set == RecipeSet::Provision {
            return Ok(files);
        }
    }
    let dir = work_dir.join("recipes");
    materialize(&dir)?;
    toml_files(&dir.join(set.subdir()))
}

/// Write the built-in recipes under `dir`, leaving files that are already
/// right untouched.
pub fn materialize(dir: &Path) -> Result<(), ApplianceError> {
    for (rel, text) in RECIPES {
        let p = dir.join(rel);
        if std::fs::read(&p).is_ok_and(|b| b == text.as_bytes()) {
            continue;
        }
        let err = |source| ApplianceError::State {
            what: "writing the built-in recipe",
            path: p.display().to_string(),
            source,
        };
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        crate::artifact::write_atomic(&p, text.as_bytes()).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_recipe_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir.join(rel)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                if r != "examples" {
                    repo_recipe_files(dir, &r, out);
                }
            } else if r != "README.md" {
                out.push(r);
            }
        }
    }

    #[test]
    fn every_file_under_recipes_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
        let mut on_disk = Vec::new();
        repo_recipe_files(&root, "", &mut on_disk);
        on_disk.sort();
        let mut built_in: Vec<String> = RECIPES.iter().map(|(p, _)| (*p).to_owned()).collect();
        built_in.sort();
        assert_eq!(on_disk, built_in, "update src/appliance/embedded.rs");
    }

    #[test]
    fn built_in_set_is_used_outside_a_project_and_written_once() {
        let project = tempfile::tempdir().unwrap();
        let work = project.path().join(".vmbuild");
        let p = recipe_files(project.path(), &work, RecipeSet::Provision).unwrap();
        let names: Vec<_> = p
            .iter()
            .map(|f| f.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names.first().unwrap(), "10-base.toml");
        assert!(work.join("recipes/locks/hub.txt").is_file());
        let c = recipe_files(project.path(), &work, RecipeSet::Cleanup).unwrap();
        assert_eq!(c.len(), 1);
        // a project's own recipes win; its cleanup falls back to the built-in one
        std::fs::create_dir_all(project.path().join("recipes")).unwrap();
        std::fs::write(project.path().join("recipes/01-mine.toml"), "").unwrap();
        let p = recipe_files(project.path(), &work, RecipeSet::Provision).unwrap();
        assert_eq!(p, vec![project.path().join("recipes/01-mine.toml")]);
        let c = recipe_files(project.path(), &work, RecipeSet::Cleanup).unwrap();
        assert!(c[0].starts_with(&work));
        let s = recipe_files(project.path(), &work, RecipeSet::Seal).unwrap();
        assert_eq!(
            s,
            vec![
                work.join("recipes/cleanup/90-cleanup.toml"),
                work.join("recipes/seal/95-seal.toml")
            ]
        );
    }
}
