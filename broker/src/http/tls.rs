//! Optional TLS termination in the broker, for deployments without a reverse proxy.
//!
//! rustls 0.23 on the `ring` provider: the same rustls and provider that reqwest already
//! links for the ORDS side, so TLS adds no second crypto stack. TLS 1.2 and 1.3 only;
//! ALPN offers `http/1.1` (the broker's server speaks HTTP/1.1).
//!
//! [`TlsListener`] is an `axum::serve::Listener`. Handshakes run in their own tasks
//! with a deadline and a cap on how many may be pending, so one slow or silent client
//! cannot hold up accepting everyone else (a handshake-level slowloris). One address
//! (an IPv6 /64) may have only [`MAX_PENDING_PER_ADDRESS`] of them: beyond that its new
//! connections are closed at once, so a flood of idle connections from one place
//! cannot fill the global cap and stop the handshakes of everyone else.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::{IpAddr, SocketAddr};
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

use crate::guard::ip_bucket;

/// How long a client has to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; beyond this, accepting pauses until one ends.
pub(crate) const MAX_PENDING_HANDSHAKES: usize = 256;
/// Handshakes in progress at once from one address (IPv6: one /64). A browser opens a
/// handful of connections; a desktop app one.
pub(crate) const MAX_PENDING_PER_ADDRESS: usize = 16;

/// A finished handshake: the stream and its peer.
type Accepted = (TlsStream<TcpStream>, SocketAddr);

/// Why TLS could not be set up; every message names the file involved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
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
    warn_if_readable_by_others(path);
    // The parse error is not shown: it could quote a line of the key file.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey {
        path: path.to_owned(),
    })
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format_args!("{mode:o}"), "TLS private key is readable by group or others; use 0600");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// A TCP listener that hands out TLS streams once their handshake is done.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<(IpAddr, Option<Accepted>)>,
    pending: HashMap<IpAddr, usize>,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
            pending: HashMap::new(),
        }
    }

    fn start_handshake(&mut self, stream: TcpStream, peer: SocketAddr) {
        let bucket = ip_bucket(peer.ip());
        let pending = self.pending.entry(bucket).or_default();
        if *pending >= MAX_PENDING_PER_ADDRESS {
            tracing::debug!(%peer, "too many TLS handshakes pending from this address; closing");
            drop(stream);
            return;
        }
        *pending += 1;
        let acceptor = self.acceptor.clone();
        self.handshakes.spawn(async move {
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
            (bucket, done)
        });
    }

    fn finish_handshake(&mut self, bucket: IpAddr) {
        if let Some(pending) = self.pending.get_mut(&bucket) {
            *pending -= 1;
            if *pending == 0 {
                self.pending.remove(&bucket);
            }
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_PENDING_HANDSHAKES;
            tokio::select! {
                accepted = self.tcp.accept(), if room => match accepted {
                    Ok((stream, peer)) => self.start_handshake(stream, peer),
                    Err(e) => {
                        // As axum does for plain TCP: out of file descriptors and the
                        // like; back off briefly instead of spinning.
                        tracing::error!(error = %e, "accept error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(done) = self.handshakes.join_next() => {
                    // A handshake task never panics; were it cancelled, its address
                    // would keep one slot until the listener is dropped.
                    if let Ok((bucket, done)) = done {
                        self.finish_handshake(bucket);
                        if let Some(ready) = done {
                            return ready;
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
#[path = "tls_tests.rs"]
mod tests;
