//! The public edge over real HTTP: rate limits per address and per key, the client
//! address from `X-Forwarded-For` only via trusted proxies, the `NOT_FOUND` budget, and
//! load shedding with a quick 503.

use std::time::{Duration, Instant};

use sha2::Digest as _;

use license_broker::vars as var;

use super::helpers::*;

const ROW: &str = r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#;

/// Statuses of `n` validations of `key` claiming to come from `client`.
async fn burst(app: &TestApp, client: &str, key: &str, n: usize) -> Vec<reqwest::Response> {
    let mut responses = Vec::with_capacity(n);
    for _ in 0..n {
        responses.push(app.validate_from(client, key).await);
    }
    responses
}

#[tokio::test]
async fn a_burst_from_one_address_gets_429s_while_another_is_served() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    // The test client is 127.0.0.1, a trusted proxy: X-Forwarded-For names the client.
    let app = spawn_app_with_fake_env(
        &ords,
        &tokens,
        &[
            (var::RATE_PER_IP, "5"),
            (var::RATE_PER_KEY, "0"),
            (var::TRUSTED_PROXIES, "127.0.0.1"),
        ],
    )
    .await;
    let key = app.key("1");
    let responses = burst(&app, "198.51.100.1", &key, 20).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 15], "{statuses:?}");
    let limited = responses.into_iter().last().unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=12).contains(&retry),
        "5 per minute refills one every 12 s: {retry}"
    );
    error_body(limited, 429, "rate_limited").await;

    // Another address, same key (the key limit is off): served.
    let other = app.validate_from("198.51.100.2", &key).await;
    assert_eq!(other.status(), 200);
    // A proxy chain: the rightmost untrusted entry is the client.
    let chained = app.validate_from("198.51.100.1, 127.0.0.1", &key).await;
    assert_eq!(chained.status(), 429, "still the first client's bucket");

    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, r#"broker_ratelimited_total{key_type="ip"}"#),
        16.0
    );
    assert_eq!(
        metric(
            &metrics,
            r#"broker_requests_total{route="/v1/license/validate",status="429"}"#
        ),
        16.0
    );
    assert_eq!(ords.calls(), 1, "one lookup, then the verdict cache");
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_bucket() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    // No trusted proxies: 127.0.0.1 is the client whatever the header claims.
    let app = spawn_app_with_fake_env(
        &ords,
        &tokens,
        &[(var::RATE_PER_IP, "5"), (var::RATE_PER_KEY, "0")],
    )
    .await;
    let key = app.key("1");
    let mut statuses = Vec::new();
    for i in 0..12 {
        let spoofed = format!("203.0.113.{i}");
        statuses.push(app.validate_from(&spoofed, &key).await.status().as_u16());
    }
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 7], "{statuses:?}");
}

#[tokio::test]
async fn one_license_key_is_limited_across_addresses() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake_env(
        &ords,
        &tokens,
        &[
            (var::RATE_PER_IP, "100"),
            (var::RATE_PER_KEY, "3"),
            (var::TRUSTED_PROXIES, "127.0.0.0/8"),
        ],
    )
    .await;
    let shared = app.key("1");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let client = format!("198.51.100.{i}");
        statuses.push(app.validate_from(&client, &shared).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    assert_eq!(
        app.validate_from("198.51.100.9", &app.key("2"))
            .await
            .status(),
        200
    );
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, r#"broker_ratelimited_total{key_type="key"}"#),
        3.0
    );
}

#[tokio::test]
async fn an_address_that_keeps_getting_not_found_is_refused_its_forgeries_only() {
    // Forged keys and unknown customers both spend the NOT_FOUND budget (10 at once).
    // Once spent, the address's forged keys get a 429 (no signature, no work); keys the
    // broker minted still get answers, so one prober behind a shared NAT does not lock
    // out its neighbours (before: every validation from the address was refused).
    let ords = FakeOrds::answering(404, ORDS_NOT_FOUND).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake_env(
        &ords,
        &tokens,
        &[
            (var::RATE_PER_IP, "1000"),
            (var::RATE_PER_KEY, "1000"),
            (var::TRUSTED_PROXIES, "127.0.0.1"),
        ],
    )
    .await;
    for i in 0..10 {
        let response = app
            .validate_from("192.0.2.7", &app.key(&format!("{}", 100 + i)))
            .await;
        assert_eq!(response.status(), 200, "a signed NOT_FOUND");
    }
    let forged = license_testkit::forge_key("1").unwrap();
    let refused = app.validate_from("192.0.2.7", &forged).await;
    assert_eq!(refused.headers()["retry-after"], "180", "20 per hour");
    error_body(refused, 429, "rate_limited").await;
    assert_eq!(
        app.validate_from("192.0.2.7", &app.key("1")).await.status(),
        200,
        "a neighbour's real key behind the same address"
    );
    assert_eq!(
        app.validate_from("192.0.2.8", &forged).await.status(),
        200,
        "another address's budget is its own"
    );
    let metrics = app.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            r#"broker_ratelimited_total{key_type="not_found"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(&metrics, r#"broker_verdicts_total{code="NOT_FOUND"}"#),
        12.0
    );
}

