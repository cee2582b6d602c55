//! One command on one exec channel: open, exec, feed stdin, read until the
//! channel closes, close it. Output is handed to a sink as it arrives, and
//! a stop request (Ctrl-C) ends the remote command's whole process group.
use std::time::Duration;

use russh::{ChannelMsg, Sig};

use super::connect::Conn;
use crate::remote::{ExecOutput, OutputSink, RemoteCommand, RemoteError, Stream};

/// How one attempt ended, for the retry rule in [`super::SshTransport`].
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The command surely did not start (channel could not be opened or the
    /// exec request not sent): safe to retry on a new connection.
    NotStarted(String),
    /// The connection went away after the command was sent.
    Interrupted(String),
    /// A final answer (including a missing exit status): never retried.
    Failed(RemoteError),
}

/// A command line short enough for error messages (scripts can be long).
pub(crate) fn short(cmd: &RemoteCommand) -> String {
    const MAX: usize = 200;
    let line = cmd.to_shell();
    if line.chars().count() <= MAX {
        return line;
    }
    let cut: String = line.chars().take(MAX).collect();
    format!("{cut}…")
}

/// First line on stderr: the login shell's pid. sshd makes the shell a
/// session (and process group) leader, so this is the group to signal when
/// the user stops the run; the line is taken out of the output.
const PGID_MARKER: &str = "@@vmbuild-pgid ";

/// The line sent in the exec request: the pid report, then the command,
/// `exec`ed so that its exit status (or the signal that killed it) is the
/// session's, as without the report.
pub(crate) fn exec_line(cmd: &RemoteCommand) -> String {
    cmd.to_shell_after(&format!("echo \"{PGID_MARKER}$$\" >&2;"))
}

/// Splits the pid report off the front of stderr as it streams in.
#[derive(Default)]
struct PgidReader {
    /// Bytes of stderr seen before the report line was complete.
    head: Vec<u8>,
    done: bool,
    pgid: Option<u32>,
}

impl PgidReader {
    /// Feed stderr bytes; returns those that belong to the command.
    fn feed<'a>(&mut self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if self.done {
            return data.into();
        }
        self.head.extend_from_slice(data);
        let marker = PGID_MARKER.as_bytes();
        let n = self.head.len().min(marker.len());
        if self.head[..n] != marker[..n] {
            // not our line (a shell that does not run it): pass all through
            self.done = true;
            return std::mem::take(&mut self.head).into();
        }
        let Some(end) = self.head.iter().position(|b| *b == b'\n') else {
            return Vec::new().into();
        };
        self.done = true;
        self.pgid = std::str::from_utf8(&self.head[marker.len()..end])
            .ok()
            .and_then(|s| s.trim().parse().ok());
        self.head.split_off(end + 1).into()
    }

    /// Whatever was held back when the stream ended without a newline.
    fn rest(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        std::mem::take(&mut self.head)
    }
}

/// How long a stopped command gets after SIGINT, then after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Run `cmd` on a new channel of `conn`, streaming output to `sink`. When
/// `stop()` turns true while it runs (it was false when it started, so the
/// clean-up commands of a stopping run still run), the remote process group
/// gets SIGINT, then SIGTERM, then SIGKILL, and the result is
/// [`RemoteError::Stopped`].
pub(crate) async fn run(
    conn: &Conn,
    cmd: &RemoteCommand,
    sink: OutputSink<'_>,
    stop: fn() -> bool,
    host: &str,
) -> Result<ExecOutput, Attempt> {
    let stoppable = !stop();
    let channel = conn
        .channel_open_session()
        .await
        .map_err(|e| Attempt::NotStarted(format!("cannot open a channel: {e}")))?;
    let (mut read, write) = channel.split();
    if let Err(e) = write.exec(true, exec_line(cmd)).await {
        return Err(Attempt::NotStarted(format!("cannot send the command: {e}")));
    }
    // Feed stdin while reading output: a command that echoes its input
    // would otherwise fill both windows and stall.
    let stdin = cmd.get_stdin().unwrap_or_default();
    let feed = async {
        if !stdin.is_empty() {
            write.data(stdin).await?;
        }
        write.eof().await
    };
    tokio::pin!(feed);
    let mut fed = false;
    let mut out = ExecOutput::default();
    let mut pgid = PgidReader::default();
    let (mut status, mut signal, mut eof, mut closed) = (None, None, false, false);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    // after a stop: how many signals were sent, and when the next is due
    let (mut sent, mut next_at) = (0usize, None);
    loop {
        tokio::select! {
            r = &mut feed, if !fed => {
                fed = true;
                // a command may exit without reading its input; the read
                // side below tells what happened to it
                let _ = r;
            }
            _ = poll.tick(), if stoppable => {
                let now = tokio::time::Instant::now();
                let due = next_at.map_or_else(stop, |at| now >= at);
                if due {
                    let Some(sig) = STOP_SIGNALS.get(sent) else {
                        break; // SIGKILL went unanswered: stop waiting
                    };
                    let _ = write.signal(sig.1.clone()).await;
                    if let Some(g) = pgid.pgid {
                        kill_group(conn, g, sig.0, cmd.is_sudo()).await;
                    }
                    sent += 1;
                    next_at = Some(now + STOP_GRACE);
                }
            }
            msg = read.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    sink(Stream::Stdout, &data);
                    out.stdout.extend_from_slice(&data);
                }
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    let data = pgid.feed(&data);
                    if !data.is_empty() {
                        sink(Stream::Stderr, &data);
                        out.stderr.extend_from_slice(&data);
                    }
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => signal = Some(signal_name),
                Some(ChannelMsg::Eof) => eof = true,
                Some(ChannelMsg::Failure) if status.is_none() && out.stdout.is_empty() => {
                    let _ = write.close().await;
                    return Err(Attempt::Failed(RemoteError::Ssh(format!(
                        "the server refused to run `{}`", short(cmd)
                    ))));
                }
                Some(ChannelMsg::Close) => { closed = true; break; }
                Some(_) => {}
                None => break,
            }
        }
    }
    out.stderr.extend(pgid.rest());
    if sent > 0 {
        let _ = write.close().await;
        return Err(Attempt::Failed(RemoteError::Stopped {
            host: host.to_owned(),
            command: short(cmd),
        }));
    }
    if !closed {
        // Close is answered by the server; best effort on a dying connection.
        let _ = write.close().await;
        // An exit status and EOF mean all output arrived even though the
        // connection died before the Close (e.g. `reboot`).
        if !(status.is_some() && eof) {
            return Err(Attempt::Interrupted(
                "the connection closed before the command finished".to_owned(),
            ));
        }
    }
    match (status, signal) {
        (Some(s), _) => {
            out.status = s;
            Ok(out)
        }
        (None, Some(sig)) => Err(Attempt::Failed(RemoteError::Signaled {
            command: short(cmd),
            signal: format!("{sig:?}")
                .trim_start_matches("Custom(")
                .trim_end_matches(')')
                .trim_matches('"')
                .to_owned(),
        })),
        (None, None) => Err(Attempt::Failed(RemoteError::NoExitStatus {
            command: short(cmd),
        })),
    }
}

