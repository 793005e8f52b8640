//! Optional TLS termination in the broker, for deployments without a reverse proxy.
//!
//! rustls 0.23 on the `ring` provider: the same rustls and provider that reqwest already
//! links for the ORDS side, so TLS adds no second crypto stack. TLS 1.2 and 1.3 only;
//! ALPN offers `http/1.1` (the broker's server speaks HTTP/1.1).
//!
//! [`TlsListener`] is an `axum::serve::Listener`. Handshakes run in their own tasks
//! with a deadline, so one slow or silent client cannot hold up accepting everyone else
//! (a handshake-level slowloris). The listener never stops accepting: were it to pause
//! while the pending handshakes are at their cap, idle connections from a few addresses
//! would leave real clients in the kernel backlog until one of them timed out. Instead,
//! at the cap a new connection evicts a pending handshake of the address that holds the
//! most (that address's oldest). Evicting the oldest of all would let a fast flood push
//! out a real client whose hello is slow (about 2,000 silent connections a second from
//! 128 addresses evict everything older than half a second); evicting from the most
//! crowded address makes a flood evict its own connections, and a client with one
//! handshake pending goes only once every address has at most one. One address (an
//! IPv6 /64) may have only [`MAX_PENDING_PER_ADDRESS`] of them: beyond that its new
//! connections are closed at once, so it cannot evict anyone else's. See [`Slots`].

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::slots::{Room, Slots};
use crate::config::files::warn_if_readable_by_others;
use crate::config::vars as var;
use crate::guard::ip_bucket;

/// How long a client has to complete the TLS handshake: one or two round trips after
/// connecting, so this leaves room for a slow link and a lost packet's retransmission
/// (about 1 s). Not longer, because a silent connection holds its slot this long (the
/// eviction at the cap, not this deadline, is what protects against a flood), and the
/// desktop client gives up after 5 s by default anyway.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshakes in progress at once; beyond this, a new connection evicts one (see the
/// module docs). A
/// pending handshake costs a socket and a few KB, so the cap can be high enough that a
/// flood must be large and fast to evict a real client before its hello arrives.
pub(crate) const MAX_PENDING_HANDSHAKES: usize = 1024;
/// Handshakes in progress at once from one address (IPv6: one /64). A browser opens a
/// handful of connections; a desktop app one.
pub(crate) const MAX_PENDING_PER_ADDRESS: usize = 16;

/// A finished handshake: the stream and its peer.
type Accepted = (TlsStream<TcpStream>, SocketAddr);

/// Why TLS could not be set up; every message names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate chain {path}: {source}")]
    ReadCert { path: PathBuf, source: io::Error },
    #[error("the TLS certificate chain {path} is not PEM: {reason}")]
    BadCert { path: PathBuf, reason: String },
    #[error("the TLS certificate chain {path} holds no CERTIFICATE block")]
    NoCert { path: PathBuf },
    #[error("cannot read the TLS private key {path}: {source}")]
    ReadKey { path: PathBuf, source: io::Error },
    #[error("the TLS private key {path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("the TLS certificate {cert} and private key {key} cannot be used together: {source}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// Reads `cert` (the chain, leaf first) and `key` and builds the server configuration.
pub(crate) fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs(cert)?;
    let private_key = read_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |source| TlsError::Mismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(certs, private_key)
        .map_err(mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = fs::read(path).map_err(|source| TlsError::ReadCert {
        path: path.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCert {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = fs::read(path).map_err(|source| TlsError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    warn_if_readable_by_others(path, var::TLS_KEY_FILE);
    // The parse error is not shown: it could quote a line of the key file.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey {
        path: path.to_owned(),
    })
}

/// A TCP listener that hands out TLS streams once their handshake is done.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<Accepted>>,
    /// The handshakes in progress, counted against the caps.
    pending: Slots,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
            pending: Slots::new(MAX_PENDING_HANDSHAKES, MAX_PENDING_PER_ADDRESS),
        }
    }

    /// A smaller global cap, so a test can fill it with a few connections.
    #[cfg(test)]
    pub(crate) fn with_max_pending(mut self, max_pending: usize) -> Self {
        self.pending = Slots::new(max_pending, MAX_PENDING_PER_ADDRESS);
        self
    }

    fn start_handshake(&mut self, stream: TcpStream, peer: SocketAddr) {
        let bucket = ip_bucket(peer.ip());
        match self.pending.make_room(bucket) {
            Room::AddressFull => {
                tracing::debug!(%peer, "too many TLS handshakes pending from this address; closing");
                drop(stream);
                return;
            }
            Room::Made { evicted: 0 } => {}
            Room::Made { .. } => {
                tracing::debug!(%peer, "TLS handshakes at their cap; evicted the oldest of the most crowded address");
            }
        }
        let acceptor = self.acceptor.clone();
        let abort = self.handshakes.spawn(async move {
            let done = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                Ok(Ok(tls)) => Some((tls, peer)),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    None
                }
            };
            done
        });
        self.pending.hold(bucket, abort);
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, peer)) => self.start_handshake(stream, peer),
                    Err(e) => {
                        // As axum does for plain TCP: out of file descriptors and the
                        // like; back off briefly instead of spinning.
                        tracing::error!(error = %e, "accept error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(done) = self.handshakes.join_next_with_id() => {
                    match done {
                        Ok((id, done)) => {
                            // An evicted handshake may have finished before its abort
                            // took effect; its slot is already free, so serve it.
                            self.pending.release(id);
                            if let Some(ready) = done {
                                return ready;
                            }
                        }
                        Err(e) => {
                            self.pending.release(e.id());
                        }
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests;
