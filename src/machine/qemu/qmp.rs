//! A minimal QMP client: the QEMU Machine Protocol over the VM's unix
//! socket, used to ask the guest for an ACPI shutdown (`system_powerdown`)
//! and to stop qemu (`quit`). QMP is one JSON object per line; asynchronous
//! events may arrive between a command and its answer and are skipped.
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// A QMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket could not be reached or broke.
    #[error("QMP socket `{path}`: {source}")]
    Io {
        /// The socket.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// qemu answered with an error, or with something that is not QMP.
    #[error("QMP `{command}`: {message}")]
    Refused {
        /// The command.
        command: String,
        /// qemu's description.
        message: String,
    },
}

/// An open QMP session (capabilities negotiated).
pub struct Qmp {
    path: String,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connect to `socket` and negotiate capabilities.
    pub fn connect(socket: &Path) -> Result<Qmp, QmpError> {
        let path = socket.display().to_string();
        let io = |source| QmpError::Io {
            path: path.clone(),
            source,
        };
        let stream = UnixStream::connect(socket).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let mut q = Qmp {
            path: path.clone(),
            reader: BufReader::new(stream),
            writer,
        };
        // the greeting: {"QMP": {...}}
        let greeting = q.read_value()?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Refused {
                command: "greeting".into(),
                message: format!("not a QMP greeting: {greeting}"),
            });
        }
        q.execute("qmp_capabilities")?;
        Ok(q)
    }

    fn read_value(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                source,
            })?;
        if n == 0 {
            return Err(QmpError::Io {
                path: self.path.clone(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        serde_json::from_str(&line).map_err(|e| QmpError::Refused {
            command: "read".into(),
            message: format!("not JSON ({e}): {}", line.trim()),
        })
    }

    /// Run `command` (no arguments); its `return` value.
    pub fn execute(&mut self, command: &str) -> Result<Value, QmpError> {
        let msg = format!("{}\n", json!({ "execute": command }));
        self.writer
            .write_all(msg.as_bytes())
            .map_err(|source| QmpError::Io {
                path: self.path.clone(),
                source,
            })?;
        loop {
            let v = self.read_value()?;
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(QmpError::Refused {
                    command: command.into(),
                    message: e
                        .get("desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_owned(),
                });
            }
            // an event ({"event": ...}): not our answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake qemu: greets, answers capabilities, emits an event, then
    /// answers the next command.
    #[test]
    fn events_between_a_command_and_its_answer_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = BufReader::new(s);
            w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .unwrap();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            assert!(line.contains("qmp_capabilities"));
            w.write_all(b"{\"return\": {}}\n").unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            assert!(line.contains("system_powerdown"));
            w.write_all(b"{\"event\": \"POWERDOWN\", \"timestamp\": {}}\n{\"return\": {}}\n")
                .unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            w.write_all(b"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\n")
                .unwrap();
        });
        let mut q = Qmp::connect(&sock).unwrap();
        assert_eq!(q.execute("system_powerdown").unwrap(), json!({}));
        let e = q.execute("nope").unwrap_err().to_string();
        assert!(e.contains("has not been found"), "{e}");
        server.join().unwrap();
    }
}
