//! The batched fact script: one `sh` program that runs every fact snippet and
//! prints each one's stdout, stderr and exit status between marker lines
//! carrying a per-run nonce (so file contents cannot forge a marker).
use std::collections::HashMap;

use super::{FactError, FactOutput, FactQuery, Facts};
use crate::remote::escape::quote;

/// Where `npm install -g` puts packages on Debian (prefix `/usr/local`).
pub const NPM_ROOT: &str = "/usr/local/lib/node_modules";

/// The shell snippet answering `q`. Every user-supplied word is quoted.
pub fn snippet(q: &FactQuery) -> String {
    match q {
        FactQuery::Path(p) => {
            let p = quote(p);
            format!(
                "if [ -e {p} ] || [ -L {p} ]; then stat -c '%F|%a|%U|%G|%s' -- {p}; \
                 if [ -L {p} ]; then printf 'link|'; readlink -- {p}; \
                 elif [ -f {p} ]; then printf 'sha256|'; sha256sum < {p}; fi; \
                 else echo absent; fi"
            )
        }
        FactQuery::Content(p) => {
            let p = quote(p);
            format!("if [ -f {p} ]; then printf 'b64|'; base64 -w0 < {p}; else echo absent; fi")
        }
        FactQuery::Dpkg => {
            "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'".to_owned()
        }
        // now; when the lists were last fetched (the newest list file, or
        // the update-success stamp vmbuild and APT::Periodic touch; nothing
        // when there are no lists); when the sources last changed
        FactQuery::AptLists => "date +%s; l=$(for f in /var/lib/apt/lists/*_Packages*; do \
             [ -e \"$f\" ] && stat -c %.3Y \"$f\"; done | sort -n | tail -1); \
             if [ -n \"$l\" ]; then { echo \"$l\"; \
             stat -c %.3Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null; } | sort -n | tail -1; fi; \
             for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do \
             [ -e \"$f\" ] && stat -c 'sources %.3Y' \"$f\"; done | sort -n -k2 | tail -1"
            .to_owned(),
        FactQuery::User(u) => {
            let u = quote(u);
            format!("getent passwd {u} && printf 'groups|%s\\n' \"$(id -Gn {u})\"")
        }
        FactQuery::Group(g) => format!("getent group {}", quote(g)),
        FactQuery::Systemd(unit) => {
            let u = quote(unit);
            format!(
                "printf 'pid1|%s\\n' \"$(cat /proc/1/comm)\"; \
                 if command -v systemctl >/dev/null; then \
                 printf 'enabled|%s\\n' \"$(systemctl --root=/ is-enabled {u} 2>/dev/null)\"; \
                 if [ -d /run/systemd/system ]; then systemctl show -p LoadState,ActiveState,SubState {u}; fi; \
                 else echo 'systemctl|absent'; fi"
            )
        }
        FactQuery::Pip(venv) => {
            // reading the metadata directory names is ~100x faster than
            // `pip list` (which starts an interpreter and imports pip)
            let v = quote(venv).into_owned();
            format!(
                "if [ -x {v}/bin/python ]; then echo venv; \
                 for d in {v}/lib/python3*/site-packages/*.dist-info {v}/lib/python3*/site-packages/*.egg-info; do \
                 if [ -e \"$d\" ]; then echo \"${{d##*/}}\"; fi; done; else echo absent; fi"
            )
        }
        // npm and Rscript take 0.3-1 s to start; reading the metadata files
        // of the installed packages with one awk is ~100x faster
        FactQuery::Npm => format!(
            "if command -v npm >/dev/null; then echo npm; set --; \
             for f in {NPM_ROOT}/*/package.json {NPM_ROOT}/@*/*/package.json; do \
             if [ -e \"$f\" ]; then set -- \"$@\" \"$f\"; fi; done; \
             if [ $# -gt 0 ]; then awk 'FNR == 1 {{ n = FILENAME; sub(\"^{NPM_ROOT}/\", \"\", n); sub(\"/package.json$\", \"\", n) }} \
             match($0, /\"version\"[ \\t]*:[ \\t]*\"[^\"]*\"/) {{ v = substr($0, RSTART, RLENGTH); \
             sub(/^\"version\"[ \\t]*:[ \\t]*\"/, \"\", v); sub(/\"$/, \"\", v); print n \"\\t\" v; nextfile }}' \"$@\"; fi; \
             else echo absent; fi"
        ),
        FactQuery::RPackages => "if command -v Rscript >/dev/null; then echo R; set --; \
             for f in /usr/lib/R/library/*/DESCRIPTION /usr/lib/R/site-library/*/DESCRIPTION \
             /usr/local/lib/R/site-library/*/DESCRIPTION; do \
             if [ -e \"$f\" ]; then set -- \"$@\" \"$f\"; fi; done; \
             if [ $# -gt 0 ]; then awk 'FNR == 1 { p = \"\" } /^Package:/ { p = $2 } \
             /^Version:/ { print p \"\\t\" $2; nextfile }' \"$@\"; fi; \
             else echo absent; fi"
            .to_owned(),
        FactQuery::Mount(p) => format!(
            "findmnt -J -o TARGET,SOURCE,FSTYPE,OPTIONS --mountpoint {} || true",
            quote(p)
        ),
        FactQuery::Sysctl(key) => {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            format!("cat {}", quote(&path))
        }
        FactQuery::Hostname => "uname -n".to_owned(),
        FactQuery::Locales => "locale -a 2>/dev/null || true".to_owned(),
        FactQuery::Guard { command, user } => {
            let run = match user {
                Some(u) => format!("su -s /bin/sh -c {} {}", quote(command), quote(u)),
                None => format!("sh -c {}", quote(command)),
            };
            format!("{run} >/dev/null 2>&1 </dev/null; echo $?")
        }
    }
}

