//! Package caches: apt's downloaded packages and binary caches, pip, npm
//! and uv caches in every home and under /var/cache. Not secret, but they
//! make every instance carry the build's downloads.
use super::Context;
use crate::audit::error::AuditError;
use crate::audit::finding::{Finding, FindingKind, Findings, human_size};
use crate::audit::root::{Kind, join};

const WHY: &str =
    "the build's downloads make every copy of the image bigger, and pin stale package versions";

/// Caches below a home.
const HOME_CACHES: [(&str, &str); 5] = [
    (".cache/pip", "pip cache"),
    (".npm", "npm cache"),
    (".cache/uv", "uv cache"),
    (".local/share/uv/cache", "uv cache"),
    (".cache/yarn", "yarn cache"),
];

/// Caches elsewhere.
const SYSTEM_CACHES: [(&str, &str); 3] = [
    ("/var/cache/pip", "pip cache"),
    ("/var/cache/uv", "uv cache"),
    ("/var/cache/npm", "npm cache"),
];

fn cache(ctx: &Context<'_>, path: &str, what: &str, out: &mut Findings) -> Result<(), AuditError> {
    let (size, files) = ctx.root.du(path)?;
    if files > 0 {
        out.add(
            Finding::new(
                FindingKind::PackageCache,
                path,
                format!("{what}: {files} file(s), {}", human_size(size)),
                WHY,
            )
            .with_size(size),
        );
    }
    Ok(())
}

/// The cache detector.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let mut debs = (0u64, 0u64);
    for dir in ["/var/cache/apt/archives", "/var/cache/apt/archives/partial"] {
        for (name, m) in ctx.root.list(dir)? {
            if m.kind == Kind::File && name.ends_with(".deb") {
                debs.0 += m.size;
                debs.1 += 1;
            }
        }
    }
    if debs.1 > 0 {
        out.add(
            Finding::new(
                FindingKind::PackageCache,
                "/var/cache/apt/archives",
                format!(
                    "apt: {} downloaded .deb file(s), {}",
                    debs.1,
                    human_size(debs.0)
                ),
                WHY,
            )
            .with_size(debs.0),
        );
    }
    let bins: u64 = ctx
        .root
        .list("/var/cache/apt")?
        .iter()
        .filter(|(n, m)| m.kind == Kind::File && n.ends_with(".bin"))
        .map(|(_, m)| m.size)
        .sum();
    if bins > 0 {
        out.add(
            Finding::new(
                FindingKind::PackageCache,
                "/var/cache/apt",
                format!("apt's binary package caches (*.bin), {}", human_size(bins)),
                WHY,
            )
            .with_size(bins),
        );
    }
    for (path, what) in SYSTEM_CACHES {
        cache(ctx, path, what, out)?;
    }
    for home in ctx.homes() {
        for (rel, what) in HOME_CACHES {
            cache(ctx, &join(&home, rel), what, out)?;
        }
    }
    Ok(())
}
