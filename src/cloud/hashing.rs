//! A reader that hashes (sha512 and md5, Glance's two checksums) and reports
//! progress as the upload consumes it, so the file is read exactly once.
use std::io::Read;
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;
use sha2::{Digest, Sha512};

use crate::ui::Ui;

/// The running digests, shared with the caller (the reader itself is moved
/// into the HTTP body).
#[derive(Clone)]
pub(crate) struct Digests {
    inner: Arc<Mutex<State>>,
}

struct State {
    sha512: Sha512,
    md5: md5::Context,
    bytes: u64,
}

/// Final digests of everything read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sums {
    pub(crate) sha512: String,
    pub(crate) md5: String,
    pub(crate) bytes: u64,
}

impl Digests {
    fn new() -> Digests {
        Digests {
            inner: Arc::new(Mutex::new(State {
                sha512: Sha512::new(),
                md5: md5::Context::new(),
                bytes: 0,
            })),
        }
    }

    /// The digests of what was read so far.
    pub(crate) fn sums(&self) -> Sums {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Sums {
            sha512: hex::encode(s.sha512.clone().finalize()),
            md5: format!("{:x}", s.md5.clone().finalize()),
            bytes: s.bytes,
        }
    }
}

/// Wraps the image file: hashes, advances the progress bar, prints a plain
/// line every quarter when there is no bar, and stops on Ctrl-C.
pub(crate) struct HashingReader<R> {
    inner: R,
    digests: Digests,
    total: u64,
    next_quarter: u64,
    bar: ProgressBar,
    ui: Arc<Ui>,
}

impl<R: Read> HashingReader<R> {
    /// Wrap `inner` of `total` bytes.
    pub(crate) fn new(inner: R, total: u64, bar: ProgressBar, ui: Arc<Ui>) -> (Self, Digests) {
        let digests = Digests::new();
        let r = HashingReader {
            inner,
            digests: digests.clone(),
            total,
            next_quarter: 1,
            bar,
            ui,
        };
        (r, digests)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if crate::interrupt::requested() {
            // Not ErrorKind::Interrupted: readers retry that kind.
            return Err(std::io::Error::other("interrupted by the user"));
        }
        let n = self.inner.read(buf)?;
        let bytes = {
            let mut s = self.digests.inner.lock().unwrap_or_else(|e| e.into_inner());
            s.sha512.update(&buf[..n]);
            s.md5.consume(&buf[..n]);
            s.bytes += n as u64;
            s.bytes
        };
        self.bar.inc(n as u64);
        if self.bar.is_hidden() && self.total > 0 {
            while self.next_quarter < 4 && bytes * 4 >= self.total * self.next_quarter {
                self.ui.info(&format!(
                    "uploaded {}% ({bytes} of {} bytes)",
                    self.next_quarter * 25,
                    self.total
                ));
                self.next_quarter += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_known_digests() {
        let ui = Arc::new(Ui::silent());
        let (mut r, d) = HashingReader::new(&b"hello"[..], 5, ProgressBar::hidden(), ui);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let s = d.sums();
        assert_eq!(s.bytes, 5);
        assert_eq!(s.md5, "5d41402abc4b2a76b9719d911017c592");
        assert!(s.sha512.starts_with("9b71d224bd62f378"));
    }
}
