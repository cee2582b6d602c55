//! The TCP connection under SSH, with its failure named the way a user can
//! act on it.
use super::SshConfig;
use crate::remote::RemoteError;

/// How long the TCP handshake of one attempt may take: a host that answers
/// at all answers within this; silence means a filtered port or a host that
/// is down.
const TCP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The TCP connection, with the cause of a failure named the way a user
/// can act on it (a typo in the name, nothing listening, no route).
pub(crate) async fn connect(cfg: &SshConfig) -> Result<tokio::net::TcpStream, RemoteError> {
    let name = cfg.host.trim_start_matches('[').trim_end_matches(']');
    let unreachable = |cause: String| RemoteError::Unreachable {
        host: cfg.display_host(),
        cause,
    };
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name, cfg.port))
        .await
        .map_err(|e| unreachable(format!("the name `{name}` does not resolve (DNS: {e})")))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout(TCP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last = Some(tcp_cause(addr, &e)),
            Err(_) => {
                last = Some(format!(
                    "no answer from {addr} within {} s (host down, or the port is filtered)",
                    TCP_TIMEOUT.as_secs()
                ))
            }
        }
    }
    Err(unreachable(last.unwrap_or_else(|| {
        format!("the name `{name}` resolves to no address")
    })))
}

/// "connection refused (nothing listens on that port) (at 10.0.0.1:22)".
fn tcp_cause(addr: &std::net::SocketAddr, e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let why = match e.kind() {
        K::ConnectionRefused => "connection refused (nothing listens on that port)",
        K::HostUnreachable => "no route to host",
        K::NetworkUnreachable => "network unreachable",
        K::TimedOut => "timed out",
        _ => "",
    };
    if why.is_empty() {
        format!("{e} (at {addr})")
    } else {
        format!("{why} (at {addr})")
    }
}
