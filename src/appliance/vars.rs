//! The `appliance.*` recipe variables: what the recipes need that vmbuild
//! derives from the config (file contents, hashes, modes) rather than
//! asking recipes to compute it.
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::ApplianceError;
use super::password;
use crate::config::Config;

/// Where the run happens.
#[derive(Debug, Clone)]
pub struct Site {
    /// Relative paths in the config are relative to this.
    pub project_dir: PathBuf,
    /// vmbuild's state for the project (the admin password lives here).
    pub work_dir: PathBuf,
    /// Vagrant brought the VM up (and mounts the shared folder itself).
    pub vagrant: bool,
    /// The machine is a VM vmbuild builds here (`-u`, `-e`): it may use this
    /// machine's network trust (see [`super::trust`]); `provision --host`
    /// machines do not.
    pub build_vm: bool,
}

/// Variables for the recipes, and what must be masked or shown.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `{"config": …, "appliance": …}`.
    pub vars: Value,
    /// Values to mask everywhere (password, TLS key, CA-less secrets).
    pub secrets: Vec<String>,
    /// The admin password, when this run generated it (show it once).
    pub new_password: Option<String>,
}

/// The self-signed certificate each instance makes at first boot.
pub const INSTANCE_CERT: &str = "/etc/tljh/tls/instance-cert.pem";
/// Its private key (root only; removed by the cleanup before export).
pub const INSTANCE_KEY: &str = "/etc/tljh/tls/instance-key.pem";

/// File the generated admin password is kept in (0600).
pub fn password_file(work_dir: &Path) -> PathBuf {
    work_dir.join("admin-password")
}

/// Build the variables for `config` at `site`.
pub fn prepare(config: &Config, site: &Site) -> Result<Prepared, ApplianceError> {
    let host = host_trust(config, site);
    let effective = host.apply(config);
    let config = &effective;
    let mut secrets: Vec<String> = [&host.http_proxy, &host.https_proxy]
        .into_iter()
        .flatten()
        .filter_map(|url| proxy_password(url))
        .collect();
    let pw = password::admin_password(
        config.hub.admin_password.as_deref(),
        &password_file(&site.work_dir),
    )?;
    secrets.push(pw.password.clone());
    let salt = password::salt(&site.work_dir.join("admin-salt"))?;
    let hashed = password::hash_cached(&pw.password, &salt, &site.work_dir.join("admin-hash"))?;
    let admin_passwords: serde_json::Map<String, Value> = config
        .hub
        .admin_users
        .iter()
        .map(|u| (u.clone(), Value::String(hashed.clone())))
        .collect();
    let admin_passwords_json = if admin_passwords.is_empty() {
        String::new()
    } else {
        pretty(&Value::Object(admin_passwords))
    };
    let tls = tls(config, site, &mut secrets)?;
    let owner = owner(config, &tls);
    let ca = ca_bundle(config, site)?;
    let mut appliance = json!({
        "ca_bundle_sha256": crate::recipe::resources::sha256_hex(ca.as_bytes()),
        // a line from the middle of the last certificate: present in the
        // system bundle once update-ca-certificates took it in
        "ca_bundle_probe": ca.lines().rev().nth(2).unwrap_or_default(),
        "ca_bundle": ca,
        "build_ca_bundle_sha256": crate::recipe::resources::sha256_hex(host.ca_bundle.as_bytes()),
        "build_ca_bundle_probe": host.ca_bundle.lines().rev().nth(2).unwrap_or_default(),
        "build_ca_bundle": host.ca_bundle,
        "build_trust": if host.is_empty() { String::new() } else { host.describe() },
        "admin_passwords_json": admin_passwords_json,
        "hub_settings_json": pretty(&hub_settings(config, &tls)),
        "owner_json": pretty(&owner),
        "admin_password_mode": owner["admin_password"],
        "ssh_authorized_keys": authorized_keys(config),
        "user_packages": user_packages(config, site)?,
        "tls": tls,
        "shared_data": shared_data(config, site)?,
    });
    let shared_mode = appliance["shared_data"]["mode"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    if let Value::Object(m) = &mut appliance {
        m.extend(super::groups::vars(config, &shared_mode, &mut secrets));
    }
    Ok(Prepared {
        vars: json!({ "config": config, "appliance": appliance }),
        secrets,
        new_password: pw.generated_now.then_some(pw.password),
    })
}

/// The password in a proxy URL's `user:password@`, if any.
fn proxy_password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (userinfo, _) = rest.split_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    Some(pw.to_owned())
}

