//! Starting the real binaries: an emulator, a broker with fresh key files, and
//! `license-check` with its own home. Every child is killed when its guard drops, so a
//! failing test leaves nothing running.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use license_e2e::binaries;

/// Kills the child on drop.
pub struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ords-emulator` on a free loopback port, with a fixed client id and secret.
pub struct Emulator {
    /// Kept so the emulator runs as long as this value lives.
    _process: Running,
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Emulator {
    pub fn schema_url(&self) -> String {
        format!("{}/ords/page", self.base_url)
    }
}

pub fn start_emulator() -> Emulator {
    let client_id = "e2eClientId0000000000A..".to_owned();
    let client_secret = "e2eClientSecret0000000A..".to_owned();
    let mut child = Command::new(binaries::path("ords-emulator"))
        .args(["--listen", "127.0.0.1:0", "--client-id", &client_id])
        .args(["--client-secret", &client_secret])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ords-emulator starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let listening = lines.next().expect("a first line").expect("utf-8");
    let base_url = listening
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {listening:?}"))
        .to_owned();
    let credentials = lines.next().expect("a second line").expect("utf-8");
    assert_eq!(
        credentials,
        format!("client_id={client_id} client_secret={client_secret}"),
        "the contract's second line"
    );
    Emulator {
        _process: Running { child },
        base_url,
        client_id,
        client_secret,
    }
}

/// Key material shared by every broker replica: made with `license-broker keygen`.
pub struct BrokerKeys {
    pub dir: tempfile::TempDir,
    /// `kid:public_key`, the form `LICENSE_CHECK_TRUSTED_KEYS` takes.
    pub trusted: String,
}

impl BrokerKeys {
    pub fn create() -> BrokerKeys {
        let dir = tempfile::tempdir().unwrap();
        let out = broker(
            &["keygen", "--out"],
            Some(&dir.path().join("signing.pem")),
            &HashMap::new(),
        );
        assert!(out.status.success(), "keygen: {}", text(&out.stderr));
        let line = text(&out.stdout);
        let line = line.trim();
        let (kid, public_key) = line
            .strip_prefix("kid=")
            .and_then(|rest| rest.split_once(" public_key="))
            .unwrap_or_else(|| panic!("keygen printed {line:?}"));
        std::fs::write(
            dir.path().join("key-secret"),
            "ZmFrZS1idXQtbG9uZy1lbm91Z2gtZTJlLWtleS1zZWNyZXQtMDEyMzQ1\n",
        )
        .unwrap();
        restrict(&dir.path().join("key-secret"));
        BrokerKeys {
            trusted: format!("{kid}:{public_key}"),
            dir,
        }
    }

    pub fn signing_key(&self) -> PathBuf {
        self.dir.path().join("signing.pem")
    }

    pub fn key_secret(&self) -> PathBuf {
        self.dir.path().join("key-secret")
    }

    /// A license key for `customer_id`, minted by `license-broker issue-key` with this
    /// key secret.
    pub fn issue_key(&self, customer_id: &str) -> String {
        let env = HashMap::from([(
            "LICENSE_BROKER_KEY_SECRET_FILE".to_owned(),
            self.key_secret().display().to_string(),
        )]);
        let out = broker(&["issue-key", "--customer-id", customer_id], None, &env);
        assert!(out.status.success(), "issue-key: {}", text(&out.stderr));
        let key = text(&out.stdout).trim().to_owned();
        assert!(
            key.len() > 30 && key.contains('-'),
            "a grouped key, got {key:?}"
        );
        key
    }
}

/// The broker's environment for `emulator`, per the contract's variable names.
pub fn broker_env(keys: &BrokerKeys, emulator: &Emulator) -> HashMap<String, String> {
    let secret_file = keys.dir.path().join("client-secret");
    std::fs::write(&secret_file, &emulator.client_secret).unwrap();
    restrict(&secret_file);
    HashMap::from([
        ("LICENSE_BROKER_ORDS_BASE_URL".into(), emulator.schema_url()),
        (
            "LICENSE_BROKER_CLIENT_ID".into(),
            emulator.client_id.clone(),
        ),
        (
            "LICENSE_BROKER_CLIENT_SECRET_FILE".into(),
            secret_file.display().to_string(),
        ),
        (
            "LICENSE_BROKER_SIGNING_KEY_FILE".into(),
            keys.signing_key().display().to_string(),
        ),
        (
            "LICENSE_BROKER_KEY_SECRET_FILE".into(),
            keys.key_secret().display().to_string(),
        ),
    ])
}

/// Runs `license-broker ARGS [PATH]` to completion.
pub fn broker(args: &[&str], path: Option<&Path>, env: &HashMap<String, String>) -> Output {
    let mut command = Command::new(binaries::path("license-broker"));
    command.args(args);
    if let Some(path) = path {
        command.arg(path);
    }
    command
        .envs(env)
        .env_remove("LICENSE_BROKER_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("license-broker runs")
}

/// `license-broker serve` on a free port; returns once `/healthz` answers.
pub struct Broker {
    pub process: Running,
    pub url: String,
}

pub fn start_broker(env: &HashMap<String, String>) -> Broker {
    let port = free_port();
    let child = Command::new(binaries::path("license-broker"))
        .arg("serve")
        .envs(env)
        .env("LICENSE_BROKER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LICENSE_BROKER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("license-broker serve starts");
    let broker = Broker {
        process: Running { child },
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_healthy(&broker.url);
    broker
}

fn wait_healthy(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let address = url.trim_start_matches("http://");
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            use std::io::{Read, Write};
            let _ =
                stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the broker at {url} did not become healthy within 20 s");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A desktop machine: its own XDG directories and the file key store, so the test
/// leaves the OS keyring alone (the keyring has its own tests in desktop-client).
pub struct Desktop {
    pub home: tempfile::TempDir,
    pub trusted: String,
    pub broker_url: String,
    /// `LICENSE_CHECK_MACHINE_ID`, to tell machines on one host apart.
    pub machine_id: Option<String>,
}

impl Desktop {
    pub fn new(trusted: &str, broker_url: &str) -> Desktop {
        Desktop {
            home: tempfile::tempdir().unwrap(),
            trusted: trusted.to_owned(),
            broker_url: broker_url.to_owned(),
            machine_id: None,
        }
    }

    /// Another machine on this host: its own `LICENSE_CHECK_MACHINE_ID`.
    pub fn machine(trusted: &str, broker_url: &str, machine_id: &str) -> Desktop {
        Desktop {
            machine_id: Some(machine_id.to_owned()),
            ..Desktop::new(trusted, broker_url)
        }
    }

    /// Runs `license-check ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        let home = self.home.path();
        let mut command = Command::new(binaries::path("license-check"));
        if let Some(id) = &self.machine_id {
            command.env("LICENSE_CHECK_MACHINE_ID", id);
        }
        command
            .args(args)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("LICENSE_CHECK_KEYSTORE", "file")
            .env("LICENSE_CHECK_TRUSTED_KEYS", &self.trusted)
            .env("LICENSE_CHECK_BROKER_URL", &self.broker_url)
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null())
            .output()
            .expect("license-check runs")
    }

    /// `status --json [extra]`: the exit code and the parsed object.
    pub fn status_json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["status", "--json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("status --json printed no JSON ({e}): {}", text(&out.stdout))
        });
        (out.status.code().expect("an exit code"), json)
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let _ = path;
}
