//! The build network left in the image: extra CA certificates (as files, or
//! only in the trust bundle after their file was removed) and proxy settings
//! for apt, pip, npm and the environment.
use std::collections::HashSet;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::Regex;
use sha2::{Digest, Sha256};

use super::Context;
use crate::audit::error::AuditError;
use crate::audit::finding::{Finding, FindingKind, Findings};
use crate::audit::root::{Kind, Walk, join};

/// Where `update-ca-certificates` takes local CAs from.
const LOCAL_CAS: &str = "/usr/local/share/ca-certificates";
/// Debian's CA package.
const PACKAGE_CAS: &str = "/usr/share/ca-certificates";
/// The bundle apt, pip (through pip.conf) and npm (through npmrc) trust.
const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The file vmbuild's recipes write the build network's CA to.
pub const VMBUILD_CA: &str = "/usr/local/share/ca-certificates/vmbuild-extra.crt";
/// vmbuild's build-time apt proxy.
pub const VMBUILD_APT_PROXY: &str = "/etc/apt/apt.conf.d/90vmbuild-proxy";

const CA_WHY: &str = "apt, pip and npm on every instance trust it: whoever holds its key can impersonate any HTTPS site to the appliance";
const PROXY_WHY: &str = "package downloads on every instance go to the build network's proxy (or fail where it is unreachable)";

/// SHA-256 fingerprints (hex) of the certificates in PEM `text`.
pub fn cert_fingerprints(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(BEGIN) {
        let body = &rest[b + BEGIN.len()..];
        let Some(e) = body.find(END) else { break };
        let b64: String = body[..e].split_whitespace().collect();
        if let Ok(der) = STANDARD.decode(b64) {
            out.push(hex::encode(Sha256::digest(der)));
        }
        rest = &body[e + END.len()..];
    }
    out
}

/// Proxy URLs set in apt configuration text (`Acquire::http::Proxy "…"`,
/// also in block form); `DIRECT` and `false` are no proxy.
pub fn apt_proxies(text: &str) -> Vec<String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)\bproxy(?:::[^\s"]+)?\s+"([^"]*)""#).expect("valid regex")
    });
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(strip_apt_comment)
        .collect::<Vec<_>>()
        .join("\n");
    RE.captures_iter(&code)
        .map(|c| c[1].to_owned())
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("DIRECT") && v != "false")
        .map(|v| mask_url(&v))
        .collect()
}

/// An apt.conf line without its `//` comment (a `//` inside quotes is part
/// of a value, as in `"http://proxy"`).
fn strip_apt_comment(line: &str) -> &str {
    let mut quoted = false;
    let b = line.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'"' => quoted = !quoted,
            b'/' if !quoted && b.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Values of `keys` in `key = value` / `key=value` text (ini, npmrc, env),
/// comments left out.
pub fn settings(text: &str, keys: &[&str]) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            let v = v.trim().trim_matches(['"', '\'']);
            (keys.iter().any(|x| x.eq_ignore_ascii_case(k))
                && !v.is_empty()
                && v != "null"
                && v != "false")
                .then(|| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// A URL with any `user:password@` replaced by `***@`.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_owned(),
    }
}

fn check_cas(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let mut local = HashSet::new();
    let mut files = Vec::new();
    ctx.root.walk(LOCAL_CAS, &mut |p, m| {
        if m.kind == Kind::File && p.ends_with(".crt") {
            files.push(p.to_owned());
        }
        Ok(Walk::Descend)
    })?;
    for path in files {
        let fps = cert_fingerprints(&ctx.root.read_text(&path)?.unwrap_or_default());
        let what = if path == VMBUILD_CA {
            "vmbuild's extra CA file (the build network's CA)"
        } else {
            "an extra CA file"
        };
        out.add(Finding::new(
            FindingKind::BuildCa,
            &path,
            format!(
                "{what}: {} certificate(s), SHA-256 {}",
                fps.len(),
                fps.join(", ")
            ),
            CA_WHY,
        ));
        local.extend(fps);
    }
    let Some(bundle) = ctx.root.read_text(BUNDLE)? else {
        return Ok(());
    };
    let mut package = HashSet::new();
    let mut pkg_files = Vec::new();
    ctx.root.walk(PACKAGE_CAS, &mut |p, m| {
        if m.kind == Kind::File && p.ends_with(".crt") {
            pkg_files.push(p.to_owned());
        }
        Ok(Walk::Descend)
    })?;
    for p in pkg_files {
        package.extend(cert_fingerprints(
            &ctx.root.read_text(&p)?.unwrap_or_default(),
        ));
    }
    if package.is_empty() {
        // without Debian's CA files there is nothing to tell extras from
        return Ok(());
    }
    let strays: Vec<String> = cert_fingerprints(&bundle)
        .into_iter()
        .filter(|f| !package.contains(f) && !local.contains(f))
        .collect();
    if !strays.is_empty() {
        out.add(Finding::new(
            FindingKind::BuildCa,
            BUNDLE,
            format!(
                "{} trusted certificate(s) from no CA file (removed without `update-ca-certificates --fresh`), SHA-256 {}",
                strays.len(),
                first_few(&strays)
            ),
            CA_WHY,
        ));
    }
    Ok(())
}

