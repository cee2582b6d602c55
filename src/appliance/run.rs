//! Loading the appliance for a run (recipes plus variables, secrets
//! registered) and telling the user a newly set admin password, once.
use std::io::IsTerminal;
use std::path::PathBuf;

use super::files::{RecipeSet, recipe_files};
use super::vars::{Site, password_file, prepare};
use crate::config::Config;
use crate::error::Error;
use crate::recipe::load::{Recipe, load};
use crate::recipe::report::{Report, Status};
use crate::ui::Ui;

/// The resource that installs the admin password hashes (20-hub.toml).
pub const ADMIN_PASSWORDS_LABEL: &str = "file[admin passwords]";

/// Load `explicit` recipes, or the appliance's `set` when none are given,
/// with `config.*` and `appliance.*` variables; every secret is registered
/// with `ui` before anything is printed.
pub fn load_recipes(
    config: &Config,
    site: &Site,
    explicit: &[PathBuf],
    set: RecipeSet,
    overrides: &[String],
    ui: &Ui,
) -> Result<Recipe, Error> {
    for s in crate::config::secrets::secret_values(config) {
        ui.add_secret(&s);
    }
    let files = if explicit.is_empty() {
        recipe_files(&site.project_dir, &site.work_dir, set)?
    } else {
        explicit.to_vec()
    };
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no recipes to apply (looked in `{}`)",
            site.project_dir.join("recipes").display()
        )));
    }
    // `appliance.*` costs state on disk (the generated admin password in the
    // work dir): only for recipes that use it
    let vars = if explicit.is_empty() || crate::recipe::load::uses_variable(&files, "appliance")? {
        let prepared = prepare(config, site)?;
        for s in &prepared.secrets {
            ui.add_secret(s);
        }
        if set == RecipeSet::Provision
            && let Some(line) = prepared.vars["appliance"]["build_trust"].as_str()
            && !line.is_empty()
        {
            ui.info(line);
        }
        prepared.vars
    } else {
        serde_json::json!({ "config": config })
    };
    let recipe = load(&files, vars, overrides)?;
    for s in &recipe.secrets {
        ui.add_secret(s);
    }
    Ok(recipe)
}

