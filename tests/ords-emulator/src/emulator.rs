//! The [`Emulator`]: one shared state behind a cheap-to-clone handle, its router, and
//! the methods tests use to inspect and steer it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{get, post, put};
use axum::Router;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::{Clock, ShiftedClock};
use crate::faults::Faults;
use crate::ids;
use crate::license::{License, Record};
use crate::model::{self, Schema};
use crate::options::EmulatorOptions;
use crate::seats::RowLocks;
use crate::seed::{Seed, SeedError};
use crate::state::{self, State};
use crate::stats::Stats;
use crate::{admin, ords, server};

/// A running ORDS stand-in. Clones share the same state.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub schemas: Vec<Schema>,
    pub options: EmulatorOptions,
    pub clock: Arc<dyn Clock>,
    /// The same clock, to move it (`POST /__emulator/clock`).
    pub shift: Arc<ShiftedClock>,
    pub started_at: OffsetDateTime,
    pub state: Mutex<State>,
    pub faults: watch::Sender<Faults>,
    pub stats: Mutex<Stats>,
    /// The license rows' locks, for the seat handlers.
    pub seat_locks: RowLocks,
}

impl Inner {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A client as `GET /__emulator/clients` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientInfo {
    /// Client name.
    pub name: String,
    /// Alias of the schema it belongs to.
    pub schema: String,
    /// The client id.
    pub client_id: String,
    /// Secret in slot 1, if registered.
    pub client_secret: Option<String>,
    /// Secret in slot 2, if registered.
    pub client_secret_2: Option<String>,
    /// Granted roles.
    pub roles: Vec<String>,
}

impl Emulator {
    /// Builds an emulator from a seed, options and a clock. License times relative to
    /// "now" in the seed are resolved against `clock.now()` here.
    ///
    /// # Panics
    /// When the seed or options are invalid; use [`Emulator::try_new`] for input
    /// that comes from outside the program.
    pub fn new(seed: Seed, options: EmulatorOptions, clock: Arc<dyn Clock>) -> Emulator {
        match Emulator::try_new(seed, options, clock) {
            Ok(emulator) => emulator,
            Err(e) => panic!("ords-emulator: {e}"),
        }
    }

    /// Like [`Emulator::new`], but returns an error naming the offending field.
    pub fn try_new(
        seed: Seed,
        options: EmulatorOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Emulator, SeedError> {
        seed.validate()?;
        options.validate()?;
        let shift = Arc::new(ShiftedClock::new(clock));
        let clock: Arc<dyn Clock> = shift.clone();
        let started_at = clock.now();
        let inner = Inner {
            shift,
            schemas: model::compile(&seed),
            state: Mutex::new(State::from_seed(&seed, started_at)),
            options,
            clock,
            started_at,
            faults: watch::Sender::new(Faults::default()),
            stats: Mutex::new(Stats::default()),
            seat_locks: RowLocks::default(),
        };
        Ok(Emulator {
            inner: Arc::new(inner),
        })
    }

    /// The whole HTTP surface: ORDS under the context root, test endpoints under
    /// `/__emulator/`. Serve it with [`Emulator::serve`]: the `drop_connections`
    /// faults need its per-connection handle and stall instead under another server.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/__emulator/stats",
                get(admin::get_stats).delete(admin::reset_stats),
            )
            .route(
                "/__emulator/faults",
                get(admin::get_faults)
                    .post(admin::post_faults)
                    .delete(admin::delete_faults),
            )
            .route("/__emulator/clients", get(admin::get_clients))
            .route(
                "/__emulator/clients/{name}/secrets/{slot}",
                post(admin::post_secret).delete(admin::delete_secret),
            )
            .route(
                "/__emulator/tokens",
                axum::routing::delete(admin::delete_tokens),
            )
            .route("/__emulator/licenses", get(admin::get_licenses))
            .route("/__emulator/clock", post(admin::post_clock))
            .route(
                "/__emulator/licenses/{id}",
                put(admin::put_license).delete(admin::delete_license),
            )
            .fallback(ords::dispatch)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then lets open requests finish
    /// for up to five seconds.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::serve(self, listener, shutdown).await
    }

    /// The options in force.
    pub fn options(&self) -> &EmulatorOptions {
        &self.inner.options
    }

    /// When the emulator was built (by its clock); seed times are relative to it.
    pub fn started_at(&self) -> OffsetDateTime {
        self.inner.started_at
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats().clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        *self.inner.stats() = Stats::default();
    }

    /// Replaces the faults in force. `revoke_tokens` acts once and is not kept.
    pub fn set_faults(&self, mut faults: Faults) {
        if faults.revoke_tokens {
            self.revoke_all_tokens();
            faults.revoke_tokens = false;
        }
        self.inner.faults.send_replace(faults);
    }

    /// Clears every fault (and wakes stalled requests).
    pub fn clear_faults(&self) {
        self.inner.faults.send_replace(Faults::default());
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.inner.faults.borrow().clone()
    }

