//! The article's story, then what the broker adds, as steps that each check their claim.
//!
//! Steps 1 to 4 talk to ORDS as the article's `curl` and Postman steps do; from step 5
//! on, a desktop app (the real client library) talks only to the broker; step 9 shows
//! a seat-limited license, step 10 products, entitlements and the perpetual fallback,
//! step 11 an air-gapped machine activated and deactivated with codes carried by hand,
//! steps 12 to 15 floating licenses and trials (`floating`).

mod floating;

use std::sync::Arc;

use anyhow::{bail, ensure, Context as _};
use license_client::{
    Clock as _, Code, FileKeyStore, Fingerprint, LicenseClient, LicenseClientBuilder, Paths,
    Source, Verdict,
};
use license_shared::{base64url_decode, base64url_encode};
use ords_emulator::{Faults, Seed};
use serde_json::Value;

use crate::narrate::Narrator;
use license_testkit::Stack;

const APP_ID: &str = "com.example.license-demo";
const VALIDATION: &str = "customers/validation/1";
/// The product the demo's app of step 10 is.
const PRODUCT: &str = "desktop-pro";
const DAY: i64 = 86_400;

/// Runs every step; `Err` names the first claim that did not hold.
pub async fn run(out: &mut Narrator) -> anyhow::Result<()> {
    out.banner("license-demo: the article's ORDS setup, then what the broker adds");
    // ORDS picks JSON or HTML errors from the request; an API client asks for JSON.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()?;

    public_before_the_privilege(out, &http).await?;
    let stack = Stack::start(&[
        // Every check reaches ORDS, so step 7 really finds it down (default: 60 s).
        ("LICENSE_BROKER_VERDICT_TTL_SECS", "0"),
        (
            "LICENSE_BROKER_FLOATING_LEASE_SECS",
            &floating::FLOATING_LEASE_SECS.to_string(),
        ),
    ])
    .await?;
    protected_after_the_privilege(out, &http, &stack).await?;
    let token = token_from_client_credentials(out, &http, &stack).await?;
    protected_call_with_bearer(out, &http, &stack, &token).await?;
    let client = desktop_holds_no_secret(out, &stack, &token).await?;
    verdicts_for_each_kind_of_key(out, &stack, &client).await?;
    starts_offline_within_grace(out, &stack, &client).await?;
    tampered_verdict_is_refused(out, &client).await?;
    seats_are_enforced_in_the_database(out, &stack).await?;
    products_and_entitlements(out, &stack).await?;
    offline_activation(out, &http, &stack).await?;
    floating::floating_seats(out, &stack).await?;
    floating::leases_and_borrowing(out, &stack).await?;
    floating::background_renewal(out, &stack).await?;
    floating::trials(out, &stack).await?;

    out.banner(&format!(
        "\nAll {} steps behaved as promised.",
        out.steps_passed()
    ));
    Ok(())
}

/// Step 1: a module with no privilege is open to anyone who finds the URL.
async fn public_before_the_privilege(
    out: &mut Narrator,
    http: &reqwest::Client,
) -> anyhow::Result<()> {
    out.step("Without a privilege, the ORDS validation endpoint is public");
    let mut seed = Seed::article_default();
    seed.privileges.clear();
    let open = license_testkit::emulator(seed, ords_emulator::EmulatorOptions::default()).await;
    let response = http.get(open.url(VALIDATION)).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    out.detail(format!(
        "GET /ords/page/{VALIDATION}   (no Authorization header)"
    ));
    out.detail(format!("→ {status} {}", compact(&body)));
    ensure!(
        status == 200,
        "expected 200 from the unprotected module, got {status}"
    );
    ensure!(
        body["customer_id"] == 1,
        "expected customer 1's row, got {body}"
    );
    out.proved("anyone can read license rows: the hole the article closes");
    open.shutdown().await;
    Ok(())
}

