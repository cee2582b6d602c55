//! What a long-running install is doing, read from its output as it
//! streams in: the package apt/dpkg, pip, uv, npm or R works on right now.
use crate::remote::Stream;

/// The latest activity seen in a command's output. Output arrives in
/// arbitrary pieces; lines are reassembled per stream.
#[derive(Debug, Default)]
pub struct Activity {
    partial: [Vec<u8>; 2],
    current: Option<String>,
}

impl Activity {
    /// Take another piece of output.
    pub fn feed(&mut self, stream: Stream, data: &[u8]) {
        let buf = &mut self.partial[stream as usize];
        buf.extend_from_slice(data);
        // progress bars end their updates with \r
        while let Some(end) = buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            if let Some(what) = doing(String::from_utf8_lossy(&line).trim_end()) {
                self.current = Some(what);
            }
        }
        // a runaway line without a newline must not grow without bound
        if buf.len() > 64 * 1024 {
            buf.clear();
        }
    }

    /// The latest thing the command said it works on.
    pub fn current(&self) -> Option<String> {
        self.current.clone()
    }
}

/// What one output line says the command is doing, if it says.
pub fn doing(line: &str) -> Option<String> {
    let l = line.trim();
    let first_word = |rest: &str| -> Option<String> {
        let w = rest.split_whitespace().next()?;
        Some(w.trim_end_matches([',', '.', ':']).to_owned())
    };
    // dpkg (through apt-get)
    for verb in ["Unpacking", "Setting up", "Preparing to unpack", "Removing"] {
        if let Some(rest) = l.strip_prefix(verb) {
            let rest = rest.trim_start();
            let pkg = if verb == "Preparing to unpack" {
                // ".../nginx_1.22.1-9_amd64.deb ..."
                let file = rest.split_whitespace().next()?.rsplit('/').next()?;
                let name = file.split('_').next()?;
                // apt numbers the archives of one run: `05-nginx_…deb`
                match name.split_once('-') {
                    Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest.to_owned(),
                    _ => name.to_owned(),
                }
            } else {
                first_word(rest)?
            };
            let verb = if verb == "Preparing to unpack" {
                "Unpacking"
            } else {
                verb
            };
            return Some(format!("{verb} {pkg}"));
        }
    }
    // apt-get: "Get:12 http://deb.debian.org/debian bookworm/main amd64 nginx amd64 1.22 [4 kB]"
    if let Some(rest) = l.strip_prefix("Get:") {
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() >= 5 {
            return Some(format!("Downloading {}", words[4]));
        }
        return Some("Downloading package lists".into());
    }
    if l.starts_with("Hit:") || l.starts_with("Ign:") {
        return Some("Refreshing package lists".into());
    }
    if let Some(rest) = l.strip_prefix("Processing triggers for") {
        return Some(format!("Triggers of {}", first_word(rest)?));
    }
    // pip
    for (prefix, verb) in [
        ("Collecting", "Collecting"),
        ("Downloading", "Downloading"),
        ("Building wheel for", "Building"),
        ("Using cached", "Using cached"),
    ] {
        if let Some(rest) = l.strip_prefix(prefix) {
            return Some(format!("{verb} {}", first_word(rest)?));
        }
    }
    if let Some(rest) = l.strip_prefix("Installing collected packages:") {
        let pkgs: Vec<&str> = rest.split(',').map(str::trim).collect();
        return Some(format!("Installing {} packages", pkgs.len()));
    }
    // uv
    for prefix in ["Resolved", "Prepared", "Installed", "Uninstalled", "Built"] {
        if l.starts_with(prefix) && l.contains("package") {
            return Some(l.to_owned());
        }
    }
    if let Some(rest) = l.strip_prefix("+ ") {
        return Some(format!("Installed {}", first_word(rest)?));
    }
    // npm
    if let Some(rest) = l.strip_prefix("npm http fetch GET 200 ") {
        let name = rest.split_whitespace().next()?.rsplit('/').next()?;
        return Some(format!("Fetching {name}"));
    }
    if l.starts_with("added ") && l.contains(" package") {
        return Some(l.to_owned());
    }
    // R: "* installing *source* package 'ggplot2' ..."
    if let Some(rest) = l.strip_prefix("* installing") {
        let name = rest.split('\'').nth(1).or_else(|| rest.split('‘').nth(1))?;
        let name = name.trim_end_matches('’');
        return Some(format!("Installing R package {name}"));
    }
    if let Some(rest) = l.strip_prefix("trying URL '") {
        let file = rest.trim_end_matches('\'').rsplit('/').next()?;
        return Some(format!("Downloading {}", file.split('_').next()?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_package_from_installer_output() {
        let cases = [
            (
                "Get:12 http://deb.debian.org/debian bookworm/main amd64 nginx-common all 1.22.1-9 [112 kB]",
                "Downloading nginx-common",
            ),
            (
                "Preparing to unpack .../05-nginx_1.22.1-9+deb12u2_amd64.deb ...",
                "Unpacking nginx",
            ),
            ("Unpacking jq (1.6-2.1) ...", "Unpacking jq"),
            (
                "Setting up libjq1:amd64 (1.6-2.1) ...",
                "Setting up libjq1:amd64",
            ),
            (
                "Processing triggers for man-db (2.11.2-2) ...",
                "Triggers of man-db",
            ),
            (
                "Collecting jupyterhub==5.2.1",
                "Collecting jupyterhub==5.2.1",
            ),
            (
                "  Downloading numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl (16.3 MB)",
                "Downloading numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            ),
            (
                "Installing collected packages: six, idna, jupyterhub",
                "Installing 3 packages",
            ),
            (
                "Resolved 96 packages in 2.31s",
                "Resolved 96 packages in 2.31s",
            ),
            (" + numpy==2.1.0", "Installed numpy==2.1.0"),
            (
                "npm http fetch GET 200 https://registry.npmjs.org/configurable-http-proxy 93ms",
                "Fetching configurable-http-proxy",
            ),
            ("added 52 packages in 3s", "added 52 packages in 3s"),
            (
                "* installing *source* package 'ggplot2' ...",
                "Installing R package ggplot2",
            ),
            (
                "trying URL 'https://cloud.r-project.org/src/contrib/dplyr_1.1.4.tar.gz'",
                "Downloading dplyr",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(doing(line).as_deref(), Some(want), "{line}");
        }
        assert_eq!(doing("Reading package lists..."), None);
    }

    #[test]
    fn lines_are_reassembled_across_pieces() {
        let mut a = Activity::default();
        a.feed(Stream::Stdout, b"Unpacking tr");
        assert_eq!(a.current(), None);
        a.feed(Stream::Stderr, b"Collecting six\n");
        a.feed(Stream::Stdout, b"ee (2.1.0) ...\nReading\n");
        assert_eq!(a.current().as_deref(), Some("Unpacking tree"));
    }
}
