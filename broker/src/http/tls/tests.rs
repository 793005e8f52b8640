//! Tests for `tls`: a real round trip over TLS with a certificate made in the test,
//! errors that name the file, and a silent client that does not block others.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::io::AsyncWriteExt;

use super::*;

struct Pki {
    dir: tempfile::TempDir,
    cert_pem: String,
}

impl Pki {
    fn new() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert_pem = certified.cert.pem();
        fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
        fs::write(
            dir.path().join("key.pem"),
            certified.key_pair.serialize_pem(),
        )
        .unwrap();
        Self { dir, cert_pem }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// Serves a router that echoes the peer address, the way the broker will be wired.
async fn spawn_tls_server(pki: &Pki) -> SocketAddr {
    spawn_tls_server_with_cap(pki, MAX_PENDING_HANDSHAKES).await
}

async fn spawn_tls_server_with_cap(pki: &Pki, max_pending: usize) -> SocketAddr {
    let config = server_config(&pki.cert(), &pki.key()).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    // `tap_io` makes axum's `ConnectInfo<SocketAddr>` available for a custom listener.
    let listener = TlsListener::new(tcp, config)
        .with_max_pending(max_pending)
        .tap_io(|_| ());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

fn client_trusting(pki: &Pki, addr: SocketAddr) -> reqwest::Client {
    client_trusting_within(pki, addr, Duration::from_secs(10))
}

/// [`client_trusting`] that gives up after `timeout`.
fn client_trusting_within(pki: &Pki, addr: SocketAddr, timeout: Duration) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(pki.cert_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", addr)
        .https_only(true)
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_client_trusting_the_certificate_gets_an_answer_with_its_address() {
    let pki = Pki::new();
    let addr = spawn_tls_server(&pki).await;
    let client = client_trusting(&pki, addr);
    let res = client
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.text().await.unwrap(), "127.0.0.1");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let pki = Pki::new();
    let addr = spawn_tls_server(&pki).await;
    let client = reqwest::Client::builder()
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let err = client
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await;
    assert!(err.is_err());
    // The server keeps serving after a failed handshake.
    let res = client_trusting(&pki, addr)
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await;
    assert_eq!(res.unwrap().status(), 200);
}

#[tokio::test]
async fn silent_and_plain_http_clients_do_not_block_others() {
    let pki = Pki::new();
    let addr = spawn_tls_server(&pki).await;
    let _silent = TcpStream::connect(addr).await.unwrap();
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let res = client_trusting(&pki, addr)
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await;
    assert_eq!(res.unwrap().status(), 200);
}

#[tokio::test]
async fn an_idle_connection_flood_from_one_address_does_not_stop_others_handshakes() {
    let pki = Pki::new();
    let addr = spawn_tls_server(&pki).await;
    // 300 connections that never send a byte, all from 127.0.0.2: without a cap per
    // address they would hold most of the pending handshakes.
    let mut flood = Vec::new();
    for _ in 0..300 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        flood.push(socket.connect(addr).await.unwrap());
    }
    let client = client_trusting_within(&pki, addr, Duration::from_secs(3));
    let res = client
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await
        .expect("a client from another address completes its handshake at once");
    assert_eq!(res.text().await.unwrap(), "127.0.0.1");
    // The flooding address was cut back to its share.
    let mut closed = 0;
    for stream in &flood {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(20), stream.peek(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 300 - MAX_PENDING_PER_ADDRESS,
        "{closed} of 300 closed"
    );
}

#[tokio::test]
async fn idle_connections_from_many_addresses_evict_the_oldest_instead_of_blocking() {
    const CAP: usize = 32;
    const ADDRESSES: usize = 2 * CAP / MAX_PENDING_PER_ADDRESS;
    let pki = Pki::new();
    let addr = spawn_tls_server_with_cap(&pki, CAP).await;
    // Each address stays within its own cap, yet together they are twice the global
    // one: a listener that paused at the cap would leave the next client in the kernel
    // backlog until an idle handshake timed out.
    let mut flood = Vec::new();
    for host in 0..ADDRESSES {
        let source = format!("127.0.0.{}:0", host + 2).parse().unwrap();
        for _ in 0..MAX_PENDING_PER_ADDRESS {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(source).unwrap();
            flood.push(socket.connect(addr).await.unwrap());
        }
    }
    let started = tokio::time::Instant::now();
    let client = client_trusting_within(&pki, addr, HANDSHAKE_TIMEOUT / 3);
    let res = client
        .get(format!("https://localhost:{}/peer", addr.port()))
        .send()
        .await
        .expect("a new client is accepted and handshakes at once despite the full cap");
    assert_eq!(res.text().await.unwrap(), "127.0.0.1");
    assert!(started.elapsed() < HANDSHAKE_TIMEOUT / 3);
    // Some were evicted to make room (checked all at once, well within the handshake
    // deadline); the newest is still pending, not refused.
    let closed = futures::future::join_all(flood.iter().map(is_closed)).await;
    let evicted = closed.iter().filter(|c| **c).count();
    assert!(
        evicted >= flood.len() - CAP,
        "{evicted} of {} evicted",
        flood.len()
    );
    assert!(
        !closed.last().unwrap(),
        "the newest idle connection is still pending"
    );
}

#[tokio::test]
async fn a_slow_hello_survives_a_flood_of_silent_connections_from_many_addresses() {
    const CAP: usize = 32;
    let pki = Pki::new();
    let addr = spawn_tls_server_with_cap(&pki, CAP).await;
    // A real client connects; its hello is slow to come (a congested link).
    let slow = TcpStream::connect(addr).await.unwrap();
    // Meanwhile silent connections from many addresses, each within its own cap,
    // together several times the global one: the oldest of all would be the client.
    let mut flood = Vec::new();
    for _ in 0..MAX_PENDING_PER_ADDRESS {
        for host in 0..16 {
            let source = format!("127.0.1.{}:0", host + 1).parse().unwrap();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(source).unwrap();
            flood.push(socket.connect(addr).await.unwrap());
        }
    }
    assert!(
        !is_closed(&slow).await,
        "the client with one pending handshake was evicted"
    );
    // Its hello arrives now, and the handshake and a request complete.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, slow))
        .await
        .expect("the handshake completes in time")
        .expect("the handshake succeeds");
    tls.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tls, &mut answer)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("127.0.0.1"), "{answer}");
    drop(flood);
}

