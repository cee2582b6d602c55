//! Path facts for the whole batch at once: one `stat`, one `sha256sum` and a
//! `readlink` per symlink, instead of three processes per path. The result
//! is split back into one [`FactQuery::Path`] answer per path, in the format
//! [`super::files::parse_path`] reads.
use std::collections::HashMap;

use super::{FactError, FactOutput, FactQuery};
use crate::remote::escape::quote;

/// The script section answering every path in `paths`.
pub fn paths_script(paths: &[&str], nonce: &str) -> String {
    let list = paths
        .iter()
        .map(|p| quote(p).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "printf '%s\\n' '{nonce} paths stat'\n\
         stat -c '%F|%a|%U|%G|%s|%n' -- {list} 2>/dev/null </dev/null\n\
         printf '\\n%s\\n' '{nonce} paths sha'\n\
         set --; for p in {list}; do if [ -f \"$p\" ] && [ ! -L \"$p\" ]; then set -- \"$@\" \"$p\"; fi; done\n\
         if [ $# -gt 0 ]; then sha256sum -- \"$@\" 2>/dev/null </dev/null; fi\n\
         printf '\\n%s\\n' '{nonce} paths link'\n\
         for p in {list}; do if [ -L \"$p\" ]; then printf '%s{nonce}' \"$p\"; readlink -- \"$p\" </dev/null; fi; done\n\
         printf '\\n%s\\n' '{nonce} paths end'\n"
    )
}

fn section<'a>(out: &'a str, nonce: &str, name: &str, next: &str) -> Result<&'a str, FactError> {
    let start = format!("{nonce} paths {name}\n");
    let end = format!("\n{nonce} paths {next}\n");
    let a = out
        .find(&start)
        .ok_or_else(|| FactError::parse("paths", format!("section `{name}` missing")))?
        + start.len();
    let b = out[a..]
        .find(&end)
        .ok_or_else(|| FactError::parse("paths", format!("section `{next}` missing")))?
        + a;
    Ok(&out[a..b])
}

/// One `Path` answer per path from the script section's output.
pub fn parse_paths(
    paths: &[&str],
    nonce: &str,
    out: &str,
) -> Result<HashMap<FactQuery, FactOutput>, FactError> {
    let mut stat: HashMap<&str, &str> = HashMap::new();
    for line in section(out, nonce, "stat", "sha")?.lines() {
        let fields: Vec<&str> = line.splitn(6, '|').collect();
        if let [.., name] = fields[..]
            && fields.len() == 6
        {
            stat.insert(name, &line[..line.len() - name.len() - 1]);
        }
    }
    let mut sha: HashMap<&str, &str> = HashMap::new();
    for line in section(out, nonce, "sha", "link")?.lines() {
        // names needing escapes come back as `\HASH  NAME`: left out, so such
        // a file just looks changed
        if let Some((h, name)) = line.split_once("  ")
            && !h.starts_with('\\')
        {
            sha.insert(name, h);
        }
    }
    let mut link: HashMap<&str, &str> = HashMap::new();
    for line in section(out, nonce, "link", "end")?.lines() {
        if let Some((name, target)) = line.split_once(nonce) {
            link.insert(name, target);
        }
    }
    let mut map = HashMap::new();
    for p in paths {
        let stdout = match stat.get(p) {
            None => "absent\n".to_owned(),
            Some(s) => {
                let mut t = format!("{s}\n");
                if let Some(h) = sha.get(p) {
                    t.push_str(&format!("sha256|{h}\n"));
                }
                if let Some(l) = link.get(p) {
                    t.push_str(&format!("link|{l}\n"));
                }
                t
            }
        };
        map.insert(
            FactQuery::Path((*p).to_owned()),
            FactOutput {
                stdout,
                stderr: String::new(),
                rc: 0,
            },
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stat_for_all_paths_through_a_real_shell() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a b|c");
        std::fs::write(&f, "hi\n").unwrap();
        let l = d.path().join("link");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        let (f, l) = (f.to_str().unwrap(), l.to_str().unwrap());
        let dir = d.path().to_str().unwrap();
        let missing = format!("{dir}/missing");
        let paths = [f, l, dir, missing.as_str()];
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(paths_script(&paths, "N0NCE"))
            .output()
            .unwrap();
        let map = parse_paths(&paths, "N0NCE", &String::from_utf8_lossy(&out.stdout)).unwrap();
        let get = |p: &str| map[&FactQuery::Path(p.to_owned())].stdout.clone();
        assert!(get(f).starts_with("regular file|644|"), "{}", get(f));
        assert!(get(f).ends_with(
            "sha256|98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4\n"
        ));
        assert!(get(l).starts_with("symbolic link|777|"));
        assert!(get(l).ends_with(&format!("link|{f}\n")), "{}", get(l));
        assert!(get(dir).starts_with("directory|"));
        assert_eq!(get(&missing), "absent\n");
    }
}
