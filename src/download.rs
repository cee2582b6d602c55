//! Downloading large inputs (installer ISOs) into a cache keyed by SHA-256.
//!
//! A file is written to `<dest>.part` while it arrives and renamed to `dest`
//! only once its SHA-256 matches, so the cache never holds unverified data
//! under its final name. An interrupted download keeps its `.part` and the
//! next attempt resumes it (HTTP `Range`; for `file://` by seeking). A
//! checksum mismatch deletes the `.part` so the bad bytes are not resumed.
mod http;
mod part;

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use part::PartFile;

/// How long a connection may stall (connect, or no bytes arriving) before we give up.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A download failed or produced the wrong bytes.
#[derive(Debug, Error)]
pub enum DownloadError {
    /// The expected checksum is not 64 hex digits.
    #[error("`{value}` is not a SHA-256 checksum (expected 64 hex digits)")]
    BadChecksum {
        /// What was given.
        value: String,
    },
    /// The URL's scheme is not http, https or file.
    #[error("cannot download `{url}`: only http://, https:// and file:// URLs are supported")]
    UnsupportedUrl {
        /// The URL.
        url: String,
    },
    /// Reading or writing a local file failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The HTTP request failed (connection, TLS, timeout).
    #[error("GET {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("GET {url}: HTTP {status}{body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body (with a leading separator), or empty.
        body: String,
    },
    /// The bytes do not have the expected SHA-256; the file was deleted.
    #[error(
        "checksum mismatch for {url}: expected sha256 {expected}, got {actual} ({size} bytes); \
         the download was deleted — check the URL and `iso_sha256`"
    )]
    Mismatch {
        /// The URL.
        url: String,
        /// The configured checksum.
        expected: String,
        /// What the bytes hash to.
        actual: String,
        /// How many bytes were received.
        size: u64,
    },
    /// Another process is downloading the same file right now.
    #[error("`{path}` is being downloaded by another process; try again when it has finished")]
    Busy {
        /// The partial file.
        path: String,
    },
    /// The user interrupted us; the partial file is kept for resuming.
    #[error("download of {url} interrupted (the partial file is kept and resumed next time)")]
    Interrupted {
        /// The URL.
        url: String,
    },
}

/// How [`fetch`] obtained the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// It was already in the cache; nothing was read from the source.
    Cached,
    /// It was (fully or partly) transferred now.
    Downloaded {
        /// Bytes already present in the `.part` file from an earlier attempt.
        resumed_from: u64,
        /// Bytes transferred now.
        transferred: u64,
    },
}

/// What to download and where to.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `http://`, `https://` or `file://` URL.
    pub url: &'a str,
    /// Expected SHA-256, hex (either case).
    pub sha256: &'a str,
    /// The verified file's final path.
    pub dest: &'a Path,
    /// HTTP proxy for http(s) URLs (otherwise the environment's proxy settings apply).
    pub proxy: Option<&'a str>,
}

/// Progress callback: (bytes so far including resumed ones, total if known).
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// The cache path for a file with checksum `sha256` and extension `ext` under `dir`.
pub fn cache_path(dir: &Path, sha256: &str, ext: &str) -> PathBuf {
    dir.join(format!("{}.{ext}", sha256.to_ascii_lowercase()))
}

/// The in-progress path for `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// Check that `value` is a SHA-256 in hex; returns it lower-cased.
pub fn parse_sha256(value: &str) -> Result<String, DownloadError> {
    let v = value.trim();
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(DownloadError::BadChecksum {
            value: value.to_owned(),
        })
    }
}

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file (`file://`).
    File(PathBuf),
    /// An http(s) URL.
    Http(String),
}

/// Classify `url` by scheme.
pub fn parse_source(url: &str) -> Result<Source, DownloadError> {
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = url.strip_prefix("file://") {
        // file:///abs/path; an authority (file://host/...) is only accepted as localhost
        let path = rest.strip_prefix("localhost").unwrap_or(rest);
        if path.starts_with('/') {
            return Ok(Source::File(PathBuf::from(percent_decode(path))));
        }
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Source::Http(url.to_owned()));
    }
    Err(DownloadError::UnsupportedUrl {
        url: url.to_owned(),
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Make `req.dest` hold the verified file: a cache hit touches no source;
/// otherwise download (resuming a `.part`), verify and rename into place.
pub fn fetch(req: &Request<'_>, progress: Progress<'_>) -> Result<Fetched, DownloadError> {
    let expected = parse_sha256(req.sha256)?;
    let source = parse_source(req.url)?;
    if req.dest.is_file() {
        return Ok(Fetched::Cached);
    }
    if let Some(dir) = req.dest.parent() {
        std::fs::create_dir_all(dir).map_err(io_err("creating directory", dir))?;
    }
    let part = part_path(req.dest);
    let mut sink = PartFile::open(&part)?;
    let resumed_from = sink.len;
    let transferred = match source {
        Source::File(path) => copy_file(req.url, &path, &mut sink, progress)?,
        Source::Http(url) => http::copy_http(&url, req.proxy, &mut sink, progress)?,
    };
    let actual = sink.finish()?;
    if actual != expected {
        let size = sink.len;
        drop(sink);
        std::fs::remove_file(&part).map_err(io_err("removing bad download", &part))?;
        return Err(DownloadError::Mismatch {
            url: req.url.to_owned(),
            expected,
            actual,
            size,
        });
    }
    drop(sink);
    std::fs::rename(&part, req.dest).map_err(io_err("renaming into place", req.dest))?;
    Ok(Fetched::Downloaded {
        resumed_from,
        transferred,
    })
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DownloadError {
    let path = path.display().to_string();
    move |source| DownloadError::Io { what, path, source }
}

fn copy_file(
    url: &str,
    path: &Path,
    sink: &mut PartFile,
    progress: Progress<'_>,
) -> Result<u64, DownloadError> {
    let mut f = File::open(path).map_err(io_err("opening", path))?;
    let size = f.metadata().map_err(io_err("reading", path))?.len();
    if sink.len > size {
        sink.restart()?;
    }
    f.seek(SeekFrom::Start(sink.len))
        .map_err(io_err("seeking in", path))?;
    sink.append_from(url, &mut f, Some(size), progress)
}

/// Parse `bytes START-END/TOTAL` (TOTAL may be `*`).
pub fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = if total == "*" {
        None
    } else {
        Some(total.parse().ok()?)
    };
    Some((start.parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_syntax_is_checked() {
        let good = "AB".repeat(32);
        assert_eq!(parse_sha256(&good).unwrap(), "ab".repeat(32));
        assert!(parse_sha256("abc").is_err());
        assert!(parse_sha256(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn sources_by_scheme() {
        assert_eq!(
            parse_source("file:///tmp/a%20b.iso").unwrap(),
            Source::File("/tmp/a b.iso".into())
        );
        assert_eq!(
            parse_source("file://localhost/x").unwrap(),
            Source::File("/x".into())
        );
        assert!(matches!(
            parse_source("HTTPS://h/x").unwrap(),
            Source::Http(_)
        ));
        for bad in ["ftp://h/x", "/tmp/x", "file://host/x", "file:relative"] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn content_range_header() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn cache_and_part_paths() {
        let p = cache_path(Path::new("/c"), "ABC", "iso");
        assert_eq!(p, Path::new("/c/abc.iso"));
        assert_eq!(part_path(&p), Path::new("/c/abc.iso.part"));
    }
}