/// The signals a stopped command gets, in order, [`STOP_GRACE`] apart.
const STOP_SIGNALS: [(&str, Sig); 3] =
    [("INT", Sig::INT), ("TERM", Sig::TERM), ("KILL", Sig::KILL)];

/// The command that sends `sig` to process group `pgid` (as root when the
/// stopped command ran through sudo: its processes belong to root).
pub(crate) fn kill_cmd(pgid: u32, sig: &str, sudo: bool) -> RemoteCommand {
    let c = RemoteCommand::new("kill").args([format!("-{sig}"), "--".into(), format!("-{pgid}")]);
    if sudo { c.sudo() } else { c }
}

/// Signal the stopped command's process group over a second channel. SSH's
/// own "signal" request reaches only the login shell (and OpenSSH honours it
/// only in some versions), not the programs it started.
async fn kill_group(conn: &Conn, pgid: u32, sig: &str, sudo: bool) {
    let line = kill_cmd(pgid, sig, sudo).to_shell();
    let Ok(ch) = conn.channel_open_session().await else {
        return;
    };
    let (mut read, write) = ch.split();
    if write.exec(true, line).await.is_err() {
        return;
    }
    let _ = write.eof().await;
    let wait = async {
        while let Some(m) = read.wait().await {
            if matches!(m, ChannelMsg::Close) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
    let _ = write.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_truncates_long_scripts() {
        let long = RemoteCommand::shell("x".repeat(500));
        let s = short(&long);
        assert_eq!(s.chars().count(), 201);
        assert!(s.starts_with("sh -c xxx") && s.ends_with('…'));
        assert_eq!(short(&RemoteCommand::new("true")), "true");
    }

    #[test]
    fn the_pid_report_is_taken_out_of_stderr_even_when_split() {
        let mut r = PgidReader::default();
        assert!(r.feed(b"@@vmbuild-pg").is_empty());
        assert_eq!(&*r.feed(b"id 4242\nwarning: x\n"), b"warning: x\n");
        assert_eq!(r.pgid, Some(4242));
        assert_eq!(&*r.feed(b"more"), b"more");

        let mut r = PgidReader::default();
        assert_eq!(&*r.feed(b"sh: no such shell\n"), b"sh: no such shell\n");
        assert_eq!(r.pgid, None);
        let mut r = PgidReader::default();
        assert!(r.feed(b"@@vm").is_empty());
        assert_eq!(r.rest(), b"@@vm");
    }

    #[test]
    fn stop_commands() {
        assert_eq!(
            exec_line(&RemoteCommand::new("id")),
            "echo \"@@vmbuild-pgid $$\" >&2; exec id"
        );
        assert_eq!(kill_cmd(77, "INT", false).to_shell(), "kill -INT -- -77");
        assert_eq!(
            kill_cmd(77, "KILL", true).to_shell(),
            "sudo -n -H -- kill -KILL -- -77"
        );
    }
}