#[tokio::test]
async fn limits_are_on_by_default() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = start(
        broker_with_fake(&ords, &tokens)
            .unset(var::RATE_PER_IP)
            .unset(var::RATE_PER_KEY),
    )
    .await;
    let config = app.config();
    assert_eq!((config.rate.per_ip, config.rate.per_key), (60, 20));
    let key = app.key("1");
    let statuses: Vec<u16> = burst(&app, "ignored", &key, 21)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses[..20], [200; 20]);
    assert_eq!(statuses[20], 429, "20 per minute for one key");
}

#[tokio::test]
async fn oversized_and_form_bodies_are_refused_before_any_lookup_even_chunked() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let url = app.url("/v1/license/validate");
    // No Content-Length (chunked): the limit holds while streaming too.
    let head = "POST /v1/license/validate HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let mut request = head.as_bytes().to_vec();
    for _ in 0..20 {
        request.extend_from_slice(b"400\r\n");
        request.extend_from_slice(&[b' '; 1024]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // The broker may answer and close before it has read everything.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, &request).await;
    let mut answer = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    let form = format!("license_key={}&nonce={}", app.key("1"), nonce());
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    error_body(response, 415, "unsupported_media_type").await;
    assert_eq!(ords.calls(), 0);
    let metrics = app.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            r#"broker_requests_total{route="/v1/license/validate",status="413"}"#
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_never_arrive_hold_no_concurrency_slot() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake_env(&ords, &tokens, &[(var::MAX_CONCURRENT, "2")]).await;
    // Twice the limit in requests whose heads promise a body that never comes.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = "POST /v1/license/validate HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"license_key\":";
        tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    assert_eq!(
        response.status(),
        200,
        "a real validation is served while the stalled bodies wait for the deadline"
    );
    drop(stalled);
}

#[tokio::test]
async fn a_body_sent_in_pieces_is_read_whole() {
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let body = format!(
        r#"{{"license_key":"{}","nonce":"{}"}}"#,
        app.key("1"),
        nonce()
    );
    // Three chunks, written apart, so the broker sees three frames of one body.
    let (a, rest) = body.split_at(10);
    let (b, c) = rest.split_at(rest.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /v1/license/validate HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes())
        .await
        .unwrap();
    for piece in [a, b, c] {
        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
        tokio::io::AsyncWriteExt::write_all(&mut stream, chunk.as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"0\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let envelope: license_shared::Envelope = serde_json::from_str(json).unwrap();
    let payload = envelope.open(&app.trusted).unwrap();
    assert_eq!(payload.result.code, license_shared::VerdictCode::Valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_limit_the_broker_sheds_quickly_with_503() {
    let ords = FakeOrds::start_with_delay(Duration::from_millis(1500), |_, _, _| (200, ROW)).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake_env(&ords, &tokens, &[(var::MAX_CONCURRENT, "2")]).await;
    let slow: Vec<_> = ["1", "2"]
        .into_iter()
        .map(|id| {
            let (http, url, key) = (
                app.http.clone(),
                app.url("/v1/license/validate"),
                app.key(id),
            );
            tokio::spawn(async move {
                let body = serde_json::json!({"license_key": key, "nonce": nonce()});
                http.post(url)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    while ords.calls() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let shed = app.validate(&app.key("3"), &nonce()).await;
    let took = started.elapsed();
    assert_eq!(shed.headers()["retry-after"], "1");
    error_body(shed, 503, "upstream_unavailable").await;
    eprintln!("shed with 503 in {took:?}");
    assert!(
        took < Duration::from_millis(200),
        "shed, not queued: {took:?}"
    );
    // Operations endpoints are not behind the limit.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "broker_inflight"),
        3.0,
        "two validations and this scrape"
    );
    for request in slow {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(app.validate(&app.key("3"), &nonce()).await.status(), 200);
}

/// `n` different ways to type `key` that all parse to it: any case, I/L for 1, O for
/// 0, dashes or spaces anywhere.
fn spellings(key: &str, n: usize) -> Vec<String> {
    let plain: Vec<char> = key.chars().filter(|c| *c != '-').collect();
    let mut out: Vec<String> = Vec::new();
    for i in 0u64..10_000 {
        // A fixed pseudo-random choice per character, different for each spelling.
        let mut state = i.wrapping_mul(6_364_136_223_846_793_005) ^ 0x9e37_79b9_7f4a_7c15;
        let mut bits = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let mut text = String::new();
        for (j, &c) in plain.iter().enumerate() {
            let r = bits();
            if j > 0 && r % 4 == 0 {
                text.push(if r % 8 == 0 { ' ' } else { '-' });
            }
            let c = match c {
                '1' if r % 3 == 0 => 'L',
                '1' if r % 3 == 1 => 'I',
                '0' if r % 2 == 1 => 'O',
                other => other,
            };
            text.push(if (r >> 4) % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
        if !out.contains(&text) {
            out.push(text);
        }
        if out.len() == n {
            return out;
        }
    }
    panic!("not enough spellings of {key}")
}

/// The log line's fingerprint is read from the broker's JSON request log, so the test
/// runs on one thread with its own subscriber.
#[tokio::test(flavor = "current_thread")]
async fn one_key_in_many_spellings_is_one_key_to_the_limit_and_the_log() {
    let (capture, _guard) = LogCapture::json();
    let ords = FakeOrds::answering(200, ROW).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake_env(&ords, &tokens, &[(var::RATE_PER_KEY, "20")]).await;
    let key = app.key("1");
    let canonical = license_shared::LicenseKey::parse(&key).unwrap();
    assert_eq!(canonical.encode(), key, "minted keys are canonical");
    let spelled = spellings(&key, 25);
    for text in &spelled {
        assert_eq!(
            license_shared::LicenseKey::parse(text).unwrap(),
            canonical,
            "{text}"
        );
    }
    let mut statuses = Vec::new();
    let mut request_ids = Vec::new();
    for text in &spelled {
        let response = app.validate(text, &nonce()).await;
        statuses.push(response.status().as_u16());
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(statuses[..20], [200; 20], "{statuses:?}");
    assert_eq!(statuses[20..], [429; 5], "20 per minute for the one key");

    // The log line's fingerprint is the key's, whatever the spelling: eight hex digits
    // of the SHA-256 of the key's data (bytes 4 to 7; 0 to 3 are its check symbols).
    let key_data = license_shared::LicenseKey::parse(&key).unwrap();
    let mut data = vec![1, key_data.customer_id().as_str().len() as u8];
    data.extend_from_slice(key_data.customer_id().as_str().as_bytes());
    data.extend_from_slice(key_data.mac());
    let fingerprint: String = sha2::Sha256::digest(&data)[4..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let lines = capture.json_lines();
    for (text, request_id) in spelled[..3].iter().zip(&request_ids) {
        let line = lines
            .iter()
            .find(|line| line["message"] == "request" && line["request_id"] == request_id.as_str())
            .unwrap_or_else(|| panic!("no request line for {request_id} in {lines:#?}"));
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["key"], fingerprint.as_str(), "{text}");
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// Whether the broker closes `stream` within `wait` (EOF or a reset), reading and
/// discarding whatever it sends first.
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, tokio::io::AsyncReadExt::read(stream, &mut buf))
            .await
        {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_sent_requests_to_the_metrics_listener_is_capped_and_timed_out() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let app = spawn_app_env(&[
        (var::METRICS_LISTEN, metrics.as_str()),
        (var::HEADER_READ_TIMEOUT_SECS, "2"),
    ])
    .await;
    // The broker binds the metrics port once it runs.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&metrics).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the metrics listener never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Many half-sent requests (headers that never end) to the metrics port.
    let mut flood = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(&metrics).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /metrics HTTP/1.1\r\nHost: m\r\n")
            .await
            .unwrap();
        flood.push(stream);
    }
    // Validations on the public listener keep answering meanwhile.
    for _ in 0..3 {
        let response = app.validate(&app.key("1"), &nonce()).await;
        assert_eq!(response.status(), 200);
    }
    // The broker holds at most its cap of them: the rest are closed at once.
    let checks = flood
        .iter_mut()
        .map(|stream| closed_within(stream, Duration::from_millis(500)));
    let closed = futures::future::join_all(checks).await;
    let open = closed.iter().filter(|closed| !**closed).count();
    assert!(
        open <= 64,
        "{open} half-sent metrics connections still open"
    );
    // And the header timeout ends the ones it kept.
    let checks = flood
        .iter_mut()
        .map(|stream| closed_within(stream, Duration::from_secs(4)));
    let closed = futures::future::join_all(checks).await;
    assert!(
        closed.iter().all(|c| *c),
        "a half-sent request outlived the header timeout"
    );
    drop(flood);
    // HTTP/2 with prior knowledge (h2c) is not spoken: no SETTINGS frame comes back.
    let mut h2c = tokio::net::TcpStream::connect(&metrics).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut h2c,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::io::AsyncReadExt::read_to_end(&mut h2c, &mut answer),
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
        "the metrics listener answered h2c: {:?}",
        &answer[..answer.len().min(16)]
    );
    // A real scrape still works.
    let scrape = app
        .http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
}
