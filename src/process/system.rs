//! The real runner: spawns programs, streams their output to the log, and
//! stops them cleanly when the user interrupts us.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::error::{STDERR_TAIL_LINES, install_hint, last_lines};
use super::{Cmd, Output, ProcessError, Runner, StreamKind};
use crate::interrupt;
use crate::ui::Ui;

/// Runs commands for real (or, with `dry_run`, only prints them).
#[derive(Debug, Clone)]
pub struct SystemRunner {
    ui: Arc<Ui>,
    dry_run: bool,
}

impl SystemRunner {
    /// A runner reporting through `ui`.
    pub fn new(ui: Arc<Ui>, dry_run: bool) -> Self {
        SystemRunner { ui, dry_run }
    }

    fn command(cmd: &Cmd) -> Command {
        let mut c = Command::new(cmd.get_program());
        c.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            c.env(k, v);
        }
        if let Some(d) = cmd.get_current_dir() {
            c.current_dir(d);
        }
        // Own process group: the terminal's Ctrl-C reaches only vmbuild, which
        // then stops the child (and its children, e.g. Packer's qemu) in order.
        c.process_group(0);
        c.stdin(if cmd.get_stdin().is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    fn spawn(&self, cmd: &Cmd) -> Result<Child, ProcessError> {
        self.ui.debug(&format!("$ {cmd}"));
        if interrupt::requested() && !cmd.is_cleanup() {
            return Err(ProcessError::Interrupted {
                command: cmd.to_string(),
            });
        }
        let mut child = Self::command(cmd)
            .spawn()
            .map_err(|source| spawn_error(cmd, source))?;
        // if vmbuild dies, the guard terminates the child's process group
        super::guard::watch(child.id());
        if let (Some(bytes), Some(mut stdin)) =
            (cmd.get_stdin().map(<[u8]>::to_vec), child.stdin.take())
        {
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        Ok(child)
    }

    /// Wait for `child`, polling the interrupt flag; on interruption stop its
    /// whole process group: SIGINT, grace period, SIGTERM, 5 s, SIGKILL.
    fn wait(
        &self,
        cmd: &Cmd,
        child: &mut Child,
        mut pump: impl FnMut(Duration),
    ) -> Result<Option<i32>, ProcessError> {
        let io_err = |source| ProcessError::Io {
            command: cmd.to_string(),
            source,
        };
        loop {
            pump(Duration::from_millis(100));
            if let Some(st) = child.try_wait().map_err(io_err)? {
                return Ok(st.code());
            }
            if interrupt::requested() && !cmd.is_cleanup() {
                self.ui.warn(&format!(
                    "stopping `{}`…",
                    cmd.get_program().to_string_lossy()
                ));
                let pgid = child.id() as i32;
                for (sig, wait) in [
                    (libc::SIGINT, cmd.get_interrupt_grace()),
                    (libc::SIGTERM, 5),
                    (libc::SIGKILL, 5),
                ] {
                    // SAFETY: kill(2) on our own child's process group; no memory involved.
                    unsafe { libc::kill(-pgid, sig) };
                    let deadline = Instant::now() + Duration::from_secs(wait);
                    while Instant::now() < deadline {
                        pump(Duration::from_millis(100));
                        if child.try_wait().map_err(io_err)?.is_some() {
                            // reap stragglers of the group (e.g. qemu) too
                            // SAFETY: as above.
                            unsafe { libc::kill(-pgid, libc::SIGKILL) };
                            return Err(ProcessError::Interrupted {
                                command: cmd.to_string(),
                            });
                        }
                    }
                }
                let _ = child.wait();
                return Err(ProcessError::Interrupted {
                    command: cmd.to_string(),
                });
            }
        }
    }
}

/// A program that did not start; a missing one comes with an install hint.
fn spawn_error(cmd: &Cmd, source: std::io::Error) -> ProcessError {
    let program = cmd.get_program().to_string_lossy().into_owned();
    ProcessError::Spawn {
        hint: if source.kind() == std::io::ErrorKind::NotFound {
            install_hint(&program)
        } else {
            String::new()
        },
        program,
        source,
    }
}

fn reader_thread<R: Read + Send + 'static>(
    r: R,
    kind: StreamKind,
    tx: mpsc::Sender<(StreamKind, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send((kind, buf.clone())).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl Runner for SystemRunner {
    fn run_unchecked(&self, cmd: &Cmd) -> Result<Output, ProcessError> {
        if self.dry_run {
            self.ui.info(&format!("would run: {cmd}"));
            return Ok(Output {
                code: Some(0),
                ..Output::default()
            });
        }
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let code = self.collect(cmd, &mut |kind, bytes| match kind {
            StreamKind::Stdout => stdout.extend_from_slice(bytes),
            StreamKind::Stderr => stderr.extend_from_slice(bytes),
        })?;
        Ok(Output {
            code,
            stdout,
            stderr,
        })
    }

    fn stream(
        &self,
        cmd: &Cmd,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<Output, ProcessError> {
        if self.dry_run {
            self.ui.info(&format!("would run: {cmd}"));
            return Ok(Output {
                code: Some(0),
                ..Output::default()
            });
        }
        let mut stderr_all = String::new();
        let code = self.collect(cmd, &mut |kind, bytes| {
            let line = String::from_utf8_lossy(bytes);
            let line = line.trim_end_matches(['\n', '\r']);
            self.ui.log(line);
            if kind == StreamKind::Stderr {
                stderr_all.push_str(line);
                stderr_all.push('\n');
                if stderr_all.len() > 64 * 1024 {
                    stderr_all = last_lines(&stderr_all, STDERR_TAIL_LINES) + "\n";
                }
            }
            on_line(kind, line);
        })?;
        let out = Output {
            code,
            stdout: Vec::new(),
            stderr: last_lines(&stderr_all, STDERR_TAIL_LINES).into_bytes(),
        };
        if out.success() {
            Ok(out)
        } else {
            Err(ProcessError::failed(cmd, &out))
        }
    }

    fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    fn spawn_detached(&self, cmd: &Cmd, log: &std::path::Path) -> Result<u32, ProcessError> {
        if self.dry_run {
            self.ui.info(&format!("would start: {cmd}"));
            return Ok(0);
        }
        self.ui.debug(&format!("$ {cmd} (in the background)"));
        if interrupt::requested() {
            return Err(ProcessError::Interrupted {
                command: cmd.to_string(),
            });
        }
        let io_err = |source| ProcessError::Io {
            command: cmd.to_string(),
            source,
        };
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io_err)?;
        let err = out.try_clone().map_err(io_err)?;
        // not Self::command: a process-group leader cannot setsid()
        let mut c = Command::new(cmd.get_program());
        c.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            c.env(k, v);
        }
        if let Some(d) = cmd.get_current_dir() {
            c.current_dir(d);
        }
        c.stdin(Stdio::null()).stdout(out).stderr(err);
        // its own session: it outlives vmbuild when the run lets it go, and
        // no terminal signal reaches it
        // SAFETY: setsid(2) in the child before exec; async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = c.spawn().map_err(|source| spawn_error(cmd, source))?;
        let pid = child.id();
        super::guard::watch(pid);
        // not waited for here; whoever stops it reaps nothing (it is
        // re-parented when vmbuild exits), the kernel does
        std::mem::forget(child);
        Ok(pid)
    }
}

impl SystemRunner {
    /// Spawn `cmd` and hand every chunk (a line, newline included) to `sink`
    /// until it exits; returns its exit code.
    fn collect(
        &self,
        cmd: &Cmd,
        sink: &mut dyn FnMut(StreamKind, &[u8]),
    ) -> Result<Option<i32>, ProcessError> {
        let mut child = self.spawn(cmd)?;
        let (tx, rx) = mpsc::channel();
        if let Some(o) = child.stdout.take() {
            reader_thread(o, StreamKind::Stdout, tx.clone());
        }
        if let Some(e) = child.stderr.take() {
            reader_thread(e, StreamKind::Stderr, tx.clone());
        }
        drop(tx);
        let mut pump = |timeout: Duration| {
            if let Ok((k, b)) = rx.recv_timeout(timeout) {
                sink(k, &b);
                while let Ok((k, b)) = rx.try_recv() {
                    sink(k, &b);
                }
            }
        };
        let pid = child.id();
        let code = self.wait(cmd, &mut child, &mut pump);
        // reaped (or stopped after an interruption): nothing left to guard
        super::guard::forget(pid);
        let code = code?;
        // drain what the readers still hold (they end when the pipes close)
        while let Ok((k, b)) = rx.recv_timeout(Duration::from_secs(5)) {
            sink(k, &b);
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner() -> SystemRunner {
        SystemRunner::new(Arc::new(Ui::silent()), false)
    }

    #[test]
    fn captures_output_and_exit_code() {
        let out = runner()
            .run_unchecked(&Cmd::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout_str(), "out\n");
        assert_eq!(out.stderr_str(), "err\n");
    }

    #[test]
    fn failure_carries_command_and_stderr_tail() {
        let err = runner()
            .run(&Cmd::new("sh").args(["-c", "echo boom >&2; exit 4"]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`sh -c 'echo boom >&2; exit 4'` failed (exit code 4)"),
            "{msg}"
        );
        assert!(msg.contains("boom"), "{msg}");
    }

    #[test]
    fn missing_program_is_a_spawn_error_with_hint() {
        let err = runner()
            .run(&Cmd::new("qemu-img-definitely-missing"))
            .unwrap_err();
        assert!(matches!(err, ProcessError::Spawn { .. }));
    }

    #[test]
    fn stdin_is_fed() {
        let out = runner()
            .run(&Cmd::new("cat").stdin_bytes(b"hello".to_vec()))
            .unwrap();
        assert_eq!(out.stdout_str(), "hello");
    }

    #[test]
    fn stream_delivers_lines_in_order() {
        let mut lines = Vec::new();
        runner()
            .stream(
                &Cmd::new("sh").args(["-c", "echo a; echo b; echo c"]),
                &mut |_, l| lines.push(l.to_owned()),
            )
            .unwrap();
        assert_eq!(lines, ["a", "b", "c"]);
    }

    #[test]
    fn dry_run_runs_nothing() {
        let r = SystemRunner::new(Arc::new(Ui::silent()), true);
        let out = r.run(&Cmd::new("sh").args(["-c", "exit 1"])).unwrap();
        assert!(out.success());
    }
}
