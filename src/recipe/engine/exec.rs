//! Running one remote command for the engine (with progress while it
//! runs) and gathering facts in one batch.
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use super::{Engine, Failure, Progress};
use crate::recipe::RecipeError;
use crate::recipe::facts::{FactQuery, Facts, batch_script, parse_batch, tail};
use crate::recipe::report::CommandFailure;
use crate::remote::{RemoteCommand, Stream, Transport};

impl<T: Transport> Engine<'_, T> {
    /// Run `cmd`, reporting progress about once a second while it runs
    /// (with the latest thing its output names); a non-zero exit is a
    /// [`Failure::Command`].
    pub(super) async fn exec(&mut self, cmd: RemoteCommand) -> Result<(), Failure> {
        let cmd = self.wrap(cmd);
        self.round_trips += 1;
        let activity = Mutex::new(crate::recipe::activity::Activity::default());
        let sink = |s: Stream, data: &[u8]| {
            if let Ok(mut a) = activity.lock() {
                a.feed(s, data);
            }
        };
        let t = self.t;
        let run = t.exec_streaming(&cmd, &sink);
        tokio::pin!(run);
        let start = tokio::time::Instant::now();
        let mut tick =
            tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
        let out = loop {
            tokio::select! {
                r = &mut run => break r,
                _ = tick.tick() => {
                    let doing = activity.lock().ok().and_then(|a| a.current());
                    let p = Progress::Running {
                        label: self.current.clone(),
                        elapsed: start.elapsed(),
                        doing,
                    };
                    self.progress(&p);
                }
            }
        };
        let out = out.map_err(Failure::Remote)?;
        if out.success() {
            return Ok(());
        }
        let text = if out.stderr.is_empty() {
            out.stdout_str()
        } else {
            out.stderr_str()
        };
        Err(Failure::Command(CommandFailure {
            // masked word by word, before quoting
            command: cmd.to_shell_masked(&|w| self.opts.secrets.mask(w)),
            status: out.status,
            stderr_tail: tail(&text, 20),
        }))
    }

    /// Gather `queries` in one remote script.
    pub async fn gather(&mut self, queries: &[FactQuery]) -> Result<Facts, RecipeError> {
        let qs: Vec<FactQuery> = queries
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if qs.is_empty() {
            return Ok(Facts::default());
        }
        let nonce = format!("@@vmbuild-{:016x}@@", rand::random::<u64>());
        let script = batch_script(&qs, &nonce);
        let cmd = self.wrap(
            RemoteCommand::new("sh")
                .arg("-s")
                .stdin(script)
                .idempotent(),
        );
        self.round_trips += 1;
        let out = self.t.exec(&cmd).await?;
        if !out.success() {
            return Err(RecipeError::Facts(format!(
                "the fact script exited {}: {}",
                out.status,
                tail(&out.stderr_str(), 5)
            )));
        }
        parse_batch(&qs, &nonce, &out.stdout_str()).map_err(|e| RecipeError::Facts(e.to_string()))
    }
}
