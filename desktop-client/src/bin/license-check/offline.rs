//! `activate KEY --offline-request [--out FILE]`, `activate --offline-response
//! CODE_OR_FILE` and `deactivate --offline`: offline activation, with codes a person
//! carries between this machine and the license server's `/offline` page. None of
//! them contacts anything, so none needs a license server URL.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use license_client::KeyStore;

use crate::print::print_verdict;
use crate::{read_key, seat_failure, shown, usage, Settings};

/// Prints the request code (and, on a terminal, its QR code), remembering the
/// pending request.
pub(crate) fn request(
    settings: Settings,
    store: Box<dyn KeyStore>,
    key: String,
    out: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<u8> {
    license_shared::LicenseKey::parse(&key).map_err(usage)?;
    let (client, _) = settings.client(store, false)?;
    let code = match client.offline_request(&key) {
        Ok(code) => code,
        Err(e) => return seat_failure(e, json, Some("no offline request was made".into())),
    };
    if let Some(path) = &out {
        std::fs::write(path, format!("{code}\n"))
            .with_context(|| format!("cannot write the request code to {}", path.display()))?;
    }
    let message = "Take this request code to the license server's /offline page (from any connected device), then install the response code here with `license-check activate --offline-response CODE_OR_FILE`.";
    if json {
        let shown = serde_json::json!({"licensed": false, "code": "OFFLINE_REQUEST", "request": code, "message": message, "exit_code": 0});
        println!("{shown}");
        return Ok(0);
    }
    if std::io::stdout().is_terminal() {
        if let Some(qr) = terminal_qr(&code) {
            println!("{qr}");
        }
    }
    println!("{code}");
    eprintln!("{message}");
    Ok(0)
}

/// Installs a response code: exit 0 licensed, 1 a verified deny, 64 not an answer to
/// this machine's pending request.
pub(crate) fn install(
    settings: Settings,
    store: Box<dyn KeyStore>,
    code_or_file: &str,
    json: bool,
) -> anyhow::Result<u8> {
    let code = read_code(code_or_file)?;
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, false)?;
    match client.install_offline_response(&code) {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown(&store_name, trust, &relaunch))?;
            Ok(verdict.outcome().exit_code())
        }
        Err(e) => seat_failure(e, json, None),
    }
}

/// Removes the key and the lease and prints the signed deactivation code.
pub(crate) fn deactivate(
    settings: Settings,
    store: Box<dyn KeyStore>,
    json: bool,
) -> anyhow::Result<u8> {
    let (client, _) = settings.client(store, false)?;
    let code = match client.deactivate_offline() {
        Ok(code) => code,
        Err(e) => return seat_failure(e, json, Some("nothing was deactivated".into())),
    };
    let message = "The license was removed from this machine. To free its seat, take this deactivation code to the license server's /offline page; it frees the seat once.";
    if json {
        let shown = serde_json::json!({"licensed": false, "code": "DEACTIVATED", "deactivation": code, "message": message, "exit_code": 0});
        println!("{shown}");
    } else {
        println!("{code}");
        eprintln!("{message}");
    }
    Ok(0)
}

/// A code as given, or the contents of the file it names; `-` reads standard input.
fn read_code(arg: &str) -> anyhow::Result<String> {
    if arg == "-" {
        return read_key(arg.to_owned());
    }
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the response code from {}", path.display()))?;
        return Ok(text.trim().to_owned());
    }
    Ok(arg.to_owned())
}

/// The code as a QR code in Unicode half blocks, for a phone's camera.
fn terminal_qr(code: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let qr = qrcode::QrCode::with_error_correction_level(code, qrcode::EcLevel::L).ok()?;
    Some(
        qr.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .build(),
    )
}