    /// Invalidates every token issued so far.
    pub fn revoke_all_tokens(&self) {
        self.inner.state().tokens.clear();
    }

    /// Client id and current secret (slot 1, else slot 2) of the named client.
    pub fn client_credentials(&self, client_name: &str) -> Option<(String, String)> {
        let state = self.inner.state();
        let c = state.clients.iter().find(|c| c.name == client_name)?;
        let secret = c.secrets.iter().flatten().next()?.clone();
        Some((c.client_id.clone(), secret))
    }

    /// Every client with its secrets.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.inner
            .state()
            .clients
            .iter()
            .map(|c| ClientInfo {
                name: c.name.clone(),
                schema: c.alias.clone(),
                client_id: c.client_id.clone(),
                client_secret: c.secrets[0].clone(),
                client_secret_2: c.secrets[1].clone(),
                roles: c.roles.clone(),
            })
            .collect()
    }

    /// Registers a secret in `slot` (1 or 2), random when `secret` is `None`, like
    /// `ORDS_SECURITY.REGISTER_CLIENT_SECRET`/`ROTATE_CLIENT_SECRET`. The other slot
    /// stays valid. Returns the new secret, or `None` for an unknown client or slot.
    pub fn register_client_secret(
        &self,
        client_name: &str,
        slot: u8,
        secret: Option<String>,
    ) -> Option<String> {
        let index = slot_index(slot)?;
        let mut state = self.inner.state();
        let client = state.clients.iter_mut().find(|c| c.name == client_name)?;
        let secret = secret
            .filter(|s| !s.is_empty())
            .unwrap_or_else(ids::client_credential);
        client.secrets[index] = Some(secret.clone());
        Some(secret)
    }

    /// Revokes the secret in `slot` (1 or 2; 3 revokes both, as the ORDS REST API
    /// documents). With `revoke_sessions`, tokens obtained with it end too. Returns
    /// `false` for an unknown client or slot.
    pub fn revoke_client_secret(&self, client_name: &str, slot: u8, revoke_sessions: bool) -> bool {
        let slots: &[usize] = match slot {
            1 => &[0],
            2 => &[1],
            3 => &[0, 1],
            _ => return false,
        };
        let mut state = self.inner.state();
        let Some(client) = state.clients.iter_mut().find(|c| c.name == client_name) else {
            return false;
        };
        for &s in slots {
            client.secrets[s] = None;
        }
        let id = client.client_id.clone();
        if revoke_sessions {
            state
                .tokens
                .retain(|_, t| t.client_id != id || !slots.contains(&t.slot));
        }
        true
    }

    /// Grants a role to a client (`GRANT_CLIENT_ROLE`); takes effect on the next request.
    pub fn grant_client_role(&self, client_name: &str, role: &str) -> bool {
        let mut state = self.inner.state();
        let Some(client) = state.clients.iter_mut().find(|c| c.name == client_name) else {
            return false;
        };
        if !client.roles.iter().any(|r| r == role) {
            client.roles.push(role.to_owned());
        }
        true
    }

    /// Revokes a role from a client (`REVOKE_CLIENT_ROLE`); its tokens stay but no
    /// longer pass privileges that need the role.
    pub fn revoke_client_role(&self, client_name: &str, role: &str) -> bool {
        let mut state = self.inner.state();
        let Some(client) = state.clients.iter_mut().find(|c| c.name == client_name) else {
            return false;
        };
        client.roles.retain(|r| r != role);
        true
    }

    /// The license table, ordered by `customer_id`.
    pub fn licenses(&self) -> Vec<License> {
        self.inner
            .state()
            .licenses
            .values()
            .map(|r| r.license.clone())
            .collect()
    }

    /// One license row.
    pub fn license(&self, customer_id: i64) -> Option<License> {
        self.inner
            .state()
            .licenses
            .get(&customer_id)
            .map(|r| r.license.clone())
    }

    /// Inserts or replaces a row (e.g. to suspend a license mid-test). Dates are
    /// stored as the columns would: DATE to the second, TIMESTAMP to the millisecond.
    /// A replaced row keeps its `max_machines`, `entitlements`, `expiry_strategy` and
    /// `key_serial` (a new one gets NULL in each); set them with
    /// [`Emulator::set_max_machines`], [`Emulator::set_entitlements`],
    /// [`Emulator::set_expiry_strategy`] and [`Emulator::set_key_serial`].
    pub fn upsert_license(&self, mut license: License) {
        license.expires_at = license.expires_at.map(state::truncate_seconds);
        license.updated_at = license.updated_at.map(state::truncate_millis);
        let mut state = self.inner.state();
        let (max_machines, entitlements, expiry_strategy, key_serial, floating) = state
            .licenses
            .get(&license.customer_id)
            .map(|r| {
                (
                    r.max_machines,
                    r.entitlements.clone(),
                    r.expiry_strategy.clone(),
                    r.key_serial,
                    (r.floating, r.max_borrow_days),
                )
            })
            .unwrap_or_default();
        state.licenses.insert(
            license.customer_id,
            Record {
                license,
                max_machines,
                entitlements,
                expiry_strategy,
                key_serial,
                floating: floating.0,
                max_borrow_days: floating.1,
            },
        );
    }

    /// Sets the row's `license_model` (`FLOATING` when `floating`, else
    /// `NODE_LOCKED`) and `max_borrow_days`; `false` without a row.
    pub fn set_license_model(
        &self,
        customer_id: i64,
        floating: bool,
        max_borrow_days: i64,
    ) -> bool {
        match self.inner.state().licenses.get_mut(&customer_id) {
            Some(r) => {
                r.floating = floating;
                r.max_borrow_days = max_borrow_days;
                true
            }
            None => false,
        }
    }

    /// Moves the emulator's clock forward by `by`: tokens, seats, floating leases and
    /// trials age by it. Returns the total shift so far.
    pub fn advance_clock(&self, by: time::Duration) -> time::Duration {
        self.inner.shift.advance(by)
    }

    /// The row's `key_serial` column: `Some(None)` is NULL (0), `None` no row.
    pub fn key_serial(&self, customer_id: i64) -> Option<Option<i64>> {
        self.inner
            .state()
            .licenses
            .get(&customer_id)
            .map(|r| r.key_serial)
    }

    /// Sets the row's `key_serial` (`None` = NULL, 0); `false` without a row. Not
    /// checked, like [`Emulator::set_entitlements`].
    pub fn set_key_serial(&self, customer_id: i64, key_serial: Option<i64>) -> bool {
        match self.inner.state().licenses.get_mut(&customer_id) {
            Some(r) => {
                r.key_serial = key_serial;
                true
            }
            None => false,
        }
    }

    /// The row's `entitlements` column as stored (`"export,sync"`): `Some(None)` is
    /// NULL (none), `None` no row.
    pub fn entitlements(&self, customer_id: i64) -> Option<Option<String>> {
        self.inner
            .state()
            .licenses
            .get(&customer_id)
            .map(|r| r.entitlements.clone())
    }

    /// Sets the row's `entitlements` (`None` or `""` = NULL); `false` without a row.
    /// Not checked against the CHECK constraint, so a client can be tested against
    /// data a real table would refuse; the seed and `PUT /__emulator/licenses/{id}`
    /// do check it.
    pub fn set_entitlements(&self, customer_id: i64, entitlements: Option<&str>) -> bool {
        match self.inner.state().licenses.get_mut(&customer_id) {
            Some(r) => {
                r.entitlements = state::empty_is_null(entitlements.map(str::to_owned));
                true
            }
            None => false,
        }
    }

    /// The row's `expiry_strategy` column: `Some(None)` is NULL (`REVOKE_ACCESS`),
    /// `None` no row.
    pub fn expiry_strategy(&self, customer_id: i64) -> Option<Option<String>> {
        self.inner
            .state()
            .licenses
            .get(&customer_id)
            .map(|r| r.expiry_strategy.clone())
    }

    /// Sets the row's `expiry_strategy` (`None` or `""` = NULL); `false` without a
    /// row. Not checked, like [`Emulator::set_entitlements`].
    pub fn set_expiry_strategy(&self, customer_id: i64, expiry_strategy: Option<&str>) -> bool {
        match self.inner.state().licenses.get_mut(&customer_id) {
            Some(r) => {
                r.expiry_strategy = state::empty_is_null(expiry_strategy.map(str::to_owned));
                true
            }
            None => false,
        }
    }

    /// The row's `max_machines` column: `Some(None)` is NULL (no limit), `None` no row.
    pub fn max_machines(&self, customer_id: i64) -> Option<Option<i64>> {
        self.inner
            .state()
            .licenses
            .get(&customer_id)
            .map(|r| r.max_machines)
    }

    /// Sets the row's `max_machines` (`None` = NULL, no limit); `false` without a row.
    /// Seats already held stay; the limit applies to the next activation.
    pub fn set_max_machines(&self, customer_id: i64, max_machines: Option<i64>) -> bool {
        match self.inner.state().licenses.get_mut(&customer_id) {
            Some(r) => {
                r.max_machines = max_machines;
                true
            }
            None => false,
        }
    }

    /// The license's seats as `GET customers/seats/:id` lists them (live ones only,
    /// oldest activation first, by the emulator's clock); `None` without a row.
    pub fn seats(&self, customer_id: i64) -> Option<Vec<crate::Seat>> {
        let now = self.inner.clock.now();
        let state = self.inner.state();
        state.licenses.get(&customer_id)?;
        Some(crate::seats::live_seats(&state, customer_id, now))
    }

    /// Deletes a row (and its seats); `false` when there was none.
    pub fn delete_license(&self, customer_id: i64) -> bool {
        let mut state = self.inner.state();
        state.activations.remove(&customer_id);
        state.licenses.remove(&customer_id).is_some()
    }
}

fn slot_index(slot: u8) -> Option<usize> {
    match slot {
        1 => Some(0),
        2 => Some(1),
        _ => None,
    }
}
