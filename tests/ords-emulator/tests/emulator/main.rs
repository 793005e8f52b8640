//! The one integration test binary: every numbered behaviour of the README's table
//! "Behaviours and where they are pinned", and the machine seats, pinned over real
//! HTTP. Bodies are literal JSON written here, never the
//! emulator's own structs, so a drift in either shows up as a failure. Module names
//! carry the behaviour numbers.

mod b01_04_token;
mod b05_06_routing;
mod b07_13_security;
mod b14_error_format;
mod b15_19_shapes;
mod b20_credentials;
mod binary;
mod deploy_sql;
mod faults;
mod floating;
mod production;
mod products;
mod seats;
mod seed_config;

use std::sync::Arc;

use ords_emulator::{spawn, EmulatorOptions, ManualClock, RunningEmulator, Seed};
use reqwest::header::{HeaderMap, ACCEPT};
use time::macros::datetime;
use time::OffsetDateTime;

/// Every test starts the clock here, so seeded dates are literal.
pub const START: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);

/// A running emulator, its clock and an HTTP client.
pub struct Env {
    pub ords: RunningEmulator,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

pub async fn start() -> Env {
    start_with(Seed::article_default(), EmulatorOptions::default()).await
}

pub async fn start_with(seed: Seed, options: EmulatorOptions) -> Env {
    let clock = Arc::new(ManualClock::new(START));
    let ords = spawn(seed, options, clock.clone()).await;
    Env {
        ords,
        clock,
        http: reqwest::Client::new(),
    }
}

pub async fn start_toml(seed: &str) -> Env {
    start_with(
        Seed::from_toml_str(seed).expect("test seed"),
        EmulatorOptions::default(),
    )
    .await
}

impl Env {
    /// Id and secret of the article's client.
    pub fn creds(&self) -> (String, String) {
        self.ords
            .client_credentials("license_backend_client")
            .expect("article client")
    }

    /// A token for the named client, through the real endpoint.
    pub async fn token_for(&self, client: &str) -> String {
        let (id, secret) = self.ords.client_credentials(client).expect("client");
        // Each client gets its token from its own schema's endpoint.
        let alias = self
            .ords
            .clients()
            .into_iter()
            .find(|c| c.name == client)
            .expect("client")
            .schema;
        let response = self
            .http
            .post(format!("{}/ords/{alias}/oauth/token", self.ords.base_url))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn token(&self) -> String {
        self.token_for("license_backend_client").await
    }

    /// GET with `Accept: application/json` and an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = self
            .http
            .get(self.ords.url(path))
            .header(ACCEPT, "application/json");
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        Answer::from(request.send().await.expect("request")).await
    }
}

/// A response read to the end.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body with the ecid replaced by `ECID`, after checking its shape.
    pub fn masked(&self) -> String {
        mask_ecid(&self.body)
    }
}

pub fn is_b64url(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Replaces the 22-character ecid after `ecid/` with `ECID`, asserting its shape.
pub fn mask_ecid(body: &str) -> String {
    let Some(at) = body.find("ecid/") else {
        return body.to_owned();
    };
    let start = at + "ecid/".len();
    let end = body[start..].find('"').map_or(body.len(), |i| start + i);
    let ecid = &body[start..end];
    assert!(
        is_b64url(ecid, 22),
        "ecid {ecid:?} is not 22 base64url characters"
    );
    format!("{}ECID{}", &body[..start], &body[end..])
}

/// The 401 body ORDS sends, with the ecid masked.
pub const UNAUTHORIZED: &str = r#"{
    "code": "Unauthorized",
    "message": "Unauthorized",
    "type": "tag:oracle.com,2020:error/Unauthorized",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#;

/// The 404 body ORDS sends for a missing row or template, with the ecid masked.
pub const NOT_FOUND: &str = r#"{
    "code": "NotFound",
    "message": "Not Found",
    "type": "tag:oracle.com,2020:error/NotFound",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#;

pub const INVALID_TOKEN: &str =
    r#"Bearer realm="Oracle REST Data Services", error="invalid_token""#;
