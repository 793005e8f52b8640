//! What changes while the emulator runs: client secrets, issued tokens, license rows.
//!
//! Tokens remember the alias that issued them (a token is only good on that alias)
//! and the secret slot used to obtain them (revoking a slot with `revoke_sessions`
//! ends exactly those tokens). Roles are looked up when a token is used, not when it
//! is issued, so a role revoked from a client takes effect at once.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use crate::ids;
use crate::license::{License, Record};
use crate::seats::{Activation, Trial};
use crate::seed::Seed;

/// An OAuth client at run time.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub name: String,
    pub alias: String,
    pub grant_type: String,
    pub roles: Vec<String>,
    pub token_duration: Option<u64>,
    pub client_id: String,
    /// Slot 1 and slot 2.
    pub secrets: [Option<String>; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub client_id: String,
    pub alias: String,
    pub slot: usize,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub clients: Vec<Client>,
    pub tokens: HashMap<String, Token>,
    /// Keyed by primary key, so iteration is `ORDER BY customer_id`.
    pub licenses: BTreeMap<i64, Record>,
    /// The `license_activations` table, per customer, in activation order.
    pub activations: BTreeMap<i64, Vec<Activation>>,
    /// The `license_products` table: product code to `trial_days` (NULL: no trial).
    pub products: BTreeMap<String, Option<i64>>,
    /// The `license_trials` table, keyed by (product, machine_key).
    pub trials: BTreeMap<(String, String), Trial>,
}

impl State {
    /// Seeds clients (random ids and secrets where none are fixed) and rows.
    pub fn from_seed(seed: &Seed, start: OffsetDateTime) -> State {
        let clients = seed
            .clients
            .iter()
            .map(|c| Client {
                name: c.name.clone(),
                alias: seed.schema_of("", c.schema.as_deref()).unwrap_or_default(),
                grant_type: c.grant_type.clone(),
                roles: c.roles.clone(),
                token_duration: c.token_duration,
                client_id: c.client_id.clone().unwrap_or_else(ids::client_credential),
                secrets: [
                    Some(
                        c.client_secret
                            .clone()
                            .unwrap_or_else(ids::client_credential),
                    ),
                    c.client_secret_2.clone(),
                ],
            })
            .collect();
        let licenses = seed
            .licenses
            .iter()
            .map(|l| {
                let license = License {
                    customer_id: l.customer_id,
                    product: l.product.clone(),
                    license_status: l.license_status.clone(),
                    // DATE has no fraction; TIMESTAMP keeps milliseconds.
                    expires_at: l
                        .expires_at
                        .as_ref()
                        .map(|t| truncate_seconds(t.resolve(start))),
                    updated_at: l
                        .updated_at
                        .as_ref()
                        .map(|t| truncate_millis(t.resolve(start))),
                };
                let record = Record {
                    license,
                    max_machines: l.max_machines,
                    entitlements: empty_is_null(l.entitlements.clone()),
                    expiry_strategy: empty_is_null(l.expiry_strategy.clone()),
                    key_serial: l.key_serial,
                    floating: l.license_model.as_deref() == Some("FLOATING"),
                    max_borrow_days: l.max_borrow_days.unwrap_or(0),
                };
                (l.customer_id, record)
            })
            .collect();
        State {
            clients,
            tokens: HashMap::new(),
            licenses,
            activations: BTreeMap::new(),
            products: seed
                .products
                .iter()
                .map(|p| (p.product.clone(), p.trial_days))
                .collect(),
            trials: BTreeMap::new(),
        }
    }

    /// The client with this id registered under `alias`.
    pub fn client_by_id(&self, alias: &str, client_id: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.alias == alias && c.client_id == client_id)
    }

    /// Which secret slot (0 or 1) `secret` matches for the client, if any.
    pub fn secret_slot(client: &Client, secret: &str) -> Option<usize> {
        client
            .secrets
            .iter()
            .position(|s| s.as_deref().is_some_and(|s| constant_time_eq(s, secret)))
    }
}

/// Oracle stores `''` as NULL.
pub(crate) fn empty_is_null(text: Option<String>) -> Option<String> {
    text.filter(|s| !s.is_empty())
}

/// Truncates to whole seconds, as a DATE column stores.
pub(crate) fn truncate_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Truncates to milliseconds, as ORDS prints a TIMESTAMP.
pub(crate) fn truncate_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_millisecond(t.millisecond()).unwrap_or(t)
}

/// Compares without an early exit, so the emulator does not teach clients to rely on
/// a timing difference real ORDS may not have.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
