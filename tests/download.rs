//! The downloader against a small HTTP server on 127.0.0.1 that this test
//! starts (with `Range` support), and against file:// URLs.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use vmbuild::download::{DownloadError, Fetched, Request, fetch, part_path};

/// How the test server behaves.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Answer 200 with the whole body even when asked for a range.
    ignore_range: bool,
    /// On the first request, send only this many body bytes, then hang up.
    cut_first_after: Option<usize>,
}

struct Server {
    url: String,
    /// The `Range` header of each request (empty if none).
    ranges: Arc<Mutex<Vec<String>>>,
}

fn serve(body: Vec<u8>, how: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/file.iso", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut range = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("range")
                {
                    range = v.trim().to_owned();
                }
            }
            let first = {
                let mut s = seen.lock().unwrap();
                s.push(range.clone());
                s.len() == 1
            };
            if !request_line.contains("/file.iso") {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                );
                continue;
            }
            let start = range
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|_| !how.ignore_range);
            let head = match start {
                Some(s) if s >= body.len() => format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    body.len()
                ),
                Some(s) => format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len() - 1,
                    body.len(),
                    body.len() - s
                ),
                None => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                ),
            };
            let from = start.filter(|s| *s < body.len()).unwrap_or(0);
            let to = if start.is_some_and(|s| s >= body.len()) {
                from
            } else {
                match how.cut_first_after {
                    Some(n) if first => from + n,
                    _ => body.len(),
                }
            };
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[from..to]);
        }
    });
    Server { url, ranges }
}

fn payload() -> (Vec<u8>, String) {
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&body));
    (body, sha)
}

fn get(url: &str, sha: &str, dest: &Path) -> Result<Fetched, DownloadError> {
    let req = Request {
        url,
        sha256: sha,
        dest,
        proxy: None,
    };
    fetch(&req, &mut |_, _| {})
}

#[test]
fn fresh_download_is_verified_and_renamed_into_place() {
    let (body, sha) = payload();
    let srv = serve(body.clone(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("cache/x.iso");
    let got = get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded {
            resumed_from: 0,
            transferred: body.len() as u64
        }
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!part_path(&dest).exists());
    assert_eq!(*srv.ranges.lock().unwrap(), [""]);
}

#[test]
fn a_partial_file_is_resumed_with_a_range_request() {
    let (body, sha) = payload();
    let srv = serve(body.clone(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    std::fs::write(part_path(&dest), &body[..1_000_000]).unwrap();
    let got = get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded {
            resumed_from: 1_000_000,
            transferred: 2_000_000
        }
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(*srv.ranges.lock().unwrap(), ["bytes=1000000-"]);
}

#[test]
fn a_dropped_connection_keeps_the_part_and_the_next_run_resumes() {
    let (body, sha) = payload();
    let how = Behaviour {
        cut_first_after: Some(1_234_567),
        ..Behaviour::default()
    };
    let srv = serve(body.clone(), how);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    let err = get(&srv.url, &sha, &dest).unwrap_err();
    assert!(!dest.exists(), "unverified data must not be cached: {err}");
    let kept = std::fs::metadata(part_path(&dest)).unwrap().len();
    assert_eq!(kept, 1_234_567, "{err}");
    let got = get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded {
            resumed_from: kept,
            transferred: body.len() as u64 - kept
        }
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(*srv.ranges.lock().unwrap(), ["", "bytes=1234567-"]);
}

#[test]
fn a_server_ignoring_range_restarts_from_zero() {
    let (body, sha) = payload();
    let how = Behaviour {
        ignore_range: true,
        ..Behaviour::default()
    };
    let srv = serve(body.clone(), how);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    std::fs::write(part_path(&dest), &body[..500]).unwrap();
    let got = get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded {
            resumed_from: 500,
            transferred: body.len() as u64
        }
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn a_complete_part_left_before_the_rename_is_finished() {
    let (body, sha) = payload();
    let srv = serve(body.clone(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    std::fs::write(part_path(&dest), &body).unwrap();
    get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_is_kept() {
    let (body, sha) = payload();
    let srv = serve(body, Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    let wrong = "0".repeat(64);
    let err = get(&srv.url, &wrong, &dest).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Mismatch { .. }), "{msg}");
    assert!(msg.contains(&wrong) && msg.contains(&sha), "{msg}");
    assert!(!dest.exists());
    assert!(!part_path(&dest).exists());
}

#[test]
fn a_cache_hit_does_no_network() {
    let (body, sha) = payload();
    let srv = serve(body.clone(), Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    get(&srv.url, &sha, &dest).unwrap();
    assert_eq!(srv.ranges.lock().unwrap().len(), 1);
    assert_eq!(get(&srv.url, &sha, &dest).unwrap(), Fetched::Cached);
    assert_eq!(
        srv.ranges.lock().unwrap().len(),
        1,
        "second fetch hit the server"
    );
    // not even a connection attempt: an unreachable URL is fine on a hit
    let dead = "http://127.0.0.1:9/file.iso";
    assert_eq!(get(dead, &sha, &dest).unwrap(), Fetched::Cached);
}

#[test]
fn http_errors_name_the_url_and_status() {
    let (body, sha) = payload();
    let srv = serve(body, Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let url = srv.url.replace("file.iso", "missing.iso");
    let err = get(&url, &sha, &dir.path().join("x.iso")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("HTTP 404") && msg.contains(&url), "{msg}");
}

#[test]
fn file_urls_download_and_resume() {
    let (body, sha) = payload();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source dir/in.iso");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, &body).unwrap();
    let url = format!("file://{}", src.display().to_string().replace(' ', "%20"));
    let dest = dir.path().join("x.iso");
    std::fs::write(part_path(&dest), &body[..10]).unwrap();
    let got = get(&url, &sha, &dest).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded {
            resumed_from: 10,
            transferred: body.len() as u64 - 10
        }
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);

    let err = get(&url, &"1".repeat(64), &dir.path().join("y.iso")).unwrap_err();
    assert!(matches!(err, DownloadError::Mismatch { .. }), "{err}");
    assert!(!dir.path().join("y.iso").exists());
    assert!(!part_path(&dir.path().join("y.iso")).exists());
}

#[test]
fn a_second_concurrent_download_is_refused() {
    let (body, sha) = payload();
    let srv = serve(body, Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.iso");
    // hold the lock as a running download would
    let part = std::fs::File::create(part_path(&dest)).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on our own descriptor.
    assert_eq!(unsafe { libc::flock(part.as_raw_fd(), libc::LOCK_EX) }, 0);
    let err = get(&srv.url, &sha, &dest).unwrap_err();
    assert!(matches!(err, DownloadError::Busy { .. }), "{err}");
    assert!(srv.ranges.lock().unwrap().is_empty());
    drop(part);
    get(&srv.url, &sha, &dest).unwrap();
}
