//! The detectors together on staged root trees (plain directories read
//! through [`ImageRoot`], as a mounted image is): what the owner declared is
//! expected, everything else is a finding.
use std::path::Path;

use super::run_all;
use crate::audit::AuditOptions;
use crate::audit::finding::{FindingKind, Findings};
use crate::audit::root::ImageRoot;
use crate::ui::Ui;

const VAGRANT: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key";
const OWNER: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp alice@laptop";
const STRANGER: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICTTa+Ip4dyBX6WTSzjm4AtuP3ibkO/jR4GZUeMBIds1 test";

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn base(root: &Path) {
    put(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nhubadmin:x:1001:1001::/home/hubadmin:/bin/bash\njupyter-bob:x:1002:1002::/home/jupyter-bob:/bin/bash\n",
    );
    put(
        root,
        "/etc/shadow",
        "root:*:1::::::\nhubadmin:!:1::::::\njupyter-bob:!:1::::::\n",
    );
    put(root, "/etc/group", "jupyterhub-admins:x:998:\n");
    put(
        root,
        "/etc/sudoers",
        "root ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\n",
    );
    put(
        root,
        "/etc/sudoers.d/jupyterhub-admins",
        "%jupyterhub-admins ALL = (ALL) NOPASSWD: ALL\n",
    );
}

fn run(root: &Path, opts: AuditOptions) -> Findings {
    run_all(&ImageRoot::open(root).unwrap(), &Ui::silent(), &opts).unwrap()
}

fn kinds(f: &Findings) -> Vec<(FindingKind, String)> {
    f.findings
        .iter()
        .map(|f| (f.kind, f.path.clone()))
        .collect()
}

#[test]
fn an_appliance_with_only_declared_access_is_clean() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    base(r);
    put(
        r,
        "/etc/vmbuild/owner.json",
        &format!("{{\"ssh_keys\": [\"{OWNER}\"], \"admin_password\": \"owner\"}}"),
    );
    put(
        r,
        "/home/hubadmin/.ssh/authorized_keys",
        &format!("# the owner\n{OWNER}\n"),
    );
    put(
        r,
        "/opt/tljh/state/admin-passwords.json",
        "{\"admin\": \"pbkdf2:...\"}",
    );
    put(
        r,
        "/opt/tljh/config/settings.json",
        "{\"authenticator_settings\": {\"client_secret\": \"0a1b2c3d4e5f6a7b8c9d\"}}",
    );
    // an empty history leaks nothing
    put(r, "/home/jupyter-bob/.bash_history", "");
    let f = run(r, AuditOptions::default());
    assert_eq!(kinds(&f), [], "{f:#?}");
    let expected: Vec<(FindingKind, &str)> = f
        .expected
        .iter()
        .map(|e| (e.kind, e.path.as_str()))
        .collect();
    assert_eq!(
        expected,
        [
            (
                FindingKind::AuthorizedKey,
                "/home/hubadmin/.ssh/authorized_keys"
            ),
            (FindingKind::Nopasswd, "/etc/sudoers.d/jupyterhub-admins"),
            (
                FindingKind::HubSecret,
                "/opt/tljh/state/admin-passwords.json"
            ),
            (FindingKind::Token, "/opt/tljh/config/settings.json"),
        ]
    );
}

#[test]
fn undeclared_access_and_per_instance_secrets_are_findings() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    base(r);
    // Vagrant's key stays a finding even when the owner lists it
    put(
        r,
        "/etc/vmbuild/owner.json",
        &format!("{{\"ssh_keys\": [\"{VAGRANT}\"], \"admin_password\": \"per-instance\"}}"),
    );
    put(r, "/etc/group", "jupyterhub-admins:x:998:hubadmin\n");
    put(
        r,
        "/root/.ssh/authorized_keys",
        &format!("{VAGRANT}\n{STRANGER}\n"),
    );
    put(r, "/opt/tljh/state/admin-passwords.json", "{}");
    put(r, "/opt/tljh/state/jupyterhub_cookie_secret", "00ff");
    put(
        r,
        "/etc/tljh/proxy.env",
        "CONFIGPROXY_AUTH_TOKEN=9f86d081884c7d659a2feaa0c55ad015\n",
    );
    put(r, "/etc/passwd-s3fs", "bucket:AKIA1234:secret5678\n");
    put(r, "/root/.python_history", "import os\n");
    put(r, "/var/cache/apt/archives/nginx_1.22_amd64.deb", "deb");
    let f = run(r, AuditOptions::default());
    assert_eq!(
        kinds(&f),
        [
            (
                FindingKind::AuthorizedKey,
                "/root/.ssh/authorized_keys".into()
            ),
            (
                FindingKind::AuthorizedKey,
                "/root/.ssh/authorized_keys".into()
            ),
            (
                FindingKind::Nopasswd,
                "/etc/sudoers.d/jupyterhub-admins".into()
            ),
            (
                FindingKind::HubSecret,
                "/opt/tljh/state/jupyterhub_cookie_secret".into()
            ),
            (FindingKind::HubSecret, "/etc/tljh/proxy.env".into()),
            (
                FindingKind::HubSecret,
                "/opt/tljh/state/admin-passwords.json".into()
            ),
            (FindingKind::History, "/root/.python_history".into()),
            (FindingKind::PackageCache, "/var/cache/apt/archives".into()),
            (FindingKind::S3Credentials, "/etc/passwd-s3fs".into()),
        ],
        "{f:#?}"
    );
    assert!(f.findings[0].detail.contains("listed in owner.json"));
    assert!(
        f.findings[2]
            .detail
            .contains("already has members: hubadmin")
    );
    let all = format!("{f:?}");
    for secret in [
        "9f86d081884c7d659a2feaa0c55ad015",
        "secret5678",
        "import os",
    ] {
        assert!(!all.contains(secret), "{secret} printed");
    }
}

