//! A runner for tests: records every command and replays canned outputs.
use std::sync::Mutex;

use super::{Cmd, Output, ProcessError, Runner, StreamKind};

/// Replays outputs keyed by an argv prefix; unknown commands succeed silently.
#[derive(Debug, Default)]
pub struct FakeRunner {
    canned: Mutex<Vec<(Vec<String>, Output)>>,
    seen: Mutex<Vec<Cmd>>,
}

impl FakeRunner {
    /// An empty fake.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer commands whose argv starts with `prefix` with `out`.
    pub fn on(&self, prefix: &[&str], out: Output) {
        self.canned
            .lock()
            .unwrap()
            .push((prefix.iter().map(|s| (*s).to_owned()).collect(), out));
    }

    /// Every command run so far, in order.
    pub fn commands(&self) -> Vec<Cmd> {
        self.seen.lock().unwrap().clone()
    }

    fn answer(&self, cmd: &Cmd) -> Output {
        self.seen.lock().unwrap().push(cmd.clone());
        let argv = cmd.argv();
        self.canned
            .lock()
            .unwrap()
            .iter()
            .find(|(p, _)| argv.starts_with(p))
            .map(|(_, o)| o.clone())
            .unwrap_or(Output {
                code: Some(0),
                ..Output::default()
            })
    }
}

impl Runner for FakeRunner {
    fn run_unchecked(&self, cmd: &Cmd) -> Result<Output, ProcessError> {
        Ok(self.answer(cmd))
    }

    fn spawn_detached(&self, cmd: &Cmd, _log: &std::path::Path) -> Result<u32, ProcessError> {
        self.answer(cmd);
        Ok(0)
    }

    fn stream(
        &self,
        cmd: &Cmd,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<Output, ProcessError> {
        let out = self.answer(cmd);
        for l in out.stdout_str().lines() {
            on_line(StreamKind::Stdout, l);
        }
        for l in out.stderr_str().lines() {
            on_line(StreamKind::Stderr, l);
        }
        if out.success() {
            Ok(out)
        } else {
            Err(ProcessError::failed(cmd, &out))
        }
    }
}
