//! A transport for unit tests: records commands, answers from a script.
use std::sync::Mutex;

use super::{ExecOutput, OutputSink, RemoteCommand, RemoteError, Stream, Transport};

type Responder = Box<dyn Fn(&RemoteCommand) -> ExecOutput + Send + Sync>;

/// Records every command and file; answers with a closure (default: exit 0).
pub struct FakeTransport {
    responder: Responder,
    /// Commands run, as shell lines.
    pub commands: Mutex<Vec<String>>,
    /// Files put: (path, content, mode).
    pub files: Mutex<Vec<(String, Vec<u8>, u32)>>,
}

impl Default for FakeTransport {
    fn default() -> Self {
        FakeTransport::new(|_| ExecOutput::default())
    }
}

impl FakeTransport {
    /// A fake answering each command with `responder`.
    pub fn new(responder: impl Fn(&RemoteCommand) -> ExecOutput + Send + Sync + 'static) -> Self {
        FakeTransport {
            responder: Box::new(responder),
            commands: Mutex::default(),
            files: Mutex::default(),
        }
    }
}

impl Transport for FakeTransport {
    async fn exec_streaming(
        &self,
        cmd: &RemoteCommand,
        sink: OutputSink<'_>,
    ) -> Result<ExecOutput, RemoteError> {
        self.commands.lock().unwrap().push(cmd.to_shell());
        let out = (self.responder)(cmd);
        sink(Stream::Stdout, &out.stdout);
        sink(Stream::Stderr, &out.stderr);
        Ok(out)
    }

    async fn put(
        &self,
        content: &[u8],
        path: &str,
        mode: u32,
        _sudo: bool,
    ) -> Result<(), RemoteError> {
        self.files
            .lock()
            .unwrap()
            .push((path.to_owned(), content.to_vec(), mode));
        Ok(())
    }
}
