//! The appliance recipes compiled into the binary, by their path under
//! `recipes/`. Add a line here when adding a file there (a test checks).

/// (path under `recipes/`, contents) of every built-in recipe file.
pub static RECIPES: &[(&str, &str)] = &[
    ("10-base.toml", include_str!("../../recipes/10-base.toml")),
    ("20-hub.toml", include_str!("../../recipes/20-hub.toml")),
    (
        "30-user-env.toml",
        include_str!("../../recipes/30-user-env.toml"),
    ),
    (
        "40-shared-data.toml",
        include_str!("../../recipes/40-shared-data.toml"),
    ),
    (
        "50-groups.toml",
        include_str!("../../recipes/50-groups.toml"),
    ),
    (
        "cleanup/90-cleanup.toml",
        include_str!("../../recipes/cleanup/90-cleanup.toml"),
    ),
    (
        "seal/95-seal.toml",
        include_str!("../../recipes/seal/95-seal.toml"),
    ),
    (
        "files/configurable-http-proxy.service",
        include_str!("../../recipes/files/configurable-http-proxy.service"),
    ),
    (
        "files/jupyterhub.service",
        include_str!("../../recipes/files/jupyterhub.service"),
    ),
    (
        "files/jupyterhub_config.py",
        include_str!("../../recipes/files/jupyterhub_config.py"),
    ),
    (
        "files/nginx-site.conf.hbs",
        include_str!("../../recipes/files/nginx-site.conf.hbs"),
    ),
    (
        "files/tljh-config.py",
        include_str!("../../recipes/files/tljh-config.py"),
    ),
    (
        "files/tljh-secrets.service",
        include_str!("../../recipes/files/tljh-secrets.service"),
    ),
    (
        "files/vmbuild-admin-sync.py",
        include_str!("../../recipes/files/vmbuild-admin-sync.py"),
    ),
    (
        "files/vmbuild-ca-bundle.sh",
        include_str!("../../recipes/files/vmbuild-ca-bundle.sh"),
    ),
    (
        "files/vmbuild-group-sync.py",
        include_str!("../../recipes/files/vmbuild-group-sync.py"),
    ),
    (
        "files/vmbuild-s3.py",
        include_str!("../../recipes/files/vmbuild-s3.py"),
    ),
    (
        "files/vmbuild-firstboot.py",
        include_str!("../../recipes/files/vmbuild-firstboot.py"),
    ),
    ("locks/hub.txt", include_str!("../../recipes/locks/hub.txt")),
    (
        "locks/user.txt",
        include_str!("../../recipes/locks/user.txt"),
    ),
];
