//! How a `pip.packages` install runs on the host: with uv (pinned below,
//! its wheel checked against PyPI's sha256), which unpacks on every CPU where
//! pip uses one, then a byte-compile on every CPU (`compileall -j 0`) instead
//! of pip's single-threaded one. Measured on one TCG guest (2 vCPUs, a busy
//! 2-core host), the user venv with numpy/pandas/scipy/matplotlib from the
//! same local wheels: pip 2202 s; pip --no-compile 744 s + compileall 584 s;
//! uv unpacking ~120 s. Hosts uv has no wheel for use pip --no-compile.
//!
//! Either way the venv ends up byte-compiled: users cannot write to it, so
//! a missing .pyc would be compiled again at every kernel start. Test
//! suites inside packages (`tests/` dirs) are left uncompiled: nobody
//! imports them when working, and they are ~30% of the source.
//!
//! uv is kept under /var/cache/vmbuild (which the export cleanup empties),
//! not in the venv. The package cache's index, when provisioning has one,
//! comes from `/run/vmbuild/cache.env` (see `crate::cache::guest`).
use crate::remote::RemoteCommand;

/// The uv release used.
pub const UV_VERSION: &str = "0.13.8";

/// pip, put into every venv uv creates (users and JupyterLab's extension
/// manager expect `python -m pip`).
pub const PIP_SEED: &str = "pip==26.3";

/// uv's wheels on PyPI: (`uname -m`, path under files.pythonhosted.org, sha256).
pub const UV_WHEELS: &[(&str, &str, &str)] = &[
    (
        "x86_64",
        "packages/c5/32/52ee34636aea1ab3f8baeeae1c3599461b8cddfb379862cc72ac61b8d91c/uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984",
    ),
    (
        "aarch64",
        "packages/80/ce/f5eba24d8ec7fa566f9d50d1a69dbf9510137c30366b9f16dbeaf9b9dae4/uv-0.13.8-py3-none-manylinux_2_28_aarch64.whl",
        "5337c30bb893b4f9ce0ceb921ba2da0d13f649da644f40ad3bef84083bef0203",
    ),
];

/// Fetch a uv wheel (`$1` URL, `$2` sha256), check it, and unpack its `uv`
/// binary to `$3` (atomically). Python's standard library only: the base
/// system has python3 but maybe neither curl nor pip.
const FETCH_UV: &str = r#"import hashlib, io, os, sys, urllib.request, zipfile
url, sha, dest = sys.argv[1:4]
data = urllib.request.urlopen(url, timeout=300).read()
got = hashlib.sha256(data).hexdigest()
if got != sha:
    sys.exit(f"{url}: sha256 is {got}, expected {sha}")
with zipfile.ZipFile(io.BytesIO(data)) as z:
    name = next(n for n in z.namelist() if n.endswith(".data/scripts/uv"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".tmp", "wb") as f:
        f.write(z.read(name))
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
"#;

/// The install script: `$1` venv, `$2` interpreter, `$3` the uv wheel table
/// (`arch path sha256` lines), `$4` the fetch program, then requirements.
const SCRIPT: &str = r#"set -eu
v=$1; py=$2; wheels=$3; fetch=$4; shift 4
if [ -r /run/vmbuild/cache.env ]; then . /run/vmbuild/cache.env; fi
# pip's configured proxy (recipes/10-base.toml) applies to uv as well
p=$(sed -n 's/^proxy *= *//p' /etc/pip.conf 2>/dev/null | head -n 1)
if [ -n "$p" ]; then export HTTPS_PROXY="$p" HTTP_PROXY="$p"; fi
export UV_NATIVE_TLS=1 UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
uv=/var/cache/vmbuild/uv-VERSION/uv
m=$(uname -m)
path=$(printf '%s\n' "$wheels" | awk -v m="$m" '$1 == m { print $2 }')
sha=$(printf '%s\n' "$wheels" | awk -v m="$m" '$1 == m { print $3 }')
if [ ! -x "$uv" ] && [ -n "$path" ]; then
    if [ -n "${UV_DEFAULT_INDEX:-}" ]; then url="${UV_DEFAULT_INDEX%/simple/}/files/$sha/$path"
    else url="https://files.pythonhosted.org/$path"; fi
    "$py" -c "$fetch" "$url" "$sha" "$uv"
fi
# uv does not read pip's configuration: where a pip.conf says more than uv
# does anyway (the proxy above; the system CA store, as uv's native TLS; no
# version check) -- a constraint, an index, ... -- pip installs, so that it
# is honoured
conf=$(cat /etc/pip.conf /etc/xdg/pip/pip.conf "$v/pip.conf" 2>/dev/null |
    grep -Ev '^[[:space:]]*([#;[]|$)' |
    grep -Ev '^[[:space:]]*(proxy|disable-pip-version-check|timeout)[[:space:]]*=' |
    grep -Evx '[[:space:]]*cert[[:space:]]*=[[:space:]]*/etc/ssl/certs/ca-certificates.crt[[:space:]]*' || true)
if [ -x "$uv" ] && [ -z "$conf" ]; then
    if [ ! -x "$v/bin/python" ]; then
        "$uv" venv -q --no-cache --allow-existing --python "$py" "$v"
        # as `python3 -m venv` makes it: backup tools skip CACHEDIR.TAG dirs
        rm -f "$v/CACHEDIR.TAG"
        set -- "$@" "PIP_SEED"
    fi
    "$uv" pip install -q --no-cache --python "$v/bin/python" "$@"
else
    [ -x "$v/bin/python" ] || "$py" -m venv "$v"
    # pip's own configuration decides the index (PIP_INDEX_URL would
    # override a pip.conf's), so the package cache stays out of this path
    env -u PIP_INDEX_URL -u PIP_TRUSTED_HOST \
        "$v/bin/python" -m pip install -q --disable-pip-version-check --no-compile "$@"
fi
# on every CPU; files already compiled are skipped; test suites are not
# compiled (about 30% of the source in numpy, scipy, pandas, matplotlib)
exec "$v/bin/python" -m compileall -q -j 0 -x '/tests?/' "$v/lib" >/dev/null
"#;

/// Create the venv if needed, then one install of all `packages`.
pub fn install_cmd(venv: &str, python: &str, packages: &[String]) -> RemoteCommand {
    let wheels: String = UV_WHEELS
        .iter()
        .map(|(arch, path, sha)| format!("{arch} {path} {sha}\n"))
        .collect();
    let script = SCRIPT
        .replace("VERSION", UV_VERSION)
        .replace("PIP_SEED", PIP_SEED);
    RemoteCommand::new("sh")
        .args(["-c", &script, "vmbuild-pip", venv, python])
        .arg(wheels)
        .arg(FETCH_UV)
        .args(packages.iter().cloned())
        .idempotent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_match_the_version() {
        for (_, path, sha) in UV_WHEELS {
            assert!(path.contains(&format!("/uv-{UV_VERSION}-")), "{path}");
            assert_eq!(sha.len(), 64);
        }
    }

    #[test]
    fn command_line() {
        let c = install_cmd("/opt/v", "python3", &["six==1.17.0".into()]);
        let s = c.to_shell();
        assert!(s.starts_with("sh -c 'set -eu"), "{s}");
        assert!(s.contains("/var/cache/vmbuild/uv-0.13.8/uv"), "{s}");
        assert!(s.contains(" vmbuild-pip /opt/v python3 "), "{s}");
        assert!(s.ends_with(" six==1.17.0"), "{s}");
        assert!(c.is_idempotent());
    }
}
