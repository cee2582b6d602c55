//! What the guest is told while provisioning runs, and taken away after
//! (pure command builders). Everything is transient:
//! - `/etc/apt/apt.conf.d/99vmbuild-cache`: apt fetches from the configured
//!   Debian mirrors through the cache (other repositories go direct);
//! - `/etc/dpkg/dpkg.cfg.d/99vmbuild-build`: dpkg's `force-unsafe-io`, no
//!   fsync per unpacked file: under emulation each fsync is slow, and a
//!   build that dies half-way is rebuilt, not repaired;
//! - `/run/vmbuild/cache.env` (tmpfs, gone at reboot): the PyPI index and
//!   npm registry URLs that the `pip.packages` and `npm.global` installs read.
//!
//! Nothing here is trusted by the guest: apt checks the mirror's signatures,
//! pip/uv the sha256 of every file (from PyPI's index), npm its integrity.
use crate::remote::RemoteCommand;

/// The apt configuration file the cache adds.
pub const APT_CONF: &str = "/etc/apt/apt.conf.d/99vmbuild-cache";
/// The dpkg configuration file for the build.
pub const DPKG_CONF: &str = "/etc/dpkg/dpkg.cfg.d/99vmbuild-build";
/// The environment file the package installs read (see `pip.packages`).
pub const ENV_FILE: &str = "/run/vmbuild/cache.env";

/// The apt configuration sending `mirrors` (host names) to the cache at
/// `127.0.0.1:port`.
pub fn apt_conf(mirrors: &[String], port: u16) -> String {
    let mut s =
        String::from("// vmbuild: the build's package cache (removed after provisioning)\n");
    for m in mirrors {
        // apt's per-host key is the bare host name
        let host = m.split(':').next().unwrap_or(m);
        s.push_str(&format!(
            "Acquire::http::Proxy::{host} \"http://127.0.0.1:{port}/\";\n"
        ));
    }
    s
}

/// The environment file pointing pip, uv and npm at the cache.
pub fn env_file(port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}");
    format!(
        "# vmbuild: the build's package cache (tmpfs, gone at reboot)\n\
         export UV_DEFAULT_INDEX={base}/pypi/simple/\n\
         export PIP_INDEX_URL={base}/pypi/simple/\n\
         export PIP_TRUSTED_HOST=127.0.0.1:{port}\n\
         export npm_config_registry={base}/npm/\n\
         # a configured proxy must not be asked for the cache on loopback\n\
         export no_proxy=\"127.0.0.1${{no_proxy:+,$no_proxy}}\" NO_PROXY=\"127.0.0.1${{NO_PROXY:+,$NO_PROXY}}\"\n\
         export npm_config_noproxy=\"$no_proxy\"\n"
    )
}

/// Write the build-time settings: dpkg always; apt and the environment
/// file when the cache is reachable at `port` (`mirrors` may be empty).
pub fn setup(port: Option<u16>, mirrors: &[String]) -> RemoteCommand {
    let (apt, env) = match port {
        Some(p) if !mirrors.is_empty() => (apt_conf(mirrors, p), env_file(p)),
        Some(p) => (String::new(), env_file(p)),
        None => (String::new(), String::new()),
    };
    // $1 dpkg file, $2 apt file, $3 apt text, $4 env file, $5 env text;
    // an empty text means "no such file"
    RemoteCommand::new("sh")
        .args([
            "-c",
            "set -e; umask 022; \
             if [ -d \"${1%/*}\" ]; then printf 'force-unsafe-io\\n' > \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"; fi; \
             if [ -n \"$3\" ]; then printf '%s' \"$3\" > \"$2.tmp\" && mv -f \"$2.tmp\" \"$2\"; fi; \
             if [ -n \"$5\" ]; then mkdir -p \"${4%/*}\" && printf '%s' \"$5\" > \"$4.tmp\" && mv -f \"$4.tmp\" \"$4\"; fi",
            "vmbuild-cache-setup",
            DPKG_CONF,
            APT_CONF,
        ])
        .arg(apt)
        .arg(ENV_FILE)
        .arg(env)
        .idempotent()
}

/// Remove every build-time setting again.
pub fn teardown() -> RemoteCommand {
    RemoteCommand::new("rm")
        .args(["-f", DPKG_CONF, APT_CONF, ENV_FILE])
        .idempotent()
}

/// The host names (with `:port` when not 80) of plain-http mirror URLs;
/// https mirrors are left out (apt would tunnel them).
pub fn mirror_hosts<'a>(urls: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for u in urls {
        let Some(rest) = u.strip_prefix("http://") else {
            continue;
        };
        let host = rest.split('/').next().unwrap_or("");
        let host = host.strip_suffix(":80").unwrap_or(host);
        if !host.is_empty() && !out.iter().any(|h: &String| h == host) {
            out.push(host.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_and_env() {
        assert_eq!(
            apt_conf(&["deb.debian.org".into()], 38142),
            "// vmbuild: the build's package cache (removed after provisioning)\n\
             Acquire::http::Proxy::deb.debian.org \"http://127.0.0.1:38142/\";\n"
        );
        let env = env_file(38142);
        assert!(env.contains("export UV_DEFAULT_INDEX=http://127.0.0.1:38142/pypi/simple/\n"));
        assert!(env.contains("export npm_config_registry=http://127.0.0.1:38142/npm/\n"));
    }

    #[test]
    fn mirrors() {
        assert_eq!(
            mirror_hosts([
                "http://deb.debian.org/debian",
                "http://deb.debian.org/debian-security",
                "https://secure.example/debian",
                "http://mirror.local:8080/debian",
                "http://m2:80/d"
            ]),
            ["deb.debian.org", "mirror.local:8080", "m2"]
        );
    }

    #[test]
    fn commands() {
        let s = setup(Some(1), &["m".into()]).to_shell();
        assert!(
            s.contains(DPKG_CONF) && s.contains(APT_CONF) && s.contains(ENV_FILE),
            "{s}"
        );
        let off = setup(None, &[]).to_shell();
        assert!(
            off.ends_with(&format!("{APT_CONF} '' {ENV_FILE} ''")),
            "{off}"
        );
        assert_eq!(
            teardown().to_shell(),
            format!("rm -f {DPKG_CONF} {APT_CONF} {ENV_FILE}")
        );
    }
}