/// The host's network trust, for VMs vmbuild builds here (and when the
/// config does not turn detection off).
fn host_trust(config: &Config, site: &Site) -> super::trust::HostTrust {
    if !(site.build_vm && config.proxy.detect_host) {
        return super::trust::HostTrust::default();
    }
    super::trust::detect(
        config,
        &site.project_dir,
        std::path::Path::new(super::trust::HOST_CA_DIR),
        &|n| std::env::var(n).ok(),
    )
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn resolve(site: &Site, p: &str) -> PathBuf {
    site.project_dir.join(p)
}

fn read(key: &'static str, site: &Site, p: &str) -> Result<String, ApplianceError> {
    let path = resolve(site, p);
    std::fs::read_to_string(&path).map_err(|source| ApplianceError::ReadInput {
        key,
        path: path.display().to_string(),
        source,
    })
}

/// Every `proxy.extra_ca_certs` file, concatenated; each must hold a PEM
/// certificate (a key or a DER file there is a mistake worth stopping for).
fn ca_bundle(config: &Config, site: &Site) -> Result<String, ApplianceError> {
    let mut out = String::new();
    for p in &config.proxy.extra_ca_certs {
        let text = read("proxy.extra_ca_certs", site, p)?;
        if !text.contains("-----BEGIN CERTIFICATE-----") || text.contains("PRIVATE KEY-----") {
            return Err(ApplianceError::BadInput {
                key: "proxy.extra_ca_certs",
                path: resolve(site, p).display().to_string(),
                problem: "is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
            });
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// `/etc/vmbuild/owner.json`: the ways in and secrets the owner chose, so
/// an audit of the image can tell them from leftovers of the build.
/// `admin_password` is `owner` when `hub.admin_password` is set (the same on
/// every instance), else `per-instance` (made at first boot); `tls` is
/// `owner` (`hub.tls_cert`), `letsencrypt` or `per-instance` (self-signed at
/// first boot); `sudoers` names the files in `/etc/sudoers.d` the appliance
/// itself writes (hub admins' sudo; the owner's account's).
fn owner(config: &Config, tls: &Value) -> Value {
    let password_set = config
        .hub
        .admin_password
        .as_deref()
        .is_some_and(|p| !p.is_empty());
    let keys: Vec<&str> = config.access.ssh_keys.iter().map(|k| k.trim()).collect();
    let mut sudoers = vec!["jupyterhub-admins"];
    if !keys.is_empty() {
        sudoers.push("vmbuild-owner");
    }
    let mut owner = json!({
        "ssh_user": if keys.is_empty() { Value::Null } else { json!(config.access.ssh_user) },
        "ssh_keys": keys,
        "sudoers": sudoers,
        "admin_password": if password_set { "owner" } else { "per-instance" },
        "tls": tls["mode"],
    });
    // S3 credentials the owner ships on purpose (data.s3[].keep_credentials)
    let kept: Vec<&str> = config
        .data
        .s3
        .iter()
        .filter(|b| b.keep_credentials && b.credentials.is_some())
        .map(|b| b.name.as_str())
        .collect();
    if !kept.is_empty() {
        owner["s3_credentials"] = json!(kept);
    }
    owner
}

/// The owner's `authorized_keys` file: one key per line.
fn authorized_keys(config: &Config) -> String {
    config
        .access
        .ssh_keys
        .iter()
        .map(|k| format!("{}\n", k.trim()))
        .collect()
}

/// The hub's settings.json (what `tljh-config show` starts from).
pub fn hub_settings(config: &Config, tls: &Value) -> Value {
    let h = &config.hub;
    let auth: serde_json::Map<String, Value> = h
        .authenticator_settings
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    let mut settings = json!({
        "admin_users": h.admin_users,
        "authenticator": h.authenticator,
        "authenticator_settings": auth,
        "mem_limit": h.mem_limit,
        "cpu_limit": h.cpu_limit,
        "idle_timeout_secs": h.idle_timeout_secs,
        "default_url": "/lab",
        "shared_data": config.shared_data.mount_point,
        "tls_cert": tls["cert_path"],
    });
    if let Value::Object(m) = &mut settings {
        m.extend(super::groups::hub_settings(config));
    }
    settings
}

/// `python.packages` then the lines of `python.requirements_file`.
fn user_packages(config: &Config, site: &Site) -> Result<Vec<String>, ApplianceError> {
    let mut out = config.python.packages.clone();
    if let Some(f) = &config.python.requirements_file {
        let text = read("python.requirements_file", site, f)?;
        out.extend(crate::recipe::resources::pip_packages::requirement_lines(
            &text,
        ));
    }
    Ok(out)
}

fn tls(config: &Config, site: &Site, secrets: &mut Vec<String>) -> Result<Value, ApplianceError> {
    let h = &config.hub;
    let domain = h.domain.clone().unwrap_or_default();
    if let (Some(c), Some(k)) = (&h.tls_cert, &h.tls_key) {
        let cert = read("hub.tls_cert", site, c)?;
        let key = read("hub.tls_key", site, k)?;
        for (what, text, want) in [
            ("hub.tls_cert", &cert, "CERTIFICATE-----"),
            ("hub.tls_key", &key, "PRIVATE KEY-----"),
        ] {
            if !text.contains(want) {
                return Err(ApplianceError::BadInput {
                    key: what,
                    path: if what == "hub.tls_cert" { c } else { k }.clone(),
                    problem: format!("is not PEM (expected a `-----BEGIN …{want}` block)"),
                });
            }
        }
        secrets.push(key.trim().to_owned());
        return Ok(json!({
            "mode": "owner", "letsencrypt": false, "cert": cert, "key": key,
            "cert_path": "/etc/tljh/tls/cert.pem", "key_path": "/etc/tljh/tls/key.pem",
            "domain": domain, "email": "",
        }));
    }
    if let (Some(d), Some(email)) = (&h.domain, &h.letsencrypt_email) {
        return Ok(json!({
            "mode": "letsencrypt", "letsencrypt": true, "cert": "", "key": "",
            "cert_path": format!("/etc/letsencrypt/live/{d}/fullchain.pem"),
            "key_path": format!("/etc/letsencrypt/live/{d}/privkey.pem"),
            "domain": d, "email": email,
        }));
    }
    // HTTPS by default: each machine makes its own key and self-signed
    // certificate at first boot (vmbuild-firstboot); none ships.
    Ok(json!({
        "mode": "per-instance", "letsencrypt": false, "cert": "", "key": "",
        "cert_path": INSTANCE_CERT, "key_path": INSTANCE_KEY,
        "domain": domain, "email": "",
    }))
}

/// How the shared data folder gets there (see recipes/40-shared-data.toml).
fn shared_data(config: &Config, site: &Site) -> Result<Value, ApplianceError> {
    let s = &config.shared_data;
    let mode = if s.host_dir != "none" {
        if site.vagrant {
            "vagrant"
        } else if matches!(s.kind.as_str(), "9p" | "auto") {
            "9p"
        } else {
            "external"
        }
    } else if s.bundled_dir.is_some() {
        "bundle"
    } else {
        "local"
    };
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    if let (Some(b), "bundle") = (&s.bundled_dir, mode) {
        let root = resolve(site, b);
        walk(&root, &root, &mut dirs, &mut files)?;
    }
    Ok(json!({ "mode": mode, "bundle_dirs": dirs, "bundle_files": files }))
}

/// The directories and files under `root`, parents first, sorted.
fn walk(
    root: &Path,
    dir: &Path,
    dirs: &mut Vec<String>,
    files: &mut Vec<Value>,
) -> Result<(), ApplianceError> {
    let err = |source| ApplianceError::ReadInput {
        key: "shared_data.bundled_dir",
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        let ft = e.file_type().map_err(err)?;
        if ft.is_dir() {
            dirs.push(rel);
            walk(root, &p, dirs, files)?;
        } else if ft.is_file() {
            files.push(json!({ "path": rel, "source": p.display().to_string() }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(dir: &Path, vagrant: bool) -> Site {
        Site {
            project_dir: dir.to_owned(),
            work_dir: dir.join(".vmbuild"),
            vagrant,
            build_vm: false,
        }
    }

    fn config(toml: &str) -> Config {
        crate::config::parse_str("t.toml".as_ref(), toml).expect("valid config")
    }

    #[test]
    fn defaults_give_a_generated_password_and_a_local_data_folder() {
        let d = tempfile::tempdir().unwrap();
        let p = prepare(&config(""), &site(d.path(), false)).unwrap();
        let a = &p.vars["appliance"];
        let pw = p.new_password.clone().expect("generated");
        assert!(p.secrets.contains(&pw));
        assert!(
            a["admin_passwords_json"]
                .as_str()
                .unwrap()
                .contains("\"admin\": \"pbkdf2_sha256$")
        );
        assert_eq!(a["shared_data"]["mode"], "local");
        assert_eq!(a["ca_bundle"], "");
        assert_eq!(a["tls"]["mode"], "per-instance");
        assert_eq!(a["tls"]["key_path"], INSTANCE_KEY);
        let owner: Value = serde_json::from_str(a["owner_json"].as_str().unwrap()).unwrap();
        assert_eq!(
            owner,
            json!({"ssh_user": null, "ssh_keys": [], "sudoers": ["jupyterhub-admins"],
                   "admin_password": "per-instance", "tls": "per-instance"})
        );
        assert_eq!(a["ssh_authorized_keys"], "");
        assert_eq!(a["user_packages"][0], "numpy==2.4.6");
        let settings: Value =
            serde_json::from_str(a["hub_settings_json"].as_str().unwrap()).unwrap();
        assert_eq!(settings["mem_limit"], "1G");
        // the same project again: same password, not shown again, same hash
        let q = prepare(&config(""), &site(d.path(), false)).unwrap();
        assert_eq!(q.new_password, None);
        assert_eq!(
            q.vars["appliance"]["admin_passwords_json"],
            a["admin_passwords_json"]
        );
    }

    #[test]
    fn bundle_lists_dirs_and_files_and_ca_must_be_pem() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("data/sub")).unwrap();
        std::fs::write(d.path().join("data/a.csv"), "x").unwrap();
        std::fs::write(d.path().join("data/sub/b.txt"), "y").unwrap();
        std::fs::write(d.path().join("ca.pem"), "not a cert").unwrap();
        let c = config("[shared_data]\nbundled_dir = \"data\"\n");
        let p = prepare(&c, &site(d.path(), false)).unwrap();
        let s = &p.vars["appliance"]["shared_data"];
        assert_eq!(s["mode"], "bundle");
        assert_eq!(s["bundle_dirs"], json!(["sub"]));
        assert_eq!(s["bundle_files"][1]["path"], "sub/b.txt");
        let c = config("[proxy]\nextra_ca_certs = [\"ca.pem\"]\n");
        let e = prepare(&c, &site(d.path(), false)).unwrap_err();
        assert!(e.is_user_error());
        assert!(e.to_string().starts_with("proxy.extra_ca_certs: `"), "{e}");
    }

    #[test]
    fn host_folder_is_9p_without_vagrant_and_left_to_vagrant_with_it() {
        let d = tempfile::tempdir().unwrap();
        let c = config("[shared_data]\nhost_dir = \"data\"\n");
        let mode = |v| {
            prepare(&c, &site(d.path(), v)).unwrap().vars["appliance"]["shared_data"]["mode"]
                .clone()
        };
        assert_eq!(mode(false), "9p");
        assert_eq!(mode(true), "vagrant");
    }
}
