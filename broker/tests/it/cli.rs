//! The `license-broker` binary: keygen, issue-key, check, and the refused argv secret.

use std::process::Command;

use license_broker::vars as var;
use license_broker::Signer;
use license_shared::{parse_public_key, LicenseKey};

use super::helpers::*;

fn broker() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_license-broker"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LICENSE_BROKER_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn keygen_writes_a_private_pem_and_prints_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("signing.pem");
    let output = broker()
        .args(["keygen", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let line = stdout.strip_suffix('\n').unwrap();
    assert!(!line.contains('\n'));
    let (kid, public) = line.split_once(' ').unwrap();
    let kid = kid.strip_prefix("kid=").unwrap();
    let public = parse_public_key(public.strip_prefix("public_key=").unwrap()).unwrap();
    let signer = Signer::from_file(&out, "test").unwrap();
    assert_eq!(signer.kid(), kid);
    assert_eq!(signer.verifying_key(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again = broker()
        .args(["keygen", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        Signer::from_file(&out, "test").unwrap().kid(),
        kid,
        "not overwritten"
    );
    let forced = broker()
        .args(["keygen", "--force", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(forced.status.success());
}

#[test]
fn the_client_secret_is_refused_on_the_command_line() {
    for args in [
        &["serve", "--client-secret", "SENTINEL_SECRET_argv"][..],
        &["check", "--client-secret=SENTINEL_SECRET_argv"][..],
    ] {
        let output = broker().args(args).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("never accepted on the command line"),
            "{stderr}"
        );
        assert!(!stderr.contains("SENTINEL"), "{stderr}");
    }
}

#[test]
fn issue_key_needs_only_the_key_secret_and_check_names_what_is_missing() {
    let env = stand_in_env("https://unused.example/ords/page");
    let key_secret = &env.vars()[var::KEY_SECRET_FILE];
    let output = broker()
        .args(["issue-key", "--customer-id", "42"])
        .env(var::KEY_SECRET_FILE, key_secret)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let key = String::from_utf8(output.stdout).unwrap();
    let parsed = LicenseKey::parse(key.trim()).unwrap();
    assert_eq!(parsed.customer_id().as_str(), "42");
    assert!(env.config().unwrap().license_keys.verify(&parsed));
    assert_eq!(parsed.serial(), 0);

    // --serial N: the key for the row's key_serial N, and --serial 0 is the default.
    let keys = env.config().unwrap().license_keys;
    for (serial, args) in [
        (0, vec!["issue-key", "--customer-id", "42", "--serial", "0"]),
        (3, vec!["issue-key", "--customer-id", "42", "--serial", "3"]),
    ] {
        let output = broker()
            .args(&args)
            .env(var::KEY_SECRET_FILE, key_secret)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed = String::from_utf8(output.stdout).unwrap();
        let parsed = LicenseKey::parse(printed.trim()).unwrap();
        assert_eq!(parsed.serial(), serial);
        assert!(keys.verify(&parsed));
        assert_eq!(serial == 0, printed.trim() == key.trim());
    }
    let negative = broker()
        .args(["issue-key", "--customer-id", "42", "--serial=-1"])
        .env(var::KEY_SECRET_FILE, key_secret)
        .output()
        .unwrap();
    assert!(!negative.status.success());
    assert!(String::from_utf8_lossy(&negative.stderr).contains("--serial"));

    let bad = broker()
        .args(["issue-key", "--customer-id", "../1"])
        .env(var::KEY_SECRET_FILE, key_secret)
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let output = broker()
        .arg("check")
        .env(var::KEY_SECRET_FILE, key_secret)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(var::ORDS_BASE_URL), "{stderr}");
}

#[tokio::test]
async fn check_obtains_one_token_from_the_emulator() {
    let app = spawn_app().await;
    let emulator = app.emulator();
    let (_, secret) = emulator
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .unwrap();
    let files = process_env(emulator);
    let secret_file = files.secret_file();
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let env = files.vars().clone();
    let output = tokio::task::spawn_blocking({
        let env = env.clone();
        move || broker().arg("check").envs(env).output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");

    std::fs::write(&secret_file, "wrong-secret\n").unwrap();
    let output =
        tokio::task::spawn_blocking(move || broker().arg("check").envs(env).output().unwrap())
            .await
            .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no token"), "{stderr}");
    assert!(
        !stderr.contains(&secret) && !stderr.contains("wrong-secret"),
        "{stderr}"
    );
}

/// `check --customer-id` looks a canary customer up through the real ORDS client and
/// prints its code: any verdict exits 0, a broken route exits non-zero in one line.
#[tokio::test]
async fn check_with_a_customer_id_proves_the_whole_route() {
    let app = spawn_app().await;
    let emulator = app.emulator();
    let files = process_env(emulator);
    let env = files.vars().clone();
    let run = |env: std::collections::HashMap<String, String>, id: &'static str| {
        tokio::task::spawn_blocking(move || {
            broker()
                .args(["check", "--customer-id", id])
                .envs(env)
                .output()
                .unwrap()
        })
    };
    for (id, code) in [("1", "VALID"), ("2", "EXPIRED"), ("99", "NOT_FOUND")] {
        let output = run(env.clone(), id).await.unwrap();
        assert!(output.status.success(), "{id}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout
                .lines()
                .any(|l| l == format!("customer {id}: {code}")),
            "{stdout}"
        );
    }

    // The alias renamed under the broker: the token still comes, the lookup cannot.
    let mut renamed = env.clone();
    renamed.insert(
        var::TOKEN_URL.into(),
        format!("{}/oauth/token", emulator.schema_url),
    );
    renamed.insert(
        var::ORDS_BASE_URL.into(),
        format!("{}_renamed", emulator.schema_url),
    );
    let output = run(renamed, "1").await.unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("could not be mapped"), "{stderr}");
    assert!(stderr.contains(var::VALIDATION_PATH), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).is_empty());

    // A column setting with a typo: the row lacks that column, and check says which
    // (before, max_machine read as "no limit" and prodcut as "any product": VALID).
    for (setting, typo) in [
        (var::MAX_MACHINES_COLUMN, "max_machine"),
        (var::PRODUCT_COLUMN, "prodcut"),
    ] {
        let mut mistyped = env.clone();
        mistyped.insert(setting.into(), typo.into());
        let output = run(mistyped, "4").await.unwrap();
        assert!(!output.status.success(), "{typo}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("no column {typo} ")) && stderr.contains(setting),
            "{stderr}"
        );
    }

    let bad = run(env, "../1").await.unwrap();
    assert!(!bad.status.success());
}
