//! What `license-check` prints: a headline and the verdict's message, the machine list
//! where one matters, and with `--json` one object per run (failures included, so a
//! script always has a `code` to read).

use anyhow::Context as _;
use serde_json::{json, Value};

use license_client::{clean_text, format_time, Code, MachineEntry, Outcome, Source, Verdict};

/// Where the key and the trust came from, shown with each verdict.
pub(crate) struct Shown<'a> {
    pub(crate) key_store: &'a str,
    pub(crate) trusted_keys_source: &'static str,
    /// `license-check` and the flags that reach this app and license server again.
    pub(crate) relaunch: &'a str,
}

/// The verdict as JSON with the run's context and exit code added.
fn verdict_json(verdict: &Verdict, shown: &Shown<'_>, exit_code: u8) -> anyhow::Result<Value> {
    let mut value = verdict.to_json();
    let object = value.as_object_mut().context("cannot encode the verdict")?;
    object.insert("key_store".into(), shown.key_store.into());
    object.insert(
        "trusted_keys_source".into(),
        shown.trusted_keys_source.into(),
    );
    object.insert("exit_code".into(), exit_code.into());
    if verdict.code == Code::MachineLimit {
        object.insert(
            "replace_command".into(),
            replace_command(verdict, shown).into(),
        );
    }
    Ok(value)
}

pub(crate) fn print_verdict(
    verdict: &Verdict,
    json: bool,
    shown: &Shown<'_>,
) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            verdict_json(verdict, shown, verdict.outcome().exit_code())?
        );
        return Ok(());
    }
    let headline = match verdict.outcome() {
        Outcome::Licensed => "Licensed",
        Outcome::NotLicensed => "Not licensed",
        Outcome::Undetermined => "License status unknown",
    };
    let source = match (verdict.source, verdict.offline_until) {
        (Source::Online, _) => "checked online",
        (Source::Cache, Some(_)) => "from the saved license",
        (Source::Cache, None) => "checked on this machine",
    };
    println!("{headline} ({}, {source}).", verdict.code);
    println!("{}", clean_text(&verdict.message));
    if let Some(detail) = verdict.detail() {
        eprintln!("license-check: detail: {}", clean_text(detail));
    }
    if verdict.licensed {
        if let Some(product) = verdict.product() {
            println!("Product: {}", printable(product));
        }
        if !verdict.entitlements().is_empty() {
            let names: Vec<String> = verdict
                .entitlements()
                .iter()
                .map(|n| printable(n))
                .collect();
            println!("Entitlements: {}", names.join(", "));
        }
    }
    match verdict.code {
        Code::MachineLimit => {
            if let Some(machines) = verdict.machines.as_ref().filter(|m| !m.list.is_empty()) {
                println!("Machines holding the seats:");
                print_list(&machines.list);
            }
            println!(
                "Replace a machine from here: `{}` (KEY: your license key, or - to read it from standard input). Or run `{} deactivate` on a machine you still have, then activate again.",
                replace_command(verdict, shown),
                shown.relaunch
            );
        }
        Code::NotActivated | Code::Deactivated => {
            println!(
                "Run `{} activate KEY` on this machine to claim a seat.",
                shown.relaunch
            );
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn print_deactivated(
    verdict: &Verdict,
    machine: Option<&str>,
    json: bool,
    shown: &Shown<'_>,
) -> anyhow::Result<()> {
    if json {
        let mut value = verdict_json(verdict, shown, 0)?;
        value["machine"] = machine.into();
        value["removed_locally"] = machine.is_none().into();
        println!("{value}");
    } else {
        println!("{}", clean_text(&verdict.message));
    }
    Ok(())
}

pub(crate) fn print_machines(
    verdict: &Verdict,
    json: bool,
    exit_code: u8,
    shown: &Shown<'_>,
) -> anyhow::Result<()> {
    if json {
        println!("{}", verdict_json(verdict, shown, exit_code)?);
        return Ok(());
    }
    if !verdict.licensed && exit_code != 0 {
        println!("Not licensed ({}, checked online).", verdict.code);
    }
    println!("{}", clean_text(&verdict.message));
    if let Some(machines) = &verdict.machines {
        if machines.list.is_empty() {
            println!("No machine holds a seat.");
        } else {
            print_list(&machines.list);
        }
    }
    Ok(())
}

/// The command that frees a seat and activates this machine with only the key in hand:
/// the machine seen longest ago (the likeliest to be gone) is the one named.
fn replace_command(verdict: &Verdict, shown: &Shown<'_>) -> String {
    let oldest = verdict.machines.as_ref().and_then(|machines| {
        machines
            .list
            .iter()
            .filter(|machine| !machine.current)
            .min_by_key(|machine| machine.last_seen)
    });
    let id = oldest.map_or_else(|| "ID".to_owned(), |machine| printable(&machine.id));
    format!("{} activate KEY --replace {id}", shown.relaunch)
}

/// One line per machine: id, last seen as a date, name, and which one this is.
fn print_list(list: &[MachineEntry]) {
    for machine in list {
        let name = machine
            .name
            .as_deref()
            .map(printable)
            .unwrap_or_else(|| "(no name)".into());
        let this = if machine.current {
            " (this machine)"
        } else {
            ""
        };
        println!(
            "  {}  last seen {}  {name}{this}",
            printable(&machine.id),
            format_time(machine.last_seen)
        );
    }
}

/// Server text goes to a terminal: no control, bidi or other format characters (the
/// library already cleans what it returns; this holds for anything printed here).
fn printable(text: &str) -> String {
    clean_text(text)
}

/// A command that reached no usable answer: with `--json` one object on stdout, else
/// the error with its causes on stderr. Returns the exit code.
pub(crate) fn print_failure(
    json: bool,
    code: &str,
    exit_code: u8,
    error: &anyhow::Error,
) -> anyhow::Result<u8> {
    let detail = error
        .downcast_ref::<license_client::Error>()
        .and_then(license_client::Error::detail)
        .map(clean_text);
    if json {
        println!(
            "{}",
            json!({"code": code, "licensed": false, "message": clean_text(&format!("{error:#}")), "exit_code": exit_code, "detail": detail})
        );
    } else {
        eprintln!("license-check: {}", clean_text(&format!("{error:#}")));
        if let Some(detail) = detail {
            eprintln!("license-check: detail: {detail}");
        }
    }
    Ok(exit_code)
}