/// Up to three fingerprints, then how many more.
fn first_few(fps: &[String]) -> String {
    let mut s = fps.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if fps.len() > 3 {
        s.push_str(&format!(" and {} more", fps.len() - 3));
    }
    s
}

fn proxy_finding(path: &str, what: &str, proxies: &[String]) -> Finding {
    Finding::new(
        FindingKind::BuildProxy,
        path,
        format!("{what}: {}", proxies.join(", ")),
        PROXY_WHY,
    )
}

fn check_apt(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let mut paths = vec!["/etc/apt/apt.conf".to_owned()];
    for (name, m) in ctx.root.list("/etc/apt/apt.conf.d")? {
        if m.kind == Kind::File {
            paths.push(join("/etc/apt/apt.conf.d", &name));
        }
    }
    for p in paths {
        let Some(text) = ctx.root.read_text(&p)? else {
            continue;
        };
        let proxies = apt_proxies(&text);
        if p == VMBUILD_APT_PROXY {
            out.add(proxy_finding(
                &p,
                "vmbuild's build-time apt proxy file",
                &proxies,
            ));
        } else if !proxies.is_empty() {
            out.add(proxy_finding(&p, "apt proxy", &proxies));
        }
    }
    Ok(())
}

fn check_settings(
    ctx: &Context<'_>,
    paths: &[String],
    keys: &[&str],
    what: &str,
    out: &mut Findings,
) -> Result<(), AuditError> {
    for p in paths {
        let Some(text) = ctx.root.read_text(p)? else {
            continue;
        };
        let found: Vec<String> = settings(&text, keys)
            .into_iter()
            .map(|(k, v)| format!("{k} = {}", mask_url(&v)))
            .collect();
        if !found.is_empty() {
            out.add(proxy_finding(p, what, &found));
        }
    }
    Ok(())
}

/// The CA and proxy detector.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    check_cas(ctx, out)?;
    check_apt(ctx, out)?;
    let homes = ctx.homes();
    let mut pip: Vec<String> = ["/etc/pip.conf", "/etc/xdg/pip/pip.conf"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for (name, _) in ctx.root.list("/opt/tljh")? {
        pip.push(format!("/opt/tljh/{name}/pip.conf"));
    }
    let mut npm: Vec<String> = [
        "/usr/local/etc/npmrc",
        "/etc/npmrc",
        "/usr/lib/node_modules/npm/npmrc",
        "/usr/local/lib/node_modules/npm/npmrc",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for h in &homes {
        pip.push(join(h, ".pip/pip.conf"));
        pip.push(join(h, ".config/pip/pip.conf"));
        npm.push(join(h, ".npmrc"));
    }
    check_settings(ctx, &pip, &["proxy"], "pip proxy", out)?;
    check_settings(
        ctx,
        &npm,
        &["proxy", "https-proxy", "http-proxy"],
        "npm proxy",
        out,
    )?;
    let mut env = vec!["/etc/environment".to_owned()];
    for (name, m) in ctx.root.list("/etc/profile.d")? {
        if m.kind == Kind::File {
            env.push(join("/etc/profile.d", &name));
        }
    }
    check_settings(
        ctx,
        &env,
        &["http_proxy", "https_proxy", "ftp_proxy", "all_proxy"],
        "proxy in the environment",
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_proxies_in_both_forms_masked() {
        let text = "Acquire::http::Proxy \"http://10.0.2.2:3128\";\n// Acquire::ftp::Proxy \"http://old\";\nAcquire::https::Proxy \"http://user:pw@proxy:8080/\";\nAcquire::http::Proxy::deb.debian.org \"DIRECT\";\nAcquire { http { Proxy \"http://blk:1\"; }; };\n";
        assert_eq!(
            apt_proxies(text),
            [
                "http://10.0.2.2:3128",
                "http://***@proxy:8080/",
                "http://blk:1"
            ]
        );
        assert!(apt_proxies("APT::Periodic::Update-Package-Lists \"1\";\n").is_empty());
    }

    #[test]
    fn ini_npmrc_and_env_settings() {
        let pip =
            "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\nproxy = http://10.0.2.2:3128\n";
        assert_eq!(
            settings(pip, &["proxy"]),
            [("proxy".into(), "http://10.0.2.2:3128".into())]
        );
        let npm = "cafile=/etc/ssl/certs/ca-certificates.crt\nhttps-proxy=http://p:1\nproxy=null\n";
        assert_eq!(
            settings(npm, &["proxy", "https-proxy"]),
            [("https-proxy".into(), "http://p:1".into())]
        );
        let env = "PATH=/usr/bin\nexport HTTPS_PROXY=\"http://p:2\"\n# http_proxy=http://old\n";
        assert_eq!(
            settings(env, &["https_proxy", "http_proxy"]),
            [("HTTPS_PROXY".into(), "http://p:2".into())]
        );
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(mask_url("http://u:p@h:1/x@y"), "http://***@h:1/x@y");
        assert_eq!(mask_url("http://h:1"), "http://h:1");
        assert_eq!(mask_url("plain"), "plain");
    }
}