/// After a run: if it just installed a password vmbuild generated, say it
/// once. On a terminal it is printed (straight to the terminal, not through
/// the log); otherwise only where it is kept, so it never lands in a log.
pub fn announce_password(config: &Config, site: &Site, report: &Report, ui: &Ui) {
    if config
        .hub
        .admin_password
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return;
    }
    let installed = report
        .resources
        .iter()
        .any(|o| o.label == ADMIN_PASSWORDS_LABEL && o.status == Status::Changed);
    if !installed || report.check_mode {
        return;
    }
    let file = password_file(&site.work_dir);
    let users = config.hub.admin_users.join(", ");
    let stderr = std::io::stderr();
    match std::fs::read_to_string(&file) {
        Ok(pw) if stderr.is_terminal() => {
            eprintln!(
                "\nHub admin password for {users} (shown once; kept in {}, mode 0600):\n\n    {}\n",
                file.display(),
                pw.trim()
            );
        }
        _ => ui.info(&format!(
            "Hub admin password for {users} was generated; it is in {} (mode 0600)",
            file.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(toml: &str, set: RecipeSet) -> Recipe {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("cert.pem"),
            "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("key.pem"),
            "-----BEGIN PRIVATE KEY-----\ny\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let config = crate::config::parse_str("t.toml".as_ref(), toml).expect("valid");
        let site = Site {
            project_dir: d.path().to_owned(),
            work_dir: d.path().join(".vmbuild"),
            vagrant: false,
            build_vm: false,
        };
        let ui = Ui::new(crate::ui::Verbosity::Quiet, None).unwrap();
        load_recipes(&config, &site, &[], set, &[], &ui).expect("built-in recipes load")
    }

    fn labels(r: &Recipe) -> Vec<(String, bool)> {
        r.entries
            .iter()
            .map(|e| (e.label(), e.skip.is_none()))
            .collect()
    }

    #[test]
    fn default_appliance_loads() {
        let r = load_with("", RecipeSet::Provision);
        let l = labels(&r);
        assert!(l.contains(&("pip.packages[hub venv]".into(), true)));
        assert!(l.contains(&("file[admin passwords]".into(), true)));
        assert!(l.contains(&("apt.packages[R]".into(), true)));
        assert!(l.contains(&("r.packages[R packages from CRAN]".into(), false)));
        assert!(l.contains(&("mount[shared data over 9p]".into(), false)));
    }

    #[test]
    fn options_expand_into_resources() {
        let r = load_with(
            "[hub]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
             [[python.environments]]\nname = \"ml\"\npackages = [\"scikit-learn==1.7.2\"]\n\
             [shared_data]\nhost_dir = \"data\"\nkind = \"9p\"\n",
            RecipeSet::Provision,
        );
        let l = labels(&r);
        assert!(l.contains(&("pip.packages[environment ml]".into(), true)));
        assert!(l.contains(&("file[kernel ml]".into(), true)));
        assert!(l.contains(&("file[TLS key]".into(), true)));
        assert!(l.contains(&("mount[shared data over 9p]".into(), true)));
    }

    #[test]
    fn groups_and_buckets_expand_into_resources() {
        let r = load_with(
            "[[groups]]\nname = \"physics\"\nmembers = [\"alice\"]\n\
             [[data.s3]]\nname = \"physics\"\nendpoint = \"http://10.0.2.2:9000\"\n\
             bucket = \"physics-data\"\nmode = \"rw\"\nread = [\"physics\"]\nwrite = [\"physics\"]\n\
             credentials = { access_key_id = \"AKIDPHYSICS\", secret_access_key = \"s3cr3t-physics\" }\n\
             [[data.s3]]\nname = \"reference\"\nendpoint = \"http://10.0.2.2:9000\"\n\
             bucket = \"reference-data\"\nread = [\"all\"]\n",
            RecipeSet::Provision,
        );
        let l = labels(&r);
        for want in [
            "group[unix group group-physics]",
            "directory[group folder physics]",
            "script[s3fs]",
            "line[initramfs updates on]",
            "file[S3 bucket physics: credentials]",
            "command[S3 bucket physics: mounted]",
            "command[S3 bucket reference: mount unit]",
        ] {
            assert!(l.contains(&(want.into(), true)), "{want} in {l:?}");
        }
        // no credentials for `reference`: its unit waits for them
        assert!(
            !l.iter()
                .any(|(n, _)| n == "command[S3 bucket reference: mounted]")
        );
        let c = load_with(
            "[[data.s3]]\nname = \"reference\"\nendpoint = \"http://10.0.2.2:9000\"\n\
             bucket = \"reference-data\"\nread = [\"all\"]\n",
            RecipeSet::Cleanup,
        );
        assert!(labels(&c).contains(&("file[S3 credentials of reference]".into(), true)));
        // fstrim comes after every deletion: a secret deleted later would
        // stay in freed blocks that the export copies
        assert_eq!(
            labels(&c).last(),
            Some(&("command[free space]".into(), true)),
            "{:?}",
            labels(&c)
        );
        // without groups or buckets, nothing of it runs
        let r = load_with("", RecipeSet::Provision);
        assert!(labels(&r).contains(&("script[s3fs]".into(), false)));
    }

    #[test]
    fn own_recipes_make_appliance_state_only_when_they_use_it() {
        let d = tempfile::tempdir().unwrap();
        let config = crate::config::parse_str("t.toml".as_ref(), "").expect("valid");
        let site = Site {
            project_dir: d.path().to_owned(),
            work_dir: d.path().join(".vmbuild"),
            vagrant: false,
            build_vm: false,
        };
        let ui = Ui::new(crate::ui::Verbosity::Quiet, None).unwrap();
        let plain = d.path().join("plain.toml");
        std::fs::write(
            &plain,
            "[[resource]]\nname = \"m\"\ntype = \"file\"\npath = \"/etc/motd\"\ncontent = \"{{config.name}}\"\n",
        )
        .unwrap();
        load_recipes(&config, &site, &[plain], RecipeSet::Provision, &[], &ui).unwrap();
        assert!(
            !site.work_dir.exists(),
            "no appliance state for plain recipes"
        );
        let uses = d.path().join("uses.toml");
        std::fs::write(
            &uses,
            "[[resource]]\nname = \"s\"\ntype = \"file\"\npath = \"/etc/s\"\ncontent = \"{{appliance.hub_settings_json}}\"\n",
        )
        .unwrap();
        load_recipes(&config, &site, &[uses], RecipeSet::Provision, &[], &ui).unwrap();
        assert!(site.work_dir.join("admin-password").exists());
    }

    #[test]
    fn cleanup_loads() {
        let r = load_with("", RecipeSet::Cleanup);
        let l = labels(&r);
        assert!(l.contains(&("command[SSH host keys]".into(), true)));
        assert!(l.contains(&("script[build-time CA certificates]".into(), true)));
        assert!(l.contains(&("file[instance TLS key]".into(), true)));
        // vmbuild's build-time admin password goes; the owner's stays
        assert!(l.contains(&("file[build-time admin password]".into(), true)));
        let r = load_with(
            "[hub]\nadmin_password = \"chosen-on-purpose\"\n",
            RecipeSet::Cleanup,
        );
        assert!(labels(&r).contains(&("file[build-time admin password]".into(), false)));
    }

    #[test]
    fn seal_removes_the_build_account_last() {
        let r = load_with("", RecipeSet::Seal);
        let l = labels(&r);
        let last = l.last().expect("resources");
        assert_eq!(
            last,
            &(
                "script[remove the build account and power off]".to_owned(),
                true
            )
        );
        assert!(r.handlers.is_empty(), "no handler may run after the seal");
        let (_, text) = crate::appliance::embedded::RECIPES
            .iter()
            .find(|(p, _)| *p == "seal/95-seal.toml")
            .expect("built in");
        let last = &text[text.rfind("[[resource]]").unwrap()..];
        for needed in [
            "rm -f /etc/sudoers.d/vagrant",
            "userdel --force vagrant",
            "poweroff",
        ] {
            assert!(last.contains(needed), "{needed} in {last}");
        }
        assert!(
            !last.contains("unless") && !last.contains("onlyif"),
            "no re-check"
        );
    }

    #[test]
    fn owner_keys_make_an_account_that_may_ssh() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8OPg1yTHbALWOileY6wKaCpDioGnksjSxrDkFE3CiT owner@laptop";
        let r = load_with("", RecipeSet::Provision);
        assert!(labels(&r).contains(&("user[owner account]".into(), false)));
        let r = load_with(
            &format!("[access]\nssh_user = \"teacher\"\nssh_keys = [\"{key}\"]\n"),
            RecipeSet::Provision,
        );
        let l = labels(&r);
        assert!(l.contains(&("user[owner account]".into(), true)));
        assert!(l.contains(&("file[owner keys]".into(), true)));
        assert!(l.contains(&("file[owner may sudo]".into(), true)));
    }
}
