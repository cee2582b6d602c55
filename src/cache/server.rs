//! Serving one connection from the guest (a forwarded SSH channel or a TCP
//! socket): requests one after the other, each routed, answered from the
//! store or fetched upstream first.
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};

use super::CacheError;
use super::http::{Request, read_request, send_bytes, send_file};
use super::pypi::html_page;
use super::route::{NPM_REGISTRY, PYPI_SIMPLE, Route, route};
use super::stats::{Kind, Stats};
use super::store::{Fetched, Store};

/// Everything a connection needs; shared by all of a run's connections.
#[derive(Debug)]
pub struct Server {
    /// The files.
    pub store: Store,
    /// Upstream client.
    pub client: reqwest::Client,
    /// Hits and misses.
    pub stats: Stats,
    /// Debian mirrors apt is sent here for (`host[:port]`).
    pub apt_hosts: Vec<String>,
    /// Problems worth telling the user (upstream failures), deduplicated.
    pub problems: std::sync::Mutex<Vec<String>>,
    /// Keys served in this run (each file is counted once).
    pub seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// What to send back for one request, prepared before it is its turn.
#[derive(Debug)]
enum Answer {
    /// A file from the store.
    File(std::path::PathBuf),
    /// A generated or relayed body.
    Bytes {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
}

impl Answer {
    fn text(status: u16, text: impl Into<String>) -> Answer {
        let mut body = text.into().into_bytes();
        body.push(b'\n');
        Answer::Bytes {
            status,
            content_type: "text/plain",
            body,
        }
    }
}

/// Requests prepared ahead of the one being answered: apt pipelines its
/// downloads on one connection, and a cold cache then fetches them
/// upstream side by side rather than one after the other.
const READ_AHEAD: usize = 8;

impl Server {
    /// Serve `stream` until the client closes it or an error ends it.
    /// Requests are read and prepared (fetched upstream) up to
    /// [`READ_AHEAD`] ahead; answers go out in request order.
    pub async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
        self: Arc<Self>,
        stream: S,
    ) {
        let (r, mut w) = tokio::io::split(stream);
        let (tx, mut rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        let me = self.clone();
        let reader = tokio::spawn(async move {
            let mut r = BufReader::new(r);
            loop {
                let req = match read_request(&mut r).await {
                    Ok(Some(req)) => req,
                    Ok(None) => return,
                    Err(e) => {
                        me.note(e.to_string());
                        return;
                    }
                };
                let close = req.close;
                let m = me.clone();
                let job = tokio::spawn(async move {
                    let answer = m.prepare(&req).await;
                    (req, answer)
                });
                if tx.send(job).await.is_err() || close {
                    return;
                }
            }
        });
        while let Some(job) = rx.recv().await {
            let Ok((req, answer)) = job.await else { break };
            let sent = match &answer {
                Answer::File(p) => send_file(&mut w, &req, "application/octet-stream", p)
                    .await
                    .map(|_| ()),
                Answer::Bytes {
                    status,
                    content_type,
                    body,
                } => send_bytes(&mut w, &req, *status, content_type, body).await,
            };
            if let Err(e) = sent {
                // the guest went away mid-answer: nothing more to say to it
                self.note(format!("answering `{}`: {e}", req.target));
                break;
            }
            if req.close {
                break;
            }
        }
        reader.abort();
    }

    /// Whether `key` is served for the first time in this run.
    fn first_time(&self, key: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned())
    }

    fn note(&self, problem: String) {
        let mut p = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !p.contains(&problem) && p.len() < 20 {
            p.push(problem);
        }
    }

