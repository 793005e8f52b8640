//! The broker is stateless apart from caches: two replicas sharing one signing key and
//! key secret serve one client interchangeably.

use super::processes::{broker_env, start_broker, start_emulator, text, BrokerKeys, Desktop};

#[test]
fn two_replicas_sharing_a_signing_key_serve_one_client_interchangeably() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let env = broker_env(&keys, &emulator);
    let first = start_broker(&env);
    let second = start_broker(&env);

    let env_key = std::collections::HashMap::from([(
        "LICENSE_BROKER_KEY_SECRET_FILE".to_owned(),
        keys.key_secret().display().to_string(),
    )]);
    let key_out = super::processes::broker(&["issue-key", "--customer-id", "1"], None, &env_key);
    let key = text(&key_out.stdout).trim().to_owned();

    let desktop = Desktop::new(&keys.trusted, &first.url);
    let out = desktop.run(&["activate", &key]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Same machine, now pointed at the other replica.
    let out = desktop.run(&["--broker-url", &second.url, "status", "--json", "--refresh"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(
        (json["code"].as_str(), json["source"].as_str()),
        (Some("VALID"), Some("online"))
    );

    drop(first);
    let out = desktop.run(&["--broker-url", &second.url, "status", "--json", "--refresh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // Each replica keeps its own token: two replicas, two token requests, no more.
    let stats: serde_json::Value =
        reqwest::blocking_get_json(&format!("{}/__emulator/stats", emulator.base_url));
    assert_eq!(stats["token_requests"], 2, "{stats}");
}

mod reqwest {
    //! A tiny blocking GET, so this test needs no runtime.
    pub fn blocking_get_json(url: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap();
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }
}
