//! The test-only endpoints under `/__emulator/`. Never under the context root, and
//! never subject to faults, so a test can always see and undo what it did.
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /__emulator/stats`, `DELETE` | counters; reset them |
//! | `GET /__emulator/faults`, `POST`, `DELETE` | read, replace, clear faults |
//! | `GET /__emulator/clients` | clients with ids and both secret slots |
//! | `POST /__emulator/clients/{name}/secrets/{slot}` | register a secret (`{"secret":"…"}` or random) |
//! | `DELETE /__emulator/clients/{name}/secrets/{slot}?revoke_sessions=true` | revoke a slot (3 = both) |
//! | `DELETE /__emulator/tokens` | revoke every token |
//! | `GET /__emulator/licenses` | the license table as ORDS would render the rows |
//! | `PUT /__emulator/licenses/{id}`, `DELETE` | upsert (seed row syntax; columns left out are NULL) or delete one row |

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::emulator::Emulator;
use crate::faults::Faults;
use crate::license::{self, Column, License, Render, Row};
use crate::seed::LicenseSeed;
use crate::state;

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_request", "message": message })),
    )
        .into_response()
}

fn not_found(message: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "message": message })),
    )
        .into_response()
}

pub(crate) async fn get_stats(State(e): State<Emulator>) -> Response {
    Json(e.stats()).into_response()
}

pub(crate) async fn reset_stats(State(e): State<Emulator>) -> StatusCode {
    e.reset_stats();
    StatusCode::NO_CONTENT
}

pub(crate) async fn get_faults(State(e): State<Emulator>) -> Response {
    Json(e.faults()).into_response()
}

pub(crate) async fn post_faults(State(e): State<Emulator>, body: Bytes) -> Response {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    let faults: Faults = match serde_json::from_slice(text) {
        Ok(f) => f,
        Err(err) => return bad_request(format!("faults: {err}")),
    };
    if let Err(err) = faults.validate() {
        return bad_request(format!("faults.{err}"));
    }
    e.set_faults(faults);
    Json(e.faults()).into_response()
}

pub(crate) async fn delete_faults(State(e): State<Emulator>) -> StatusCode {
    e.clear_faults();
    StatusCode::NO_CONTENT
}

pub(crate) async fn get_clients(State(e): State<Emulator>) -> Response {
    Json(e.clients()).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SecretBody {
    secret: Option<String>,
}

pub(crate) async fn post_secret(
    State(e): State<Emulator>,
    Path((name, slot)): Path<(String, u8)>,
    body: Bytes,
) -> Response {
    let parsed: SecretBody = if body.iter().all(u8::is_ascii_whitespace) {
        SecretBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(err) => return bad_request(format!("secret: {err}")),
        }
    };
    match e.register_client_secret(&name, slot, parsed.secret) {
        Some(secret) => {
            let id = e
                .clients()
                .into_iter()
                .find(|c| c.name == name)
                .map(|c| c.client_id);
            Json(json!({ "client_id": id, "client_secret": secret, "slot": slot })).into_response()
        }
        None => not_found(format!("no client {name:?} or slot {slot} (1 or 2)")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RevokeQuery {
    revoke_sessions: bool,
}

pub(crate) async fn delete_secret(
    State(e): State<Emulator>,
    Path((name, slot)): Path<(String, u8)>,
    Query(q): Query<RevokeQuery>,
) -> Response {
    if e.revoke_client_secret(&name, slot, q.revoke_sessions) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(format!("no client {name:?} or slot {slot} (1, 2 or 3)"))
    }
}

pub(crate) async fn delete_tokens(State(e): State<Emulator>) -> StatusCode {
    e.revoke_all_tokens();
    StatusCode::NO_CONTENT
}

pub(crate) async fn get_licenses(State(e): State<Emulator>) -> Response {
    let render = Render::of(&e.inner.options);
    let rows: Vec<Row> = e
        .inner
        .state()
        .licenses
        .values()
        .map(|r| Row::select(r, &Column::ALL, render))
        .collect();
    Json(rows).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PutQuery {
    /// Skip the CHECK constraints on `max_machines`, `entitlements`, `expiry_strategy` and `key_serial`, to test a
    /// client against data a real table would refuse.
    unchecked: bool,
}

pub(crate) async fn put_license(
    State(e): State<Emulator>,
    Path(id): Path<i64>,
    Query(q): Query<PutQuery>,
    body: Bytes,
) -> Response {
    let mut value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(err) => return bad_request(format!("license: {err}")),
    };
    if let Some(obj) = value.as_object_mut() {
        obj.entry("customer_id").or_insert(json!(id));
    }
    let seed: LicenseSeed = match serde_json::from_value(value) {
        Ok(s) => s,
        Err(err) => return bad_request(format!("license: {err}")),
    };
    let entitlements = state::empty_is_null(seed.entitlements);
    let expiry_strategy = state::empty_is_null(seed.expiry_strategy);
    if let Some(list) = entitlements.as_deref().filter(|_| !q.unchecked) {
        if !license::entitlements_are_valid(list) {
            return bad_request(format!(
                "license.entitlements: {list:?} violates the CHECK constraint: {}",
                crate::validate::ENTITLEMENTS_RULE
            ));
        }
    }
    if let Some(s) = expiry_strategy.as_deref().filter(|_| !q.unchecked) {
        if !license::EXPIRY_STRATEGIES.contains(&s) {
            return bad_request(format!(
                "license.expiry_strategy: {s:?} violates the CHECK constraint: NULL or one of {:?}",
                license::EXPIRY_STRATEGIES
            ));
        }
    }
    if let Some(max) = seed.max_machines.filter(|_| !q.unchecked) {
        if !(0..=license::MAX_MACHINES_LIMIT).contains(&max) {
            return bad_request(format!(
                "license.max_machines: {max} violates the CHECK constraint: NULL or a whole number from 0 to {}",
                license::MAX_MACHINES_LIMIT
            ));
        }
    }
    if let Some(serial) = seed.key_serial.filter(|_| !q.unchecked) {
        if !(0..=license::KEY_SERIAL_LIMIT).contains(&serial) {
            return bad_request(format!(
                "license.key_serial: {serial} violates the CHECK constraint: NULL or a whole number from 0 to {}",
                license::KEY_SERIAL_LIMIT
            ));
        }
    }
    if seed.customer_id != id {
        return bad_request(format!(
            "license.customer_id: {} does not match the URL's {id}",
            seed.customer_id
        ));
    }
    let now = e.inner.clock.now();
    e.upsert_license(License {
        customer_id: id,
        product: seed.product,
        license_status: seed.license_status,
        expires_at: seed
            .expires_at
            .map(|t| state::truncate_seconds(t.resolve(now))),
        updated_at: seed.updated_at.map(|t| t.resolve(now)),
    });
    e.set_max_machines(id, seed.max_machines);
    e.set_entitlements(id, entitlements.as_deref());
    e.set_expiry_strategy(id, expiry_strategy.as_deref());
    e.set_key_serial(id, seed.key_serial);
    if seed.license_model.is_some() || seed.max_borrow_days.is_some() {
        let model = seed.license_model.as_deref().unwrap_or("NODE_LOCKED");
        let days = seed.max_borrow_days.unwrap_or(0);
        if !license::LICENSE_MODELS.contains(&model) || !(0..=license::MAX_DAYS).contains(&days) {
            return bad_request(format!(
                "license.license_model must be one of {:?} and max_borrow_days from 0 to {}",
                license::LICENSE_MODELS,
                license::MAX_DAYS
            ));
        }
        e.set_license_model(id, model == "FLOATING", days);
    }
    let render = Render::of(&e.inner.options);
    let row = e
        .inner
        .state()
        .licenses
        .get(&id)
        .map(|r| Row::select(r, &Column::ALL, render));
    match row {
        Some(row) => Json(row).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockMove {
    advance_secs: u32,
}

/// `POST /__emulator/clock {"advance_secs": N}`: the emulator's clock moves forward
/// by N seconds (the database's clock, for seats, floating leases and trials).
pub(crate) async fn post_clock(State(e): State<Emulator>, body: Bytes) -> Response {
    let step: ClockMove = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(err) => {
            return bad_request(format!(
                "clock: {err}; send {{\"advance_secs\": N}} with N from 0 to {}",
                u32::MAX
            ))
        }
    };
    let shift = e.advance_clock(time::Duration::seconds(i64::from(step.advance_secs)));
    Json(json!({ "shifted_secs": shift.whole_seconds() })).into_response()
}

pub(crate) async fn delete_license(State(e): State<Emulator>, Path(id): Path<i64>) -> Response {
    if e.delete_license(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(format!("no license row for customer_id {id}"))
    }
}
