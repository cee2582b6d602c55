//! What a request to the cache asks for (pure): a Debian file through the
//! apt proxy, a PyPI project page or file, or an npm document or tarball.
//! Only the configured Debian mirrors, PyPI and the npm registry are ever
//! fetched: the cache is no open proxy into the host's network.

/// PyPI's simple index (PEP 691 JSON is asked for).
pub const PYPI_SIMPLE: &str = "https://pypi.org/simple/";
/// Where PyPI keeps the files its index lists.
pub const PYPI_FILES: &str = "https://files.pythonhosted.org/";
/// The npm registry.
pub const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

/// A request, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A Debian file that never changes under its name (`pool/`, `by-hash/`):
    /// served from the store, fetched once.
    AptFile {
        /// Upstream URL.
        url: String,
        /// Store key.
        key: String,
    },
    /// Other Debian files (Release, index files by name): relayed, not kept.
    AptRelay {
        /// Upstream URL.
        url: String,
    },
    /// A PyPI project page, rewritten so its files come from the cache.
    PypiProject {
        /// The normalised project name.
        project: String,
    },
    /// A file PyPI lists with this sha256.
    PypiFile {
        /// Upstream URL.
        url: String,
        /// The sha256 the index gave (hex, lower case).
        sha256: String,
        /// Store key.
        key: String,
    },
    /// The metadata file of a wheel PyPI lists (PEP 658).
    PypiMetadata {
        /// Upstream URL.
        url: String,
        /// Store key.
        key: String,
    },
    /// An npm package document, rewritten so its tarballs come from the cache.
    NpmPackage {
        /// Upstream URL.
        url: String,
    },
    /// An npm tarball (immutable once published; npm checks its integrity).
    NpmTarball {
        /// Upstream URL.
        url: String,
        /// Store key.
        key: String,
    },
    /// Refused, with the reason (answered 403).
    Refused(String),
}

/// Classify `target`; `apt_hosts` are the Debian mirrors the guest's apt is
/// sent here for (`host` or `host:port`).
pub fn route(target: &str, apt_hosts: &[String]) -> Route {
    if let Some(rest) = target.strip_prefix("http://") {
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if !apt_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return Route::Refused(format!("`{host}` is not a configured Debian mirror"));
        }
        if !safe_path(path) {
            return Route::Refused(format!("unusual path `{path}`"));
        }
        let url = format!("http://{host}{path}");
        let immutable = path.contains("/pool/") || path.contains("/by-hash/");
        return if immutable {
            Route::AptFile {
                key: format!("apt/{}{path}", host.to_ascii_lowercase()),
                url,
            }
        } else {
            Route::AptRelay { url }
        };
    }
    if let Some(rest) = target.strip_prefix("/pypi/simple/") {
        let project = rest.trim_end_matches('/');
        if project.is_empty()
            || !project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Route::Refused(format!("not a project name: `{project}`"));
        }
        return Route::PypiProject {
            project: normalize(project),
        };
    }
    if let Some(rest) = target.strip_prefix("/pypi/files/") {
        let Some((sha, path)) = rest.split_once('/') else {
            return Route::Refused("no file path".into());
        };
        let sha = sha.to_ascii_lowercase();
        if sha.len() != 64
            || !sha.chars().all(|c| c.is_ascii_hexdigit())
            || !safe_path(&format!("/{path}"))
        {
            return Route::Refused(format!("not a PyPI file: `{rest}`"));
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.ends_with(".whl.metadata") {
            // PEP 658 metadata of the wheel with that sha256; the installer
            // checks it against the hash the page gave
            return Route::PypiMetadata {
                url: format!("{PYPI_FILES}{path}"),
                key: format!("pypi/{sha}/{name}"),
            };
        }
        return Route::PypiFile {
            url: format!("{PYPI_FILES}{path}"),
            key: format!("pypi/{sha}/{name}"),
            sha256: sha,
        };
    }
    if let Some(rest) = target.strip_prefix("/npm/") {
        if !safe_path(&format!("/{rest}")) || rest.is_empty() {
            return Route::Refused(format!("not an npm package: `{rest}`"));
        }
        let url = format!("{NPM_REGISTRY}{rest}");
        return if rest.contains("/-/") && rest.ends_with(".tgz") {
            Route::NpmTarball {
                key: format!("npm/{}", rest.replace("%2f", "/").replace("%2F", "/")),
                url,
            }
        } else {
            Route::NpmPackage { url }
        };
    }
    Route::Refused(format!("nothing is served at `{target}`"))
}