/// One `sh` program that answers all `queries`, delimited with `nonce`.
/// Snippets run in `{ }` groups, not subshells: forks are what a no-op run
/// costs, so the script avoids every process it can.
pub fn batch_script(queries: &[FactQuery], nonce: &str) -> String {
    let mut s = String::from("export LC_ALL=C\nE=$(mktemp) || exit 97\n");
    let paths = path_args(queries);
    if !paths.is_empty() {
        s.push_str(&super::paths::paths_script(&paths, nonce));
    }
    for (i, q) in queries.iter().enumerate() {
        if matches!(q, FactQuery::Path(_)) {
            continue;
        }
        s.push_str(&format!(
            "printf '%s\\n' '{nonce} {i} out'\n{{ {}\n}} 2>\"$E\" </dev/null\nrc=$?\n\
             printf '\\n%s\\n' '{nonce} {i} err'\nif [ -s \"$E\" ]; then cat \"$E\"; : >\"$E\"; fi\n\
             printf '\\n%s %d\\n' '{nonce} {i} rc' \"$rc\"\n",
            snippet(q)
        ));
    }
    s.push_str("rm -f \"$E\"\n");
    s
}

fn path_args(queries: &[FactQuery]) -> Vec<&str> {
    queries
        .iter()
        .filter_map(|q| match q {
            FactQuery::Path(p) => Some(p.as_str()),
            _ => None,
        })
        .collect()
}

