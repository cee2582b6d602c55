//! http(s) sources: resuming with `Range`, coping with servers that ignore it.
use std::io::Read;

use super::part::PartFile;
use super::{DownloadError, Progress, STALL_TIMEOUT, parse_content_range};

pub(super) fn copy_http(
    url: &str,
    proxy: Option<&str>,
    sink: &mut PartFile,
    progress: Progress<'_>,
) -> Result<u64, DownloadError> {
    let http_err = |source| DownloadError::Http {
        url: url.to_owned(),
        source,
    };
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(STALL_TIMEOUT)
        .timeout(STALL_TIMEOUT);
    if let Some(p) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(p).map_err(http_err)?);
    }
    let client = builder.build().map_err(http_err)?;
    let mut get = client.get(url);
    if sink.len > 0 {
        get = get.header(reqwest::header::RANGE, format!("bytes={}-", sink.len));
    }
    let mut resp = get.send().map_err(http_err)?;
    let status = resp.status().as_u16();
    let total = match status {
        206 => match content_range(&resp) {
            Some((start, total)) if start == sink.len => total,
            // a range we did not ask for: start over without Range
            _ => {
                sink.restart()?;
                return copy_http(url, proxy, sink, progress);
            }
        },
        200 => {
            // the server ignored Range: it sends everything again
            sink.restart()?;
            resp.content_length()
        }
        416 if sink.len > 0 => {
            // nothing past our end: either the .part is complete (the hash
            // decides) or it is longer than the file (start over)
            let total = content_range_total(&resp);
            if total == Some(sink.len) {
                return Ok(0);
            }
            sink.restart()?;
            return copy_http(url, proxy, sink, progress);
        }
        _ => {
            let mut body = String::new();
            let _ = resp.by_ref().take(300).read_to_string(&mut body);
            let body = body.trim();
            return Err(DownloadError::Status {
                url: url.to_owned(),
                status,
                body: if body.is_empty() {
                    String::new()
                } else {
                    format!(": {body}")
                },
            });
        }
    };
    sink.append_from(url, &mut resp, total, progress)
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL if known).
fn content_range(resp: &reqwest::blocking::Response) -> Option<(u64, Option<u64>)> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    parse_content_range(v)
}

fn content_range_total(resp: &reqwest::blocking::Response) -> Option<u64> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    v.trim().strip_prefix("bytes */")?.parse().ok()
}
