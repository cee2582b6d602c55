//! The little HTTP/1.1 the cache speaks with package managers in the guest:
//! GET and HEAD without bodies, kept-alive and pipelined connections (apt
//! pipelines), answers with a `Content-Length`. Parsing is pure and tested.
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use super::CacheError;

/// The longest request head accepted (apt's and uv's are < 1 KiB).
const MAX_HEAD: usize = 64 * 1024;

/// One request from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD` (others are answered 405).
    pub method: String,
    /// The request target: absolute (`http://host/path`, apt using us as a
    /// proxy) or a path (`/pypi/...`, `/npm/...`).
    pub target: String,
    /// `Host` header, if any.
    pub host: Option<String>,
    /// Whether the client asked to close the connection after this answer.
    pub close: bool,
    /// A `Range` header (`bytes=...`): uv reads a wheel's metadata from the
    /// end of the file before it fetches the whole wheel.
    pub range: Option<String>,
}

/// Parse a request head (request line and header lines, without the empty
/// line that ends it).
pub fn parse_head(head: &str) -> Result<Request, String> {
    let mut lines = head.lines();
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not an HTTP request line: `{}`", excerpt(line)));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(format!("not an HTTP/1.x request line: `{}`", excerpt(line)));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        host: None,
        close: version == "HTTP/1.0",
        range: None,
    };
    for l in lines {
        let Some((name, value)) = l.split_once(':') else {
            return Err(format!("not a header line: `{}`", excerpt(l)));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("host") {
            req.host = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("range") {
            req.range = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("connection") {
            req.close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("content-length") && value != "0" {
            return Err("requests with a body are not supported".to_owned());
        }
    }
    Ok(req)
}

/// Read the next request head; `None` when the client closed the connection
/// between requests.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<Option<Request>, CacheError> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .await
            .map_err(|e| CacheError::Client(format!("reading a request: {e}")))?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(CacheError::Client(
                    "connection closed inside a request".into(),
                ))
            };
        }
        if line == "\r\n" || line == "\n" {
            if head.is_empty() {
                continue; // stray empty lines between requests are allowed
            }
            return parse_head(&head).map(Some).map_err(CacheError::Client);
        }
        head.push_str(&line);
        if head.len() > MAX_HEAD {
            return Err(CacheError::Client("request head too long".into()));
        }
    }
}

/// The head of an answer with a body of `len` bytes.
pub fn response_head(status: u16, content_type: &str, len: u64, close: bool) -> String {
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
         Accept-Ranges: bytes\r\nConnection: {}\r\n\r\n",
        reason(status),
        if close { "close" } else { "keep-alive" }
    )
}

/// The byte range (first, last; inclusive) a single-range `Range` header
/// asks for in a file of `len` bytes; `None` when it cannot be served as
/// one range (then the whole file is sent, as HTTP allows).
pub fn parse_range(spec: &str, len: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (first, last) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len - 1)
    } else {
        let first: u64 = a.parse().ok()?;
        let last = if b.is_empty() {
            len - 1
        } else {
            b.parse::<u64>().ok()?.min(len - 1)
        };
        (first, last)
    };
    (first <= last && first < len).then_some((first, last))
}

/// Send a small answer (an error or a generated page).
pub async fn send_bytes<W: AsyncWrite + Unpin>(
    w: &mut W,
    req: &Request,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = response_head(status, content_type, body.len() as u64, req.close);
    w.write_all(head.as_bytes()).await?;
    if req.method != "HEAD" {
        w.write_all(body).await?;
    }
    w.flush().await
}

/// Send a file from the store, or the part of it `req.range` asks for.
/// Returns whether the whole file was sent.
pub async fn send_file<W: AsyncWrite + Unpin>(
    w: &mut W,
    req: &Request,
    content_type: &str,
    path: &std::path::Path,
) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(path).await?;
    let len = f.metadata().await?.len();
    let range = req.range.as_deref().and_then(|r| parse_range(r, len));
    let (first, count, head) = match range {
        Some((first, last)) => {
            let count = last - first + 1;
            let head = response_head(206, content_type, count, req.close).replace(
                "\r\nAccept-Ranges",
                &format!("\r\nContent-Range: bytes {first}-{last}/{len}\r\nAccept-Ranges"),
            );
            (first, count, head)
        }
        None => (0, len, response_head(200, content_type, len, req.close)),
    };
    w.write_all(head.as_bytes()).await?;
    if req.method != "HEAD" {
        f.seek(std::io::SeekFrom::Start(first)).await?;
        let copied = tokio::io::copy(&mut (&mut f).take(count), w).await?;
        if copied != count {
            return Err(std::io::Error::other(format!(
                "{} changed while it was sent",
                path.display()
            )));
        }
    }
    w.flush().await?;
    Ok(range.is_none() && req.method != "HEAD")
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_proxy_request() {
        let r = parse_head(
            "GET http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb HTTP/1.1\r\n\
             Host: deb.debian.org\r\nUser-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert!(r.target.starts_with("http://deb.debian.org/"));
        assert_eq!(r.host.as_deref(), Some("deb.debian.org"));
        assert!(!r.close);
    }

    #[test]
    fn close_and_http10() {
        assert!(parse_head("GET / HTTP/1.0\r\n").unwrap().close);
        assert!(
            parse_head("GET / HTTP/1.1\r\nConnection: Close\r\n")
                .unwrap()
                .close
        );
    }

    #[test]
    fn refused() {
        for bad in [
            "",
            "GET /",
            "GET / SPDY/3",
            "GET  / HTTP/1.1",
            "GET / HTTP/1.1\r\nno colon here\r\n",
            "GET / HTTP/1.1\r\nContent-Length: 5\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn pipelined_requests() {
        let raw = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut r = tokio::io::BufReader::new(&raw[..]);
        let a = read_request(&mut r).await.unwrap().unwrap();
        let b = read_request(&mut r).await.unwrap().unwrap();
        assert_eq!((a.target.as_str(), b.method.as_str()), ("/a", "HEAD"));
        assert!(read_request(&mut r).await.unwrap().is_none());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-1000", 100), Some((0, 99)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 99)));
        for whole in [
            "bytes=100-",
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=x-",
        ] {
            assert_eq!(parse_range(whole, 100), None, "{whole}");
        }
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }

    #[test]
    fn head() {
        assert_eq!(
            response_head(404, "text/plain", 3, true),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
        );
    }
}