/// Step 2: privilege `license_priv` on module `customers` → 401 without a token.
async fn protected_after_the_privilege(
    out: &mut Narrator,
    http: &reqwest::Client,
    stack: &Stack,
) -> anyhow::Result<()> {
    out.step("With privilege license_priv on module customers, it answers 401");
    let response = http.get(stack.emulator().url(VALIDATION)).send().await?;
    let status = response.status();
    let kind = header(&response, "content-type");
    let body: Value = response.json().await?;
    out.detail(format!(
        "GET /ords/page/{VALIDATION}   (no Authorization header)"
    ));
    out.detail(format!("→ {status} {kind} {}", compact(&body)));
    ensure!(status == 401, "expected 401, got {status}");
    ensure!(
        kind == "application/problem+json",
        "expected problem JSON, got {kind}"
    );
    out.proved("the chain client > role > privilege > module protects the endpoint");
    Ok(())
}

/// Step 3: the client-credentials grant, with HTTP Basic, as in the article.
async fn token_from_client_credentials(
    out: &mut Narrator,
    http: &reqwest::Client,
    stack: &Stack,
) -> anyhow::Result<String> {
    out.step("A token comes from the client-credentials grant");
    let response = http
        .post(stack.emulator().token_url())
        .basic_auth(stack.client_id(), Some(stack.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    out.detail("POST /ords/page/oauth/token   (Basic client_id:client_secret, grant_type=client_credentials)");
    out.detail(format!(
        "→ {status} {{\"access_token\":\"{}…\",\"token_type\":{},\"expires_in\":{}}}",
        token.chars().take(4).collect::<String>(),
        body["token_type"],
        body["expires_in"]
    ));
    ensure!(status == 200 && !token.is_empty(), "no token: {status}");
    ensure!(
        body["token_type"] == "bearer",
        "ORDS says token_type \"bearer\""
    );
    out.proved("only a holder of the client secret gets a token (it lasts an hour)");
    Ok(token)
}

/// Step 4: the same GET with `Authorization: Bearer …` returns the row.
async fn protected_call_with_bearer(
    out: &mut Narrator,
    http: &reqwest::Client,
    stack: &Stack,
    token: &str,
) -> anyhow::Result<()> {
    out.step("With Authorization: Bearer, the protected call works");
    let response = http
        .get(stack.emulator().url(VALIDATION))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    out.detail(format!(
        "GET /ords/page/{VALIDATION}   (Authorization: Bearer …)"
    ));
    out.detail(format!("→ {status} {}", compact(&body)));
    ensure!(status == 200, "expected 200 with a token, got {status}");
    ensure!(
        body["license_status"] == "ACTIVE",
        "expected the ACTIVE row, got {body}"
    );
    out.proved("the article's flow works, and needs the secret: so it must not ship in an app");
    Ok(())
}

/// Step 5: the desktop app activates through the broker, then we list what it holds.
async fn desktop_holds_no_secret(
    out: &mut Narrator,
    stack: &Stack,
    ords_token: &str,
) -> anyhow::Result<LicenseClient> {
    out.step("The desktop app never holds the secret: what it does hold");
    let client = desktop_client(stack, "machine-a")?;
    let key = stack.issue_key("1")?;
    let verdict = client
        .activate(&key)
        .await
        .context("activating customer 1")?;
    out.detail(format!("license-check activate {key}"));
    out.detail(format!("→ {} ({})", verdict.code.as_str(), verdict.message));
    ensure!(
        verdict.licensed && verdict.code == Code::Valid,
        "activation: {verdict:?}"
    );

    let data_dir = client.paths().data_dir.clone();
    let mut held = Vec::new();
    for entry in std::fs::read_dir(&data_dir)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        out.detail(format!(
            "{}  ({} bytes)",
            path.strip_prefix(&data_dir).unwrap_or(&path).display(),
            bytes.len()
        ));
        held.push(bytes);
    }
    out.detail(format!(
        "pinned broker key: {}",
        stack
            .trusted()
            .to_text()
            .chars()
            .take(28)
            .collect::<String>()
            + "…"
    ));
    out.detail(format!("broker URL: {}", stack.url()));
    let secrets = [
        ("the OAuth client secret", stack.client_secret()),
        ("an ORDS access token", ords_token),
        ("the ORDS URL", stack.emulator().schema_url.as_str()),
    ];
    for bytes in &held {
        let text = String::from_utf8_lossy(bytes);
        for (what, value) in secrets {
            ensure!(!text.contains(value), "the desktop's files contain {what}");
        }
    }
    out.proved("a license key, the broker's public key and a signed verdict; no secret, no token, no ORDS URL");
    Ok(client)
}

/// Step 6: valid, expired and forged keys, each with its verdict.
async fn verdicts_for_each_kind_of_key(
    out: &mut Narrator,
    stack: &Stack,
    client: &LicenseClient,
) -> anyhow::Result<()> {
    out.step("A valid license, an expired one and a forged key each get the right verdict");
    let valid = client.refresh().await;
    show(out, "customer 1 (valid), start-up check", &valid);
    ensure!(
        valid.licensed && valid.code == Code::Valid && valid.source == Source::Online,
        "customer 1: {valid:?}"
    );

    let other = desktop_client(stack, "machine-b")?;
    let expired = activate_denied(&other, &stack.issue_key("2")?).await?;
    show(out, "customer 2 (expired), activate", &expired);
    ensure!(expired.code == Code::Expired, "customer 2: {expired:?}");

    let before = stack.emulator().stats().resource_requests;
    let forged = activate_denied(&other, &stack.forge_key("1")?).await?;
    let after = stack.emulator().stats().resource_requests;
    show(out, "forged key for customer 1, activate", &forged);
    out.detail(format!(
        "ORDS resource calls caused by the forged key: {}",
        after - before
    ));
    ensure!(forged.code == Code::NotFound, "forged key: {forged:?}");
    ensure!(after == before, "a forged key reached ORDS");
    out.proved(
        "every verdict is signed; a forged key is refused by its MAC and never reaches ORDS",
    );
    Ok(())
}

/// Step 7: ORDS drops every connection; the app still starts from its signed lease.
async fn starts_offline_within_grace(
    out: &mut Narrator,
    stack: &Stack,
    client: &LicenseClient,
) -> anyhow::Result<()> {
    out.step("ORDS goes down, and the app still starts within its grace period");
    stack.emulator().set_faults(Faults {
        drop_connections: true,
        ..Faults::default()
    });
    let verdict = client.refresh().await;
    stack.emulator().clear_faults();
    show(
        out,
        "start-up check with ORDS dropping every connection",
        &verdict,
    );
    ensure!(
        verdict.licensed && verdict.code == Code::OfflineGrace && verdict.source == Source::Cache,
        "expected a licensed start from the cached lease, got {verdict:?}"
    );
    let until = verdict
        .offline_until
        .context("a lease has an offline_until")?;
    out.detail(format!(
        "signed offline_until: {}",
        license_client::format_time(until)
    ));
    out.proved("an outage never locks out an honest user; the grace comes from signed times only");
    Ok(())
}

/// Step 8: an edited lease (a longer grace written into the cached verdict) is refused.
async fn tampered_verdict_is_refused(
    out: &mut Narrator,
    client: &LicenseClient,
) -> anyhow::Result<()> {
    out.step("A tampered verdict is refused");
    let cache = client.paths().cache_file();
    let mut saved: Value = serde_json::from_slice(&std::fs::read(&cache)?)?;
    let envelope = find_envelope(&mut saved).context("the cache holds an envelope")?;
    let payload = envelope["payload"].as_str().context("payload")?.to_owned();
    let mut verdict: Value = serde_json::from_slice(&base64url_decode(&payload)?)?;
    verdict["policy"]["offline_until"] = Value::from(4_102_444_800_i64); // year 2100
    envelope["payload"] = Value::from(base64url_encode(&serde_json::to_vec(&verdict)?));
    std::fs::write(&cache, serde_json::to_vec(&saved)?)?;
    out.detail(format!(
        "edited {}: offline_until → 2100-01-01",
        cache.display()
    ));

    let client_ref = client.clone();
    let offline = tokio::task::spawn_blocking(move || client_ref.check_offline()).await?;
    show(out, "offline start-up check", &offline);
    ensure!(
        !offline.licensed,
        "a tampered lease was accepted: {offline:?}"
    );
    out.proved("the signature covers the exact bytes; an edited lease grants nothing");
    Ok(())
}

/// Step 9: customer 4 may run on two machines; the database counts the seats.
async fn seats_are_enforced_in_the_database(
    out: &mut Narrator,
    stack: &Stack,
) -> anyhow::Result<()> {
    out.step("One key, two seats: a third machine is refused until one is freed");
    let key = stack.issue_key("4")?;
    let laptop = desktop_client(stack, "seat-laptop")?;
    let desktop = desktop_client(stack, "seat-desktop")?;
    let third = desktop_client(stack, "seat-third")?;
    for (name, client) in [("laptop", &laptop), ("desktop", &desktop)] {
        let verdict = client
            .activate_named(&key, Some(name))
            .await
            .with_context(|| format!("activating the {name}"))?;
        show(
            out,
            &format!("customer 4 on the {name}, activate"),
            &verdict,
        );
        ensure!(verdict.code == Code::Valid, "the {name}: {verdict:?}");
    }
    let refused = third
        .activate_named(&key, Some("third"))
        .await
        .context("activating a third machine")?;
    show(out, "customer 4 on a third machine, activate", &refused);
    let holders = refused
        .machines
        .as_ref()
        .map(|m| m.list.clone())
        .unwrap_or_default();
    for machine in &holders {
        out.detail(format!(
            "  holds a seat: {}  {}  last seen {}",
            machine.id,
            machine.name.as_deref().unwrap_or("(no name)"),
            license_client::format_time(machine.last_seen)
        ));
    }
    ensure!(
        refused.code == Code::MachineLimit && !refused.licensed && holders.len() == 2,
        "expected MACHINE_LIMIT listing two machines, got {refused:?}"
    );
    let freed = laptop
        .deactivate()
        .await
        .context("deactivating the laptop")?;
    show(
        out,
        "the laptop, deactivate (frees its seat online)",
        &freed,
    );
    ensure!(freed.code == Code::Deactivated, "deactivate: {freed:?}");
    let joined = third
        .activate_named(&key, Some("third"))
        .await
        .context("activating the third machine again")?;
    show(out, "the third machine, activate again", &joined);
    ensure!(joined.code == Code::Valid, "the third machine: {joined:?}");
    out.proved("one transaction with a row lock in the vendor's database decides every seat; the broker counts nothing");
    Ok(())
}

/// Step 10: the license's product and entitlements are signed into every verdict.
async fn products_and_entitlements(out: &mut Narrator, stack: &Stack) -> anyhow::Result<()> {
    out.step("Products and entitlements: a feature gated by an entitlement, a key for another product refused");
    let pro = product_client(stack, "pro-app", None)?;
    let verdict = pro
        .activate(&stack.issue_key("1")?)
        .await
        .context("activating customer 1 in the desktop-pro app")?;
    show(out, "customer 1 in the desktop-pro app, activate", &verdict);
    out.detail(format!(
        "signed product: {}, entitlements: [{}]",
        verdict.product().unwrap_or("(any)"),
        verdict.entitlements().join(", ")
    ));
    let export = verdict.has_entitlement("export");
    out.detail(format!(
        "export menu: {}   (verdict.has_entitlement(\"export\"))",
        if export { "enabled" } else { "disabled" }
    ));
    ensure!(
        verdict.code == Code::Valid && export,
        "customer 1 in desktop-pro: {verdict:?}"
    );

    let lite = product_client(stack, "pro-app-lite-key", None)?;
    let refused = activate_denied(&lite, &stack.issue_key("5")?).await?;
    show(
        out,
        "customer 5 (a desktop-lite key) in the desktop-pro app, activate",
        &refused,
    );
    ensure!(
        refused.code == Code::WrongProduct && !refused.has_entitlement("export"),
        "customer 5 in desktop-pro: {refused:?}"
    );

    let key = stack.issue_key("6")?;
    let now = license_client::SystemClock.now();
    let old_build = now - 60 * DAY;
    let old = product_client(stack, "pro-build-old", Some(old_build))?;
    let kept = old
        .activate(&key)
        .await
        .context("activating customer 6 in an old build")?;
    show(
        out,
        &format!(
            "customer 6 (expired, MAINTAIN_ACCESS) in a build of {}, activate",
            license_client::format_time(old_build)
        ),
        &kept,
    );
    ensure!(
        kept.code == Code::PerpetualFallback && kept.licensed,
        "customer 6 in an old build: {kept:?}"
    );
    let new_build = now - DAY;
    let new = product_client(stack, "pro-build-new", Some(new_build))?;
    let expired = activate_denied(&new, &key).await?;
    show(
        out,
        &format!(
            "customer 6 in a build of {}, activate",
            license_client::format_time(new_build)
        ),
        &expired,
    );
    ensure!(
        expired.code == Code::Expired,
        "customer 6 in a new build: {expired:?}"
    );
    out.proved("product and entitlements are signed into every verdict: a feature follows the license, a key for another product licenses nothing, and an expired MAINTAIN_ACCESS license keeps only the builds released before its expiry");
    Ok(())
}

/// The envelope inside the cache file, wherever the client keeps it.
fn find_envelope(value: &mut Value) -> Option<&mut Value> {
    if value.get("payload").is_some() && value.get("sig").is_some() {
        return Some(value);
    }
    match value {
        Value::Object(map) => map.values_mut().find_map(find_envelope),
        _ => None,
    }
}

/// Step 11: a machine without a network activates with a request code, answered by
/// the broker (the seat claimed in the database as online), and gives its seat back
/// with a deactivation code only it can sign. Customer 4's two seats are still held
/// by the machines of step 9.
async fn offline_activation(
    out: &mut Narrator,
    http: &reqwest::Client,
    stack: &Stack,
) -> anyhow::Result<()> {
    out.step("An air-gapped machine activates with codes carried by hand, and gives its seat back");
    let key = stack.issue_key("4")?;
    // No license server URL at all: this machine cannot reach one.
    let paths = Paths::in_dir(stack.scratch("air-gapped"));
    let air_gapped = LicenseClient::builder()
        .app_id(APP_ID)
        .trusted_keys(stack.trusted().clone())
        .key_store(Box::new(FileKeyStore::new(paths.data_dir.clone())))
        .paths(paths)
        .fingerprint(Fingerprint::from_machine_id("demo-air-gapped", APP_ID))
        .build()?;
    let request = air_gapped.offline_request(&key)?;
    out.detail(format!(
        "the offline machine's request code ({} characters, no network): {}",
        request.len(),
        compact(&Value::String(request.clone()))
    ));
    let asked = || async {
        let answer: Value = http
            .post(stack.url_for("/v1/license/offline/activate"))
            .json(&serde_json::json!({ "request": request }))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(answer)
    };
    let full = asked().await?;
    out.detail(format!(
        "POST /v1/license/offline/activate → {}",
        full["code"]
    ));
    out.detail(format!(
        "  \"{}\"",
        full["message"].as_str().unwrap_or_default()
    ));
    ensure!(
        full["code"] == "MACHINE_LIMIT",
        "expected MACHINE_LIMIT: {full}"
    );
    let third = desktop_client(stack, "seat-third")?;
    third.deactivate().await.context("freeing a seat online")?;
    out.detail("the third machine of step 9 deactivates online; the same request again:");
    let answer = asked().await?;
    let response = answer["response"].as_str().unwrap_or_default().to_owned();
    out.detail(format!(
        "  → {} with a response code of {} characters (also a QR code and a file on /offline)",
        answer["code"],
        response.len()
    ));
    let elsewhere = desktop_client(stack, "not-the-requester")?;
    let refused = elsewhere.install_offline_response(&response);
    out.detail(format!(
        "the response on another machine → {}",
        refused
            .as_ref()
            .map_or_else(|e| e.to_string(), |v| v.code.as_str().to_owned())
    ));
    ensure!(
        refused.is_err(),
        "another machine installed it: {refused:?}"
    );
    let installed = air_gapped.install_offline_response(&response)?;
    show(out, "the offline machine, install the response", &installed);
    let days = (installed.offline_until.unwrap_or(0) - license_client::SystemClock.now()) / DAY;
    ensure!(
        installed.licensed && days >= 29,
        "expected 30 days offline, got {installed:?}"
    );
    let code = air_gapped.deactivate_offline()?;
    let freed: Value = http
        .post(stack.url_for("/v1/license/offline/deactivate"))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await?
        .json()
        .await?;
    let payload: license_shared::VerdictPayload =
        serde_json::from_value::<license_shared::Envelope>(freed)?.open(stack.trusted())?;
    let used = payload
        .license
        .machines
        .as_ref()
        .map_or(u32::MAX, |m| m.used);
    out.detail(format!(
        "deactivate --offline, its signed code ({} characters) posted → {} (seats in use: {used} of 2)",
        code.len(),
        payload.result.code
    ));
    ensure!(
        payload.result.code == license_shared::VerdictCode::Deactivated && used == 1,
        "expected the seat freed: {payload:?}"
    );
    out.proved("the offline answer is the same signed verdict, bound to the request and this machine's device key; only that machine can give the seat back");
    Ok(())
}

async fn activate_denied(client: &LicenseClient, key: &str) -> anyhow::Result<Verdict> {
    match client.activate(key).await {
        Ok(verdict) if !verdict.licensed => Ok(verdict),
        Ok(verdict) => bail!("expected a deny, got {verdict:?}"),
        Err(e) => bail!("activation failed: {e}"),
    }
}

/// A desktop client with its own directory, a file key store (the demo leaves your OS
/// keyring alone) and the broker's key pinned.
fn desktop_client(stack: &Stack, machine: &str) -> anyhow::Result<LicenseClient> {
    Ok(desktop_builder(stack, machine).build()?)
}

/// [`desktop_client`] as the `desktop-pro` app, built at `build_time` (a real app
/// compiles it in; the demo picks one per build).
fn product_client(
    stack: &Stack,
    machine: &str,
    build_time: Option<i64>,
) -> anyhow::Result<LicenseClient> {
    let mut builder = desktop_builder(stack, machine).product(PRODUCT);
    if let Some(built) = build_time {
        builder = builder.build_time(built);
    }
    Ok(builder.build()?)
}

fn desktop_builder(stack: &Stack, machine: &str) -> LicenseClientBuilder {
    let paths = Paths::in_dir(stack.scratch(machine));
    let fingerprint = Fingerprint::from_machine_id(&format!("demo-{machine}"), APP_ID);
    stack
        .client()
        .app_id(APP_ID)
        .app_version(env!("CARGO_PKG_VERSION"))
        .key_store(Box::new(FileKeyStore::new(paths.data_dir.clone())))
        .paths(paths)
        .clock(Arc::new(license_client::SystemClock))
        .fingerprint(fingerprint)
}

fn show(out: &Narrator, what: &str, verdict: &Verdict) {
    let source = match verdict.source {
        Source::Online => "online",
        Source::Cache => "cache",
    };
    out.detail(format!(
        "{what} → licensed={} code={} source={source}",
        verdict.licensed,
        verdict.code.as_str()
    ));
    out.detail(format!("  \"{}\"", verdict.message));
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// One line of JSON, shortened for the terminal.
fn compact(value: &Value) -> String {
    const WIDTH: usize = 150;
    let text = value.to_string();
    match text.char_indices().nth(WIDTH) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
