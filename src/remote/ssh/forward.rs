//! A remote port forward (`ssh -R`): the server listens on its loopback and
//! every connection made there arrives here as a stream, handed to a
//! service running in this process (the package cache). Requested again on
//! every reconnect, so it lives as long as the transport.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream from the remote side.
pub trait ForwardedStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> ForwardedStream for T {}

/// Takes each forwarded connection (spawns its own task).
pub type ForwardService = Arc<dyn Fn(Box<dyn ForwardedStream>) + Send + Sync>;

/// The remote forward a transport keeps open.
#[derive(Clone)]
pub struct RemoteForward {
    /// The port asked for on the server's 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Where connections go.
    pub service: ForwardService,
    bound: Arc<AtomicU32>,
}

impl std::fmt::Debug for RemoteForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteForward")
            .field("port", &self.port)
            .field("bound", &self.bound_port())
            .finish()
    }
}

impl RemoteForward {
    /// Forward the server's `127.0.0.1:port` to `service`.
    pub fn new(port: u16, service: ForwardService) -> RemoteForward {
        RemoteForward {
            port,
            service,
            bound: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The port the server listens on, once it agreed (`None`: it refused,
    /// e.g. `AllowTcpForwarding no`, or no connection was made yet).
    pub fn bound_port(&self) -> Option<u16> {
        u16::try_from(self.bound.load(Ordering::SeqCst))
            .ok()
            .filter(|p| *p != 0)
    }

    /// The port to ask for: the one already bound (the guest was told it),
    /// else the configured one.
    pub(crate) fn wanted(&self) -> u16 {
        self.bound_port().unwrap_or(self.port)
    }

    pub(crate) fn set_bound(&self, port: Option<u16>) {
        self.bound
            .store(port.map_or(0, u32::from), Ordering::SeqCst);
    }
}
