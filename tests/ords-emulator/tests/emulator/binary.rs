//! The `ords-emulator` binary: what it prints, and the article's curl steps against it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::header::ACCEPT;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn prints_its_address_and_credentials_then_serves_the_article() {
    let child = Command::new(env!("CARGO_BIN_EXE_ords-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "fixed-id..",
            "--client-secret",
            "fixed-secret..",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ords-emulator");
    let mut process = Process(child);
    let mut lines = BufReader::new(process.0.stdout.take().expect("stdout")).lines();
    let listening = lines.next().expect("first line").expect("utf-8");
    let credentials = lines.next().expect("second line").expect("utf-8");
    let base = listening
        .strip_prefix("listening on ")
        .expect(&listening)
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{listening}");
    assert_eq!(
        credentials,
        "client_id=fixed-id.. client_secret=fixed-secret.."
    );

    let http = reqwest::Client::new();
    // 1. Without a token: 401.
    let url = format!("{base}/ords/page/customers/validation/1");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    // 2. A token with the printed id and secret, as curl --user … --data … does.
    let token: serde_json::Value = http
        .post(format!("{base}/ords/page/oauth/token"))
        .basic_auth("fixed-id..", Some("fixed-secret.."))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("access_token");
    // 3. The same GET with the token: 200 and the row.
    let row: serde_json::Value = http
        .get(&url)
        .header(ACCEPT, "application/json")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(row["customer_id"], 1);
    assert_eq!(row["license_status"], "ACTIVE");
}

#[test]
fn random_credentials_have_the_ords_shape() {
    let child = Command::new(env!("CARGO_BIN_EXE_ords-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ords-emulator");
    let mut process = Process(child);
    let mut lines = BufReader::new(process.0.stdout.take().expect("stdout")).lines();
    lines.next().expect("first line").expect("utf-8");
    let credentials = lines.next().expect("second line").expect("utf-8");
    let (id, secret) = credentials
        .strip_prefix("client_id=")
        .and_then(|rest| rest.split_once(" client_secret="))
        .expect(&credentials);
    for value in [id, secret] {
        let head = value.strip_suffix("..").expect(value);
        assert!(crate::is_b64url(head, 22), "{value}");
    }
}

#[test]
fn a_bad_config_fails_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("ords-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[[schemas]]\nalias = \"page\"\n[[clients]]\nname = \"c\"\nroles = [\"missing\"]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ords-emulator"))
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .output()
        .expect("run ords-emulator");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("clients[0].roles[0]") && stderr.contains("unknown role \"missing\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
