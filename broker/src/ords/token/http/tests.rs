//! The token fetch's failure causes, against real sockets: each names itself, and none
//! carries the secret.

use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::*;
use crate::ords::token::SecretSource;

fn fetcher(url: &str) -> HttpFetcher {
    let config = TokenConfig::new(
        url.parse().unwrap(),
        "client",
        SecretSource::Value(SecretString::from("unused")),
    );
    HttpFetcher::new(&config).unwrap()
}

async fn cause(url: &str) -> String {
    let err = fetcher(url)
        .fetch(&SecretString::from("SENTINEL_SECRET_http"))
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(!shown.contains("SENTINEL"), "{shown}");
    shown
}

/// A one-shot HTTP server answering `status` to the first request.
async fn answering(status: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let status = status.to_owned();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let body = "<html>not found</html>";
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn a_404_names_the_base_url_and_the_alias() {
    let addr = answering("404 Not Found").await;
    let shown = cause(&format!("http://{addr}/ords/oauth/token")).await;
    assert!(shown.starts_with("permanent"), "{shown}");
    assert!(
        shown.contains(&format!(
            "check LICENSE_BROKER_ORDS_BASE_URL (http://{addr}/ords): it must end with /ords/<alias>"
        )),
        "{shown}"
    );
    assert!(!shown.contains("refused"), "{shown}");
    let shown = cause(&format!("http://{addr}/token")).await;
    assert!(shown.contains("check LICENSE_BROKER_TOKEN_URL"), "{shown}");
}

#[tokio::test]
async fn connection_refused_names_itself() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let shown = cause(&format!("http://127.0.0.1:{port}/ords/page/oauth/token")).await;
    assert!(shown.contains("connection refused"), "{shown}");
}

#[tokio::test]
async fn a_tls_failure_names_itself() {
    // Plain HTTP where HTTPS was expected: the handshake cannot succeed.
    let addr = answering("400 Bad Request").await;
    let shown = cause(&format!("https://{addr}/ords/page/oauth/token")).await;
    assert!(shown.contains("TLS handshake"), "{shown}");
}

#[tokio::test]
async fn a_dns_failure_names_itself() {
    // `.invalid` never resolves (RFC 6761).
    let shown = cause("https://no-such-host.invalid/ords/page/oauth/token").await;
    assert!(shown.contains("DNS lookup failed"), "{shown}");
}
