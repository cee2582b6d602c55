//! Signs of life while one resource runs long (apt, pip/uv, npm, R): the
//! progress bar's message counts the seconds, and every [`EVERY`] a plain
//! line names the resource, so a plain or `-l` log is never silent for
//! minutes.
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use indicatif::ProgressBar;

use crate::ui::Ui;

/// How often a plain line says what is still running.
pub const EVERY: Duration = Duration::from_secs(30);

/// What runs now and since when.
#[derive(Debug, Clone)]
pub struct Alive {
    labels: Arc<Vec<String>>,
    now: Arc<Mutex<(String, Instant)>>,
}

impl Alive {
    /// For resources labelled `labels`, in order.
    pub fn new(labels: Vec<String>) -> Alive {
        let first = labels.first().cloned().unwrap_or_default();
        Alive {
            labels: Arc::new(labels),
            now: Arc::new(Mutex::new((first, Instant::now()))),
        }
    }

    /// `label` is done: the resource after it runs next (handlers after the
    /// last one). Joined installs report later; the next label is a guess
    /// that is right for everything that takes long.
    pub fn done(&self, label: &str) {
        let next = match self.labels.iter().position(|l| l == label) {
            Some(i) if i + 1 < self.labels.len() => self.labels[i + 1].clone(),
            Some(_) => "handlers".to_owned(),
            None => return,
        };
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = (next, Instant::now());
    }

    /// The line for a resource running for `secs`.
    pub fn line(label: &str, secs: u64) -> String {
        format!("{:<12} {label}  ({secs} s so far)", "running")
    }

    /// Run `work`, telling `ui` (and `bar`) what is still running.
    pub async fn watch<F: Future>(&self, ui: &Ui, bar: &ProgressBar, work: F) -> F::Output {
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_line = Instant::now();
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => {
                    let (label, since) = self.now.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let secs = since.elapsed().as_secs();
                    if secs >= 3 {
                        bar.set_message(format!("{label} ({secs} s)"));
                    }
                    if since.elapsed() >= EVERY && last_line.elapsed() >= EVERY {
                        last_line = Instant::now();
                        bar.suspend(|| ui.info(&Self::line(&label, secs)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_label() {
        let a = Alive::new(vec!["a[1]".into(), "b[2]".into()]);
        a.done("a[1]");
        assert_eq!(a.now.lock().unwrap().0, "b[2]");
        a.done("b[2]");
        assert_eq!(a.now.lock().unwrap().0, "handlers");
        a.done("unknown");
        assert_eq!(a.now.lock().unwrap().0, "handlers");
    }

    #[tokio::test]
    async fn passes_the_result_through() {
        let a = Alive::new(vec!["apt.packages[base]".into()]);
        let out = a
            .watch(&Ui::silent(), &ProgressBar::hidden(), async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                7
            })
            .await;
        assert_eq!(out, 7);
        assert_eq!(
            Alive::line("apt.packages[base]", 31),
            "running      apt.packages[base]  (31 s so far)"
        );
    }
}