/// Split the batch script's output back into one [`FactOutput`] per query.
pub fn parse_batch(queries: &[FactQuery], nonce: &str, out: &str) -> Result<Facts, FactError> {
    let paths = path_args(queries);
    let mut map = if paths.is_empty() {
        HashMap::new()
    } else {
        super::paths::parse_paths(&paths, nonce, out)?
    };
    let mut rest = out;
    for (i, q) in queries.iter().enumerate() {
        if matches!(q, FactQuery::Path(_)) {
            continue;
        }
        let start = format!("{nonce} {i} out\n");
        let err = format!("\n{nonce} {i} err\n");
        let rc = format!("\n{nonce} {i} rc ");
        let bad = |what: &str| {
            FactError::parse(
                format!("{q:?}"),
                format!("the fact script's output is cut short ({what} missing)"),
            )
        };
        let a = rest.find(&start).ok_or_else(|| bad("start"))? + start.len();
        let b = rest[a..].find(&err).ok_or_else(|| bad("stderr marker"))? + a;
        let c = rest[b..].find(&rc).ok_or_else(|| bad("status marker"))? + b;
        let line_end = rest[c + rc.len()..]
            .find('\n')
            .map_or(rest.len(), |e| e + c + rc.len());
        let status = rest[c + rc.len()..line_end]
            .trim()
            .parse::<i32>()
            .map_err(|_| bad("status"))?;
        map.insert(
            q.clone(),
            FactOutput {
                stdout: rest[a..b].to_owned(),
                stderr: rest[b + err.len()..c].to_owned(),
                rc: status,
            },
        );
        rest = &rest[line_end..];
    }
    Ok(Facts::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the real script with the machine's `sh` (no remote needed).
    fn run_local(queries: &[FactQuery]) -> Facts {
        let script = batch_script(queries, "N0NCE");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        parse_batch(queries, "N0NCE", &String::from_utf8_lossy(&out.stdout)).unwrap()
    }

    #[test]
    fn sections_round_trip_through_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a b");
        std::fs::write(&f, "x\nN0NCE 1 out\n").unwrap();
        let p = f.to_str().unwrap().to_owned();
        let qs = vec![
            FactQuery::Content(p.clone()),
            FactQuery::Path(p.clone()),
            FactQuery::Path(format!("{p}-missing")),
            FactQuery::Guard {
                command: "echo hi >&2; exit 3".into(),
                user: None,
            },
        ];
        let facts = run_local(&qs);
        let c = facts.raw(&qs[0]).unwrap();
        assert!(c.stdout.starts_with("b64|"), "{c:?}");
        let p = facts.raw(&qs[1]).unwrap();
        assert!(p.stdout.starts_with("regular file|644|"), "{p:?}");
        assert!(p.stdout.contains("sha256|"), "{p:?}");
        assert_eq!(facts.raw(&qs[2]).unwrap().stdout, "absent\n");
        assert_eq!(facts.raw(&qs[3]).unwrap().stdout, "3\n");
    }

    #[test]
    fn npm_and_r_snippets_read_real_metadata_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_str().unwrap();
        for (dir, file, text) in [
            (
                "chp",
                "package.json",
                "{\n  \"name\": \"chp\",\n  \"version\": \"5.3.0\",\n  \"x\": {\"version\": \"9\"}\n}\n",
            ),
            (
                "@scope/pkg",
                "package.json",
                "{\"name\":\"@scope/pkg\",\"version\":\"1.0.0\"}",
            ),
            (
                "IRkernel",
                "DESCRIPTION",
                "Package: IRkernel\nTitle: x\nVersion: 1.3.2\n",
            ),
        ] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
            std::fs::write(d.path().join(dir).join(file), text).unwrap();
        }
        let run = |script: String| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let npm = snippet(&FactQuery::Npm)
            .replace(NPM_ROOT, root)
            .replace("command -v npm", "true");
        let npm = run(npm);
        assert_eq!(npm, "npm\nchp\t5.3.0\n@scope/pkg\t1.0.0\n");
        let r = snippet(&FactQuery::RPackages)
            .replace("/usr/lib/R/library", root)
            .replace("command -v Rscript", "true");
        assert_eq!(run(r), "R\nIRkernel\t1.3.2\n");
    }

    #[test]
    fn truncated_output_is_an_error() {
        let qs = vec![FactQuery::Hostname];
        assert!(parse_batch(&qs, "N", "N 0 out\nhost\n").is_err());
    }
}
