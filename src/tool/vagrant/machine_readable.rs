//! Vagrant's `--machine-readable` output: `timestamp,target,type,data...`.
//!
//! Vagrant escapes commas inside fields as `%!(VAGRANT_COMMA)` and line breaks
//! as the two characters `\n`; [`parse_line`] undoes both.

/// One machine-readable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Unix time the line was written.
    pub timestamp: u64,
    /// The machine it is about (empty for global lines).
    pub target: String,
    /// The line type, e.g. `state`, `ui`, `error-exit`.
    pub kind: String,
    /// The remaining fields, unescaped.
    pub data: Vec<String>,
}

/// Undo Vagrant's field escaping.
pub fn unescape(field: &str) -> String {
    field
        .replace("%!(VAGRANT_COMMA)", ",")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
}

/// Parse one line; `None` for lines that are not machine-readable (Vagrant
/// and its plugins sometimes print plain warnings, e.g. Ruby deprecations).
pub fn parse_line(line: &str) -> Option<Line> {
    let mut parts = line.trim_end_matches(['\r', '\n']).split(',');
    let timestamp = parts.next()?.parse().ok()?;
    let target = unescape(parts.next()?);
    let kind = unescape(parts.next()?);
    if kind.is_empty() {
        return None;
    }
    Some(Line {
        timestamp,
        target,
        kind,
        data: parts.map(unescape).collect(),
    })
}

/// Every machine-readable line of `text`, skipping the others.
pub fn parse(text: &str) -> Vec<Line> {
    text.lines().filter_map(parse_line).collect()
}

/// The error Vagrant reported before exiting (`error-exit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorExit {
    /// The Ruby error class, e.g. `Vagrant::Errors::BoxNotFound`.
    pub class: String,
    /// Vagrant's own message, for the user.
    pub message: String,
}

impl ErrorExit {
    /// The error carried by `line`, if it is an `error-exit` line.
    pub fn from_line(line: &Line) -> Option<ErrorExit> {
        (line.kind == "error-exit").then(|| ErrorExit {
            class: line.data.first().cloned().unwrap_or_default(),
            message: line.data.get(1..).map(|d| d.join(",")).unwrap_or_default(),
        })
    }
}

/// The last `error-exit` in `text`.
pub fn error_exit(text: &str) -> Option<ErrorExit> {
    parse(text).iter().rev().find_map(ErrorExit::from_line)
}

/// The text of a `ui` line (`ui,info,==> default: Booting VM...`), if it is one.
pub fn ui_message(line: &Line) -> Option<&str> {
    (line.kind == "ui")
        .then(|| line.data.get(1).map(String::as_str))
        .flatten()
}

/// One machine's state from `vagrant status --machine-readable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineStatus {
    /// Machine name (`config.vm.define`).
    pub name: String,
    /// Provider name, e.g. `libvirt`.
    pub provider: String,
    /// State id, e.g. `running`, `shutoff`, `not_created`, `poweroff`.
    pub state: String,
}

impl MachineStatus {
    /// Whether the provider holds a VM for this machine (in any state).
    pub fn exists(&self) -> bool {
        self.state != "not_created"
    }

    /// Whether the VM is running.
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// Parse `vagrant status --machine-readable`: one entry per machine that has
/// both a `provider-name` and a `state` line.
pub fn parse_status(text: &str) -> Vec<MachineStatus> {
    let mut out: Vec<MachineStatus> = Vec::new();
    for line in parse(text) {
        if line.target.is_empty() {
            continue;
        }
        let value = line.data.first().cloned().unwrap_or_default();
        let idx = match out.iter().position(|m| m.name == line.target) {
            Some(i) => i,
            None if matches!(line.kind.as_str(), "provider-name" | "state") => {
                out.push(MachineStatus {
                    name: line.target.clone(),
                    provider: String::new(),
                    state: String::new(),
                });
                out.len() - 1
            }
            None => continue,
        };
        match line.kind.as_str() {
            "provider-name" => out[idx].provider = value,
            "state" => out[idx].state = value,
            _ => {}
        }
    }
    out.retain(|m| !m.provider.is_empty() && !m.state.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_unescaped() {
        let l = parse_line("1700000000,vm,ui,info,a%!(VAGRANT_COMMA) b\\nc").unwrap();
        assert_eq!(l.timestamp, 1_700_000_000);
        assert_eq!(l.target, "vm");
        assert_eq!(l.kind, "ui");
        assert_eq!(l.data, ["info", "a, b\nc"]);
        assert_eq!(ui_message(&l), Some("a, b\nc"));
        assert!(parse_line("Vagrant warning: something").is_none());
        assert!(parse_line("").is_none());
    }

    #[test]
    fn error_exit_keeps_vagrant_message() {
        let text = "1,,ui,error,x\n2,,error-exit,Vagrant::Errors::BoxNotFound,The box 'x' could not be found%!(VAGRANT_COMMA) sorry.\\nTry again.\n";
        let e = error_exit(text).unwrap();
        assert_eq!(e.class, "Vagrant::Errors::BoxNotFound");
        assert_eq!(
            e.message,
            "The box 'x' could not be found, sorry.\nTry again."
        );
        assert!(error_exit("1,,ui,info,fine\n").is_none());
    }

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/tests/fixtures/tools/vagrant/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn status_of_captured_runs() {
        let st = |f: &str| parse_status(&fixture(f));
        let running = st("status-running.txt");
        assert_eq!(
            running,
            [MachineStatus {
                name: "devhub".into(),
                provider: "libvirt".into(),
                state: "running".into()
            }]
        );
        assert!(running[0].is_running() && running[0].exists());
        let off = &st("status-shutoff.txt")[0];
        assert!(off.exists() && !off.is_running());
        let none = &st("status-not-created.txt")[0];
        assert!(!none.exists());
    }

    #[test]
    fn captured_up_and_failures() {
        let up = parse(&fixture("up-libvirt.txt"));
        assert!(
            up.iter()
                .filter_map(ui_message)
                .any(|m| m.contains("Machine booted and ready!"))
        );
        assert!(error_exit(&fixture("up-libvirt.txt")).is_none());
        let e = error_exit(&fixture("box-add-missing-file.txt")).unwrap();
        assert_eq!(e.class, "Vagrant::Errors::DownloaderError");
        assert!(
            e.message
                .ends_with("Couldn't open file /tmp/nonexistent.box"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("The error\nmessage, if any, is reproduced"),
            "{}",
            e.message
        );
    }
}