/// PEP 503 name normalisation.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if "_.".contains(c) {
            '-'
        } else {
            c.to_ascii_lowercase()
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// An absolute path of plain segments: no `..`, no query, no odd bytes
/// (keys are file names in the store).
fn safe_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && path
            .split('/')
            .all(|s| s != ".." && s != "." && !s.starts_with('.'))
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.+~%@:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrors() -> Vec<String> {
        vec!["deb.debian.org".into()]
    }

    #[test]
    fn apt() {
        let deb = "http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1%2bb1_amd64.deb";
        assert_eq!(
            route(deb, &mirrors()),
            Route::AptFile {
                url: deb.into(),
                key: "apt/deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1%2bb1_amd64.deb"
                    .into()
            }
        );
        let by_hash =
            "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/ab12";
        assert!(matches!(route(by_hash, &mirrors()), Route::AptFile { .. }));
        let release = "http://deb.debian.org/debian/dists/bookworm/InRelease";
        assert_eq!(
            route(release, &mirrors()),
            Route::AptRelay {
                url: release.into()
            }
        );
    }

    #[test]
    fn no_open_proxy() {
        for t in [
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:8080/admin",
            "http://deb.debian.org.evil/debian/pool/x.deb",
            "http://deb.debian.org/debian/pool/../../etc/passwd",
            "http://deb.debian.org/debian/pool/x.deb?x=1",
            "/pypi/files/abc/x.whl",
            "/pypi/files/0000000000000000000000000000000000000000000000000000000000000000/../x",
            "/npm/../x",
            "/etc/passwd",
            "https://pypi.org/",
        ] {
            assert!(matches!(route(t, &mirrors()), Route::Refused(_)), "{t}");
        }
    }

    #[test]
    fn pypi() {
        assert_eq!(
            route("/pypi/simple/Jupyter_Server/", &[]),
            Route::PypiProject {
                project: "jupyter-server".into()
            }
        );
        let sha = "a".repeat(64);
        assert_eq!(
            route(
                &format!("/pypi/files/{sha}/packages/ab/cd/six-1.17.0-py2.py3-none-any.whl"),
                &[]
            ),
            Route::PypiFile {
                url:
                    "https://files.pythonhosted.org/packages/ab/cd/six-1.17.0-py2.py3-none-any.whl"
                        .into(),
                sha256: sha.clone(),
                key: format!("pypi/{sha}/six-1.17.0-py2.py3-none-any.whl"),
            }
        );
    }

    #[test]
    fn wheel_metadata() {
        let sha = "b".repeat(64);
        assert_eq!(
            route(
                &format!("/pypi/files/{sha}/packages/ab/x-1-py3-none-any.whl.metadata"),
                &[]
            ),
            Route::PypiMetadata {
                url: "https://files.pythonhosted.org/packages/ab/x-1-py3-none-any.whl.metadata"
                    .into(),
                key: format!("pypi/{sha}/x-1-py3-none-any.whl.metadata"),
            }
        );
    }

    #[test]
    fn npm() {
        assert_eq!(
            route("/npm/configurable-http-proxy", &[]),
            Route::NpmPackage {
                url: "https://registry.npmjs.org/configurable-http-proxy".into()
            }
        );
        assert_eq!(
            route("/npm/@types/node/-/node-20.1.0.tgz", &[]),
            Route::NpmTarball {
                url: "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz".into(),
                key: "npm/@types/node/-/node-20.1.0.tgz".into()
            }
        );
        assert!(matches!(
            route("/npm/@types%2fnode", &[]),
            Route::NpmPackage { .. }
        ));
    }

    #[test]
    fn names() {
        assert_eq!(normalize("Foo.Bar__baz"), "foo-bar-baz");
    }
}
