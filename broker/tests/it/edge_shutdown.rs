//! The real `license-broker serve` process and SIGTERM: readiness flips at once, the
//! in-flight call completes, and the process exits 0. Also reads its JSON request log.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use license_broker::vars as var;
use license_shared::{Envelope, Keyset, VerdictCode};
use serde_json::Value;

use super::helpers::*;

/// Kills the broker if the test fails before it exits on its own.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_in_flight_call_drains_and_exits_zero() {
    let emulator = license_testkit::emulator(
        ords_emulator::Seed::article_default(),
        ords_emulator::EmulatorOptions::default(),
    )
    .await;
    let (_, secret) = emulator
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .unwrap();
    let mut files = process_env(&emulator);
    files
        .set(var::LISTEN, "127.0.0.1:0")
        .set(var::DRAIN_DELAY_SECS, "1")
        .set(var::SHUTDOWN_GRACE_SECS, "10")
        .set(var::LOG, "info");
    let config = files.config().unwrap();
    let env = files.vars().clone();
    let mut command = Command::new(env!("CARGO_BIN_EXE_license-broker"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LICENSE_BROKER_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["--log-format", "json", "serve"])
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let broker = Broker(child);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (listening_tx, listening_rx) = mpsc::channel::<String>();
    // Reads until the broker's stderr closes: joining it is waiting for the last line.
    let reader = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(json) = serde_json::from_str::<Value>(&line) {
                    // The JSON log is flat: `msg` and the fields at the top level.
                    if json["msg"] == "license broker serving" {
                        let listen = json["listen"].as_str().unwrap_or_default();
                        let _ = listening_tx.send(listen.to_owned());
                    }
                }
                lines.lock().unwrap().push(line);
            }
        })
    };
    let addr = listening_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the broker says where it listens");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");
    let validate = |id: &str| {
        let body = serde_json::json!({
            "license_key": config.license_keys.mint(&license_shared::CustomerId::parse(id).unwrap()),
            "nonce": nonce(),
        });
        http.post(url("/v1/license/validate"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    // Warm: a token, and the ORDS connection.
    assert_eq!(validate("2").await.unwrap().status(), 200);
    let ready = http.get(url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    emulator.set_faults(ords_emulator::Faults {
        latency_ms: Some(1500),
        ..Default::default()
    });
    let in_flight = tokio::spawn(validate("1"));
    while emulator.stats().resource_requests < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = broker.0.id().to_string();
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());

    // Readiness flips at once (the listener stays open for the 1 s drain delay).
    let not_ready_after = loop {
        let ready = http.get(url("/readyz")).send().await.unwrap();
        if ready.status() == 503 {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_millis(500),
            "still ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    let response = in_flight.await.unwrap().unwrap();
    let completed_after = signalled.elapsed();
    assert_eq!(response.status(), 200);
    let envelope: Envelope = response.json().await.unwrap();
    let trusted = Keyset::new().with_key(config.signer.verifying_key());
    assert_eq!(
        envelope.open(&trusted).unwrap().result.code,
        VerdictCode::Valid
    );

    let mut broker = broker;
    let status = loop {
        if let Some(status) = broker.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let exited_after = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    eprintln!(
        "SIGTERM: /readyz 503 after {not_ready_after:?}, in-flight 200 after {completed_after:?}, exit 0 after {exited_after:?}"
    );
    assert!(
        exited_after < Duration::from_secs(3),
        "drain delay 1 s + the call's rest"
    );
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "nothing listens any more"
    );

    // One JSON line per request with the promised fields; the key only as a hash prefix.
    // The process has exited, so its stderr is at its end once the reader has read it all.
    reader.join().expect("the log reader");
    let lines = lines.lock().unwrap().clone();
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|j| j["msg"] == "request")
        .collect();
    let validated = requests
        .iter()
        .find(|j| j["upstream_status"] == 200)
        .unwrap_or_else(|| panic!("no validate line with an upstream status in {lines:#?}"));
    let fields = validated;
    assert_eq!(fields["route"], "/v1/license/validate");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["request_id"].as_str().unwrap().len(), 16);
    assert_eq!(fields["key"].as_str().unwrap().len(), 8);
    assert!(fields["latency_ms"].as_f64().unwrap() > 0.0);
    let all = lines.join("\n");
    for id in ["1", "2"] {
        let key = config
            .license_keys
            .mint(&license_shared::CustomerId::parse(id).unwrap());
        assert!(!all.contains(&key), "license key in the log:\n{all}");
    }
    assert!(!all.contains(&secret), "client secret in the log");
    assert!(all.contains("license broker stopped"), "{all}");
}