    async fn prepare(&self, req: &Request) -> Answer {
        if req.method != "GET" && req.method != "HEAD" {
            return Answer::text(405, "GET and HEAD only");
        }
        match route(&req.target, &self.apt_hosts) {
            Route::AptFile { url, key } => self.file(Some(Kind::Apt), &url, &key, None).await,
            Route::PypiFile { url, sha256, key } => {
                self.file(Some(Kind::Pypi), &url, &key, Some(&sha256)).await
            }
            Route::PypiMetadata { url, key } => self.file(None, &url, &key, None).await,
            Route::NpmTarball { url, key } => self.file(Some(Kind::Npm), &url, &key, None).await,
            Route::AptRelay { url } => {
                match super::upstream::get_small(&self.client, &url, None).await {
                    Ok((status, body)) => Answer::Bytes {
                        status,
                        content_type: "application/octet-stream",
                        body,
                    },
                    Err(e) => self.bad_gateway(e),
                }
            }
            Route::PypiProject { project } => {
                let url = format!("{PYPI_SIMPLE}{project}/");
                let json = "application/vnd.pypi.simple.v1+json";
                match super::upstream::get_small(&self.client, &url, Some(json)).await {
                    Ok((200, body)) => match html_page(&project, &body) {
                        Ok(page) => Answer::Bytes {
                            status: 200,
                            content_type: "text/html",
                            body: page.into_bytes(),
                        },
                        Err(e) => self.bad_gateway(CacheError::Upstream { url, message: e }),
                    },
                    Ok((status, body)) => Answer::Bytes {
                        status,
                        content_type: "text/plain",
                        body,
                    },
                    Err(e) => self.bad_gateway(e),
                }
            }
            Route::NpmPackage { url } => {
                let accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";
                match super::upstream::get_small(&self.client, &url, Some(accept)).await {
                    Ok((200, body)) => {
                        let here = format!(
                            "\"http://{}/npm/",
                            req.host.as_deref().unwrap_or("127.0.0.1")
                        );
                        let text = String::from_utf8_lossy(&body)
                            .replace(&format!("\"{NPM_REGISTRY}"), &here);
                        Answer::Bytes {
                            status: 200,
                            content_type: "application/json",
                            body: text.into_bytes(),
                        }
                    }
                    Ok((status, body)) => Answer::Bytes {
                        status,
                        content_type: "application/json",
                        body,
                    },
                    Err(e) => self.bad_gateway(e),
                }
            }
            Route::Refused(why) => Answer::text(403, why),
        }
    }

    /// A file that never changes under its key: from the store, or fetched
    /// (and checked against `sha256`) first; counted under `kind` (wheel
    /// metadata files are not counted).
    async fn file(&self, kind: Option<Kind>, url: &str, key: &str, sha256: Option<&str>) -> Answer {
        // each file counts once per run: a hit when it was in the store
        // already, a miss when it had to be fetched (uv reads a wheel's
        // metadata with range requests before it fetches the whole wheel)
        if let Some(p) = self.store.lookup(key) {
            if self.first_time(key)
                && let Some(k) = kind
            {
                self.stats.hit(k, size(&p));
            }
            return Answer::File(p);
        }
        match self.store.fetch(&self.client, url, key, sha256).await {
            Ok(Fetched::Stored(p)) => {
                if self.first_time(key)
                    && let Some(k) = kind
                {
                    self.stats.miss(k, size(&p));
                }
                Answer::File(p)
            }
            Ok(Fetched::Status(s)) => Answer::text(s, format!("upstream answered {s}")),
            Err(e) => {
                if let Some(k) = kind {
                    self.stats.failure(k);
                }
                self.bad_gateway(e)
            }
        }
    }

    fn bad_gateway(&self, e: CacheError) -> Answer {
        let text = e.to_string();
        self.note(text.clone());
        Answer::text(502, text)
    }
}

fn size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn server(dir: &std::path::Path) -> Arc<Server> {
        Arc::new(Server {
            store: Store::new(dir.to_path_buf()),
            client: reqwest::Client::new(),
            stats: Stats::default(),
            apt_hosts: vec!["deb.debian.org".into()],
            problems: Default::default(),
            seen: Default::default(),
        })
    }

    #[tokio::test]
    async fn pipelined_answers_in_order_from_the_store() {
        let d = tempfile::tempdir().unwrap();
        let key = "apt/deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb";
        std::fs::create_dir_all(d.path().join(key).parent().unwrap()).unwrap();
        std::fs::write(d.path().join(key), b"0123456789").unwrap();
        let s = server(d.path());
        let (mut client, end) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(s.clone().serve(end));
        client
            .write_all(
                b"GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n\
                  GET http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n\
                  GET http://deb.debian.org/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb HTTP/1.1\r\nRange: bytes=-4\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut all = String::new();
        client.read_to_string(&mut all).await.unwrap();
        task.await.unwrap();
        let refused = all.find("403 Forbidden").unwrap();
        let whole = all.find("200 OK").unwrap();
        let part = all.find("206 Partial Content").unwrap();
        assert!(refused < whole && whole < part, "{all}");
        assert!(all.contains("\r\n\r\n0123456789HTTP/1.1 206"), "{all}");
        assert!(
            all.contains("Content-Range: bytes 6-9/10") && all.ends_with("6789"),
            "{all}"
        );
        assert_eq!(s.stats.totals(), (1, 0), "one file, counted once");
    }
}
