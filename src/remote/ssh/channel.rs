//! One command on one exec channel: open, exec, feed stdin, read until the
//! channel closes, close it.
use russh::ChannelMsg;

use super::connect::Conn;
use crate::remote::{ExecOutput, RemoteCommand, RemoteError};

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

/// Run `cmd` on a new channel of `conn`.
pub(crate) async fn run(conn: &Conn, cmd: &RemoteCommand) -> Result<ExecOutput, Attempt> {
    let channel = conn
        .channel_open_session()
        .await
        .map_err(|e| Attempt::NotStarted(format!("cannot open a channel: {e}")))?;
    let (mut read, write) = channel.split();
    if let Err(e) = write.exec(true, cmd.to_shell()).await {
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
    let (mut status, mut signal, mut eof, mut closed) = (None, None, false, false);
    loop {
        tokio::select! {
            r = &mut feed, if !fed => {
                fed = true;
                // a command may exit without reading its input; the read
                // side below tells what happened to it
                let _ = r;
            }
            msg = read.wait() => match msg {
                Some(ChannelMsg::Data { data }) => out.stdout.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => out.stderr.extend_from_slice(&data),
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
}