/// Whether the server closed `stream`; one that sends nothing and stays open times out.
async fn is_closed(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(200), stream.peek(&mut byte)).await,
        Ok(Ok(0))
    )
}

#[test]
fn a_missing_certificate_is_named() {
    let pki = Pki::new();
    let missing = pki.dir.path().join("nope.pem");
    let err = server_config(&missing, &pki.key()).unwrap_err();
    assert!(matches!(err, TlsError::ReadCert { .. }), "{err}");
    assert!(err.to_string().contains("nope.pem"), "{err}");
}

#[test]
fn a_file_without_certificates_or_key_is_named() {
    let pki = Pki::new();
    let junk = pki.dir.path().join("junk.pem");
    fs::write(&junk, "not pem at all\n").unwrap();
    let err = server_config(&junk, &pki.key()).unwrap_err();
    assert!(matches!(err, TlsError::NoCert { .. }), "{err}");
    assert!(err.to_string().contains("junk.pem"), "{err}");

    // The certificate is no key; the message must not quote the file.
    let err = server_config(&pki.cert(), &pki.cert()).unwrap_err();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("cert.pem"), "{err}");
    assert!(!err.to_string().contains("BEGIN"), "{err}");
}

#[test]
fn a_key_from_another_certificate_is_refused() {
    let pki = Pki::new();
    let other = Pki::new();
    let err = server_config(&pki.cert(), &other.key()).unwrap_err();
    assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("key.pem"), "{err}");
}