#[test]
fn vagrant_box_conventions_make_the_box_user_expected() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    base(r);
    put(
        r,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nvagrant:x:1000:1000::/home/vagrant:/bin/bash\n",
    );
    put(
        r,
        "/home/vagrant/.ssh/authorized_keys",
        &format!("{VAGRANT}\n"),
    );
    put(
        r,
        "/etc/sudoers.d/vagrant",
        "vagrant ALL=(ALL) NOPASSWD: ALL\n",
    );
    assert_eq!(run(r, AuditOptions::default()).findings.len(), 2);
    let f = run(r, AuditOptions { vagrant_box: true });
    assert_eq!(kinds(&f), []);
    assert_eq!(f.expected.len(), 3);
}

#[test]
fn sshd_authorized_keys_file_and_sudo_includes_are_followed() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    base(r);
    put(
        r,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n",
    );
    put(
        r,
        "/etc/ssh/sshd_config.d/10-keys.conf",
        "AuthorizedKeysFile /etc/ssh/keys/%u\n",
    );
    put(r, "/etc/ssh/keys/hubadmin", &format!("{STRANGER}\n"));
    // not read by sshd with the setting above
    put(
        r,
        "/home/hubadmin/.ssh/authorized_keys",
        &format!("{STRANGER}\n"),
    );
    put(r, "/etc/sudoers.d/extra", "@include ../sudo-more\n");
    put(
        r,
        "/etc/sudo-more",
        "User_Alias OPS = hubadmin\nOPS ALL=(ALL) NOPASSWD: /usr/bin/apt\n",
    );
    // sudo skips names with a dot or a trailing ~
    put(
        r,
        "/etc/sudoers.d/old.dpkg-dist",
        "hubadmin ALL=(ALL) NOPASSWD: ALL\n",
    );
    put(
        r,
        "/etc/sudoers.d/backup~",
        "hubadmin ALL=(ALL) NOPASSWD: ALL\n",
    );
    let f = run(r, AuditOptions::default());
    assert_eq!(
        kinds(&f),
        [
            (FindingKind::AuthorizedKey, "/etc/ssh/keys/hubadmin".into()),
            (FindingKind::Nopasswd, "/etc/sudo-more".into()),
        ],
        "{f:#?}"
    );
    assert!(f.findings[1].why.contains("hubadmin"));
}

fn pem(body: &str) -> String {
    format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
}

#[test]
fn a_ca_left_in_the_trust_bundle_without_its_file_is_found() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    base(r);
    put(
        r,
        "/usr/share/ca-certificates/mozilla/A.crt",
        &pem("QUFBQQ=="),
    );
    put(
        r,
        "/etc/ssl/certs/ca-certificates.crt",
        &format!("{}{}", pem("QUFBQQ=="), pem("QkJCQg==")),
    );
    let f = run(r, AuditOptions::default());
    assert_eq!(
        kinds(&f),
        [(
            FindingKind::BuildCa,
            "/etc/ssl/certs/ca-certificates.crt".into()
        )]
    );
    assert!(
        f.findings[0]
            .detail
            .starts_with("1 trusted certificate(s) from no CA file")
    );
    // with the file still there, the file is the finding
    put(
        r,
        "/usr/local/share/ca-certificates/vmbuild-extra.crt",
        &pem("QkJCQg=="),
    );
    let f = run(r, AuditOptions::default());
    assert_eq!(
        kinds(&f),
        [(
            FindingKind::BuildCa,
            "/usr/local/share/ca-certificates/vmbuild-extra.crt".into()
        )]
    );
}
