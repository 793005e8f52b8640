//! Machine seats: the `license_seats` PL/SQL package of `deploy/ords/seats.sql`,
//! served natively with the same rules, status codes and JSON.
//!
//! Four `plsql/block` handlers on module `customers` (so privilege `license_priv`
//! covers them) each call one function of the package, which reads `:body_text`,
//! writes its JSON answer and returns the HTTP status for `:status_code`:
//!
//! | template | method | call |
//! |---|---|---|
//! | `seats/:id/activate` | POST | `license_seats.activate(:id, :body_text)` |
//! | `seats/:id/renew` | POST | `license_seats.renew(:id, :body_text)` |
//! | `seats/:id/release` | POST | `license_seats.release_seat(:id, :body_text)` |
//! | `seats/:id` | GET | `license_seats.list_seats(:id)` |
//! | `seats/:id/checkout` | POST | `license_seats.checkout(:id, :body_text)` |
//! | `seats/:id/checkin` | POST | `license_seats.checkin(:id, :body_text)` |
//! | `trials/start` | POST | `license_seats.start_trial(:body_text)` |
//!
//! A `FLOATING` license (`license_model`) counts machines running now: its seats are
//! short leases taken and renewed by checkout and freed by checkin, and it refuses
//! activate and renew (`FLOATING`); a `NODE_LOCKED` one refuses checkout and checkin
//! (`NOT_FLOATING`). Trials are one per product and machine, in their own table, by
//! the database's clock (this emulator's, which `POST /__emulator/clock` moves).
//!
//! The database is the only seat counter. Every write takes the license row's lock
//! (`SELECT … FOR UPDATE WAIT 2`), marks lapsed seats, then renews, counts and inserts
//! or refuses, and commits. Here the row lock is one async mutex per license, held
//! across the whole read-count-insert, and there is an `.await` between the count and
//! the insert, so without the lock concurrent activations would really race. Waiting
//! longer than [`LOCK_WAIT`] for it answers 409 `BUSY`, as ORA-30006 does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::emulator::Inner;
use crate::license::date;
use crate::negotiate::ErrorFormat;
use crate::number::{to_number, Number};
use crate::problem;
use crate::state::State;

/// How long a write waits for the license row's lock (`FOR UPDATE WAIT 2`).
pub const LOCK_WAIT: StdDuration = StdDuration::from_secs(2);
/// The shortest lease a seat may be given (`lease_seconds`).
pub const MIN_LEASE_SECONDS: i64 = 60;
/// The longest lease or release window, in seconds (ten years).
pub const MAX_SECONDS: i64 = 315_360_000;
/// The most characters in `machine_hash`, `by_machine_hash` and `machine_name`
/// (`VARCHAR2(64 CHAR)`).
pub const MAX_TEXT_CHARS: usize = 64;
/// The largest `release_budget`.
pub const MAX_RELEASE_BUDGET: i64 = 1_000_000;
/// The shortest lease a floating seat may be given (`lease_seconds` of checkout).
pub const MIN_FLOATING_LEASE_SECONDS: i64 = 1;
/// Seconds in a day, for `max_borrow_days` and `trial_days`.
pub const SECONDS_PER_DAY: i64 = 86_400;
/// The database error behind a 555 from the `seats_status` fault, unless
/// `seats_cause` names another.
pub const DEFAULT_FAULT_CAUSE: &str = "ORA-06502: PL/SQL: numeric or value error";
/// The database error for a non-numeric `:id` bound to the package's NUMBER parameter.
pub const NOT_A_NUMBER: &str =
    "ORA-06502: PL/SQL: numeric or value error: character to number conversion error";

/// One of the package's functions, with the template and method that call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Procedure {
    /// `POST customers/seats/:id/activate`
    Activate,
    /// `POST customers/seats/:id/renew`
    Renew,
    /// `POST customers/seats/:id/release`
    Release,
    /// `GET customers/seats/:id`
    List,
    /// `POST customers/seats/:id/checkout`
    Checkout,
    /// `POST customers/seats/:id/checkin`
    Checkin,
    /// `POST customers/trials/start`
    StartTrial,
}

impl Procedure {
    /// All seven, in the order `seats.sql` defines them.
    pub const ALL: [Procedure; 7] = [
        Procedure::Activate,
        Procedure::Renew,
        Procedure::Release,
        Procedure::List,
        Procedure::Checkout,
        Procedure::Checkin,
        Procedure::StartTrial,
    ];

    /// Whether the handler binds `:id` (a license): all but the trials, which are per
    /// product and machine.
    pub fn binds_id(self) -> bool {
        self != Procedure::StartTrial
    }

    /// The package function the handler calls (`call` in the seed).
    pub fn call(self) -> &'static str {
        match self {
            Procedure::Activate => "license_seats.activate",
            Procedure::Renew => "license_seats.renew",
            Procedure::Release => "license_seats.release_seat",
            Procedure::List => "license_seats.list_seats",
            Procedure::Checkout => "license_seats.checkout",
            Procedure::Checkin => "license_seats.checkin",
            Procedure::StartTrial => "license_seats.start_trial",
        }
    }

    /// The template pattern, relative to module `customers` (`customers/`).
    pub fn pattern(self) -> &'static str {
        match self {
            Procedure::Activate => "seats/:id/activate",
            Procedure::Renew => "seats/:id/renew",
            Procedure::Release => "seats/:id/release",
            Procedure::List => "seats/:id",
            Procedure::Checkout => "seats/:id/checkout",
            Procedure::Checkin => "seats/:id/checkin",
            Procedure::StartTrial => "trials/start",
        }
    }

    /// The handler's HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Procedure::List => "GET",
            _ => "POST",
        }
    }

    /// The JSON members the function reads from `:body_text`, in the order it checks
    /// them (the first bad one is the 400's message).
    pub fn body_members(self) -> &'static [&'static str] {
        match self {
            Procedure::Activate => &[
                "machine_hash",
                "machine_name",
                "lease_seconds",
                "activation_ref",
            ],
            Procedure::Renew => &["machine_hash", "lease_seconds", "floating_lease_seconds"],
            Procedure::Release => &[
                "machine_hash",
                "by_machine_hash",
                "release_budget",
                "release_window_seconds",
                "activation_ref",
            ],
            Procedure::List => &[],
            Procedure::Checkout => &[
                "machine_hash",
                "machine_name",
                "lease_seconds",
                "borrow_seconds",
            ],
            Procedure::Checkin => &[
                "machine_hash",
                "lease_seconds",
                "release_budget",
                "release_window_seconds",
            ],
            Procedure::StartTrial => &["product", "machine_key"],
        }
    }

    /// The outcomes of its 200 answers.
    pub fn outcomes(self) -> &'static [Outcome] {
        match self {
            Procedure::Activate => &[
                Outcome::Activated,
                Outcome::Renewed,
                Outcome::Repeated,
                Outcome::MachineLimit,
                Outcome::Floating,
            ],
            Procedure::Renew => &[Outcome::Renewed, Outcome::NotActivated],
            Procedure::Release => &[Outcome::Released, Outcome::NotHeld, Outcome::ReleaseLimit],
            Procedure::List => &[Outcome::Listed],
            Procedure::Checkout => &[
                Outcome::CheckedOut,
                Outcome::Renewed,
                Outcome::SeatsInUse,
                Outcome::NotFloating,
            ],
            Procedure::Checkin => &[
                Outcome::CheckedIn,
                Outcome::NotHeld,
                Outcome::ReleaseLimit,
                Outcome::NotFloating,
            ],
            Procedure::StartTrial => &[
                Outcome::TrialStarted,
                Outcome::Trial,
                Outcome::TrialExpired,
                Outcome::NoTrial,
            ],
        }
    }

    /// The procedure a seed's `call` names.
    pub fn from_call(call: &str) -> Option<Procedure> {
        Procedure::ALL
            .into_iter()
            .find(|p| p.call().eq_ignore_ascii_case(call.trim()))
    }
}

/// The `outcome` member of every answer the package writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// activate: a new seat.
    Activated,
    /// activate or renew: this machine's live seat was renewed (never a second seat).
    Renewed,
    /// activate: this machine's live seat already belonged to the offline activation
    /// named (its request answered again); renewed.
    Repeated,
    /// activate: every seat is held by other machines; nothing changed.
    MachineLimit,
    /// renew: this machine holds no live seat; renew never creates one.
    NotActivated,
    /// release: the seat is freed.
    Released,
    /// release: that machine held no live seat.
    NotHeld,
    /// release of another machine: the license used its remote release budget within
    /// the window; nothing changed.
    ReleaseLimit,
    /// list.
    Listed,
    /// 404: no license row.
    NoLicense,
    /// 400: the body is not what the function reads.
    BadRequest,
    /// 409: the row lock was not had within [`LOCK_WAIT`] (ORA-30006).
    Busy,
    /// activate of a `FLOATING` license: nothing changed (use checkout).
    Floating,
    /// checkout: a new floating seat.
    CheckedOut,
    /// checkout: every seat is held by other machines running now.
    SeatsInUse,
    /// checkout or checkin of a `NODE_LOCKED` license: nothing changed.
    NotFloating,
    /// checkin: the floating seat is free.
    CheckedIn,
    /// start_trial: this machine's first trial of the product began now.
    TrialStarted,
    /// start_trial: the trial that machine started earlier, still running.
    Trial,
    /// start_trial: that trial has ended; never a new one.
    TrialExpired,
    /// start_trial: the product has no trial (`trial_days` NULL or no product row).
    NoTrial,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 21] = [
        Outcome::Activated,
        Outcome::Renewed,
        Outcome::Repeated,
        Outcome::MachineLimit,
        Outcome::NotActivated,
        Outcome::Released,
        Outcome::NotHeld,
        Outcome::ReleaseLimit,
        Outcome::Listed,
        Outcome::NoLicense,
        Outcome::BadRequest,
        Outcome::Busy,
        Outcome::Floating,
        Outcome::CheckedOut,
        Outcome::SeatsInUse,
        Outcome::NotFloating,
        Outcome::CheckedIn,
        Outcome::TrialStarted,
        Outcome::Trial,
        Outcome::TrialExpired,
        Outcome::NoTrial,
    ];

    /// The literal in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Activated => "ACTIVATED",
            Outcome::Renewed => "RENEWED",
            Outcome::Repeated => "REPEATED",
            Outcome::MachineLimit => "MACHINE_LIMIT",
            Outcome::NotActivated => "NOT_ACTIVATED",
            Outcome::Released => "RELEASED",
            Outcome::NotHeld => "NOT_HELD",
            Outcome::ReleaseLimit => "RELEASE_LIMIT",
            Outcome::Listed => "LISTED",
            Outcome::NoLicense => "NO_LICENSE",
            Outcome::BadRequest => "BAD_REQUEST",
            Outcome::Busy => "BUSY",
            Outcome::Floating => "FLOATING",
            Outcome::CheckedOut => "CHECKED_OUT",
            Outcome::SeatsInUse => "SEATS_IN_USE",
            Outcome::NotFloating => "NOT_FLOATING",
            Outcome::CheckedIn => "CHECKED_IN",
            Outcome::TrialStarted => "TRIAL_STARTED",
            Outcome::Trial => "TRIAL",
            Outcome::TrialExpired => "TRIAL_EXPIRED",
            Outcome::NoTrial => "NO_TRIAL",
        }
    }

    /// The HTTP status the function returns for `:status_code`.
    pub fn status(self) -> u16 {
        match self {
            Outcome::NoLicense => 404,
            Outcome::BadRequest => 400,
            Outcome::Busy => 409,
            _ => 200,
        }
    }
}

/// A live seat, as the answers list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// The machine's identity as the broker sends it.
    pub machine_hash: String,
    /// Shown to users in machine lists; NULL when none was given.
    pub machine_name: Option<String>,
    /// When the seat was taken (holding it since).
    pub activated_at: OffsetDateTime,
    /// The last activation or renewal.
    pub last_seen: OffsetDateTime,
    /// The seat lapses at this instant unless renewed.
    pub lease_until: OffsetDateTime,
}

/// `license_activations.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeatStatus {
    Active,
    Lapsed,
    Released,
}

/// One row of `license_activations`.
#[derive(Debug, Clone)]
pub(crate) struct Activation {
    pub machine_hash: String,
    pub machine_name: Option<String>,
    pub status: SeatStatus,
    pub activated_at: OffsetDateTime,
    pub last_seen: OffsetDateTime,
    pub lease_until: OffsetDateTime,
    pub released_at: Option<OffsetDateTime>,
    pub released_remotely: bool,
    /// The offline activation holding the seat (NULL: an online one).
    pub activation_ref: Option<String>,
}

impl Activation {
    fn is_live(&self, now: OffsetDateTime) -> bool {
        self.status == SeatStatus::Active && self.lease_until > now
    }
}

/// The row locks: one async mutex per license, made on first use.
#[derive(Default)]
pub(crate) struct RowLocks(Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

impl RowLocks {
    fn of(&self, customer_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(customer_id).or_default().clone()
    }
}

/// What the seat faults do to one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeatFault {
    pub status: Option<u16>,
    pub cause: Option<String>,
    pub busy: bool,
}

/// The live seats of a license at `now`, oldest activation first.
pub(crate) fn live_seats(state: &State, customer_id: i64, now: OffsetDateTime) -> Vec<Seat> {
    state
        .activations
        .get(&customer_id)
        .into_iter()
        .flatten()
        .filter(|a| a.is_live(now))
        .map(|a| Seat {
            machine_hash: a.machine_hash.clone(),
            machine_name: a.machine_name.clone(),
            activated_at: a.activated_at,
            last_seen: a.last_seen,
            lease_until: a.lease_until,
        })
        .collect()
}

/// Runs one seat handler: `id` is the `:id` bind, `body` the request body.
pub(crate) async fn handle(
    inner: &Inner,
    procedure: Procedure,
    id: &str,
    body: &[u8],
    fault: SeatFault,
    format: ErrorFormat,
) -> Response {
    let ecid = inner.options.ecid_style;
    if let Some(status) = fault.status {
        let Ok(status) = StatusCode::from_u16(status) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if status.as_u16() == 555 {
            let cause = fault.cause.as_deref().unwrap_or(DEFAULT_FAULT_CAUSE);
            return problem::user_defined_error(cause, format, ecid);
        }
        return problem::problem(status, None, format, ecid);
    }
    if procedure == Procedure::StartTrial {
        return match Request::parse(procedure, body) {
            Ok(Request::StartTrial {
                product,
                machine_key,
            }) => start_trial(inner, &product, &machine_key, fault.busy),
            Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Err(message) => error(Outcome::BadRequest, Some(&message)),
        };
    }
    // `:id` goes into the function's NUMBER parameter before its code runs, converted
    // as Oracle converts text (`1e3` is 1000, `4.0` is 4), so a non-number is an
    // unhandled error: 555.
    let customer_id = match to_number(id) {
        None => return problem::user_defined_error(NOT_A_NUMBER, format, ecid),
        Some(Number::Integer(n)) => Some(n),
        // A fraction (or beyond any stored id): `WHERE customer_id = p_customer_id`
        // finds no row.
        Some(Number::Other) => None,
    };
    let request = match Request::parse(procedure, body) {
        Ok(r) => r,
        Err(message) => return error(Outcome::BadRequest, Some(&message)),
    };
    let Some(customer_id) = customer_id else {
        return error(Outcome::NoLicense, None);
    };
    if procedure == Procedure::List {
        let now = inner.clock.now();
        let state = inner.state();
        return match state.licenses.get(&customer_id) {
            Some(r) => answer(&state, customer_id, Outcome::Listed, r.max_machines, now),
            None => error(Outcome::NoLicense, None),
        };
    }
    // SELECT … FROM licenses WHERE customer_id = :id FOR UPDATE WAIT 2
    if !inner.state().licenses.contains_key(&customer_id) {
        return error(Outcome::NoLicense, None);
    }
    if fault.busy {
        return error(Outcome::Busy, None);
    }
    let lock = inner.seat_locks.of(customer_id);
    let Ok(_guard) = tokio::time::timeout(LOCK_WAIT, lock.lock_owned()).await else {
        return error(Outcome::Busy, None);
    };
    let now = inner.clock.now();
    let (max_machines, floating, max_borrow_days) = {
        let mut state = inner.state();
        let Some(record) = state.licenses.get(&customer_id) else {
            return error(Outcome::NoLicense, None);
        };
        let read = (record.max_machines, record.floating, record.max_borrow_days);
        lapse(&mut state, customer_id, now);
        read
    };
    let outcome = match request {
        Request::Activate { .. } if floating => Outcome::Floating,
        Request::Renew {
            machine_hash,
            floating_lease_seconds,
            ..
        } if floating => {
            let until = now + Duration::seconds(floating_lease_seconds);
            let mut state = inner.state();
            if renew_floating(&mut state, customer_id, &machine_hash, None, now, until) {
                Outcome::Renewed
            } else {
                Outcome::NotActivated
            }
        }
        Request::Checkout { .. } | Request::Checkin { .. } if !floating => Outcome::NotFloating,
        Request::Checkout {
            machine_hash,
            machine_name,
            lease_seconds,
            borrow_seconds,
        } => {
            // A borrow is capped by the license, and never shorter than a plain lease.
            let lease = lease_seconds.max(borrow_seconds.min(max_borrow_days * SECONDS_PER_DAY));
            let seat = Claim {
                customer_id,
                max_machines,
                machine_hash: &machine_hash,
                machine_name: machine_name.as_deref(),
                now,
                until: now + Duration::seconds(lease),
            };
            checkout(inner, seat).await
        }
        Request::Checkin {
            machine_hash,
            lease_seconds,
            budget,
            window_seconds,
        } => {
            let mut state = inner.state();
            let window_start = now - Duration::seconds(window_seconds);
            let borrowed_past = now + Duration::seconds(lease_seconds);
            checkin(
                &mut state,
                customer_id,
                &machine_hash,
                (budget, window_start, borrowed_past),
                now,
            )
        }
        Request::StartTrial { .. } => Outcome::BadRequest,
        Request::Activate {
            machine_hash,
            machine_name,
            lease_seconds,
            activation_ref,
        } => {
            // seats.sql: the same offline activation asked again.
            let repeated = activation_ref.is_some() && {
                let state = inner.state();
                state.activations.get(&customer_id).is_some_and(|seats| {
                    seats.iter().any(|seat| {
                        seat.is_live(now)
                            && seat.machine_hash == machine_hash
                            && seat.activation_ref == activation_ref
                    })
                })
            };
            let outcome = activate(
                inner,
                customer_id,
                max_machines,
                &machine_hash,
                machine_name.as_deref(),
                now,
                now + Duration::seconds(lease_seconds),
            )
            .await;
            let outcome = match outcome {
                Outcome::Renewed if repeated => Outcome::Repeated,
                other => other,
            };
            // seats.sql: the seat belongs to this activation now (NULL: online).
            if matches!(
                outcome,
                Outcome::Activated | Outcome::Renewed | Outcome::Repeated
            ) {
                let mut state = inner.state();
                let seats = state.activations.entry(customer_id).or_default();
                for seat in seats.iter_mut() {
                    if seat.is_live(now) && seat.machine_hash == machine_hash {
                        seat.activation_ref = activation_ref.clone();
                    }
                }
            }
            outcome
        }
        Request::Renew {
            machine_hash,
            lease_seconds,
            ..
        } => {
            let mut state = inner.state();
            let until = now + Duration::seconds(lease_seconds);
            if renew_live(&mut state, customer_id, &machine_hash, None, now, until) {
                Outcome::Renewed
            } else {
                Outcome::NotActivated
            }
        }
        Request::Release {
            machine_hash,
            by_machine_hash,
            budget,
            window_seconds,
            activation_ref,
        } => {
            let mut state = inner.state();
            release(
                &mut state,
                customer_id,
                (&machine_hash, &by_machine_hash, activation_ref.as_deref()),
                budget,
                now - Duration::seconds(window_seconds),
                now,
            )
        }
        Request::List => Outcome::Listed,
    };
    let state = inner.state();
    answer(&state, customer_id, outcome, max_machines, now)
}

/// Activation with the row lock held: renew this machine's live seat if it has one,
/// else count, then insert or refuse.
async fn activate(
    inner: &Inner,
    customer_id: i64,
    max_machines: Option<i64>,
    machine_hash: &str,
    machine_name: Option<&str>,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Outcome {
    let used = {
        let mut state = inner.state();
        if renew_live(
            &mut state,
            customer_id,
            machine_hash,
            machine_name,
            now,
            until,
        ) {
            return Outcome::Renewed;
        }
        live_count(&state, customer_id, now)
    };
    // Between the COUNT and the INSERT: only the row lock keeps another activation of
    // this license out of here.
    tokio::task::yield_now().await;
    if max_machines.is_some_and(|max| used as i64 >= max) {
        return Outcome::MachineLimit;
    }
    let mut state = inner.state();
    // The unique index on the live (customer_id, machine_hash) pair: a duplicate is
    // caught as DUP_VAL_ON_INDEX and answered as an idempotent renewal.
    if renew_live(
        &mut state,
        customer_id,
        machine_hash,
        machine_name,
        now,
        until,
    ) {
        return Outcome::Renewed;
    }
    state
        .activations
        .entry(customer_id)
        .or_default()
        .push(Activation {
            machine_hash: machine_hash.to_owned(),
            machine_name: machine_name.map(str::to_owned),
            status: SeatStatus::Active,
            activated_at: now,
            last_seen: now,
            lease_until: until,
            released_at: None,
            released_remotely: false,
            activation_ref: None,
        });
    Outcome::Activated
}

/// What a checkout asks for, with the row lock held.
struct Claim<'a> {
    customer_id: i64,
    max_machines: Option<i64>,
    machine_hash: &'a str,
    machine_name: Option<&'a str>,
    now: OffsetDateTime,
    until: OffsetDateTime,
}

/// Checkout with the row lock held: renew this machine's floating seat (never cutting
/// a borrowed lease short), else count, then insert or refuse.
async fn checkout(inner: &Inner, claim: Claim<'_>) -> Outcome {
    let Claim {
        customer_id,
        max_machines,
        machine_hash,
        machine_name,
        now,
        until,
    } = claim;
    let used = {
        let mut state = inner.state();
        if renew_floating(
            &mut state,
            customer_id,
            machine_hash,
            machine_name,
            now,
            until,
        ) {
            return Outcome::Renewed;
        }
        live_count(&state, customer_id, now)
    };
    // Between the COUNT and the INSERT: only the row lock keeps another checkout of
    // this license out of here.
    tokio::task::yield_now().await;
    if max_machines.is_some_and(|max| used as i64 >= max) {
        return Outcome::SeatsInUse;
    }
    inner
        .state()
        .activations
        .entry(customer_id)
        .or_default()
        .push(Activation {
            machine_hash: machine_hash.to_owned(),
            machine_name: machine_name.map(str::to_owned),
            status: SeatStatus::Active,
            activated_at: now,
            last_seen: now,
            lease_until: until,
            released_at: None,
            released_remotely: false,
            activation_ref: None,
        });
    Outcome::CheckedOut
}

/// Renews this machine's live floating seat to `until`, never shortening a borrowed
/// lease (name replaced only when one is given); `false` when it holds none.
fn renew_floating(
    state: &mut State,
    customer_id: i64,
    machine_hash: &str,
    machine_name: Option<&str>,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> bool {
    let seats = state.activations.entry(customer_id).or_default();
    let Some(seat) = seats
        .iter_mut()
        .find(|a| a.is_live(now) && a.machine_hash == machine_hash)
    else {
        return false;
    };
    seat.last_seen = now;
    seat.lease_until = seat.lease_until.max(until);
    if let Some(name) = machine_name {
        seat.machine_name = Some(name.to_owned());
    }
    true
}

/// Checkin: a plain floating seat ends as if its lease ran out now (LAPSED); one whose
/// lease reaches past `borrowed_past` is borrowed, and returning it is a release within
/// the budget. `budget` is (release budget, window start, borrowed past).
fn checkin(
    state: &mut State,
    customer_id: i64,
    machine_hash: &str,
    budget: (i64, OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
) -> Outcome {
    let (budget, window_start, borrowed_past) = budget;
    let seats = state.activations.entry(customer_id).or_default();
    let Some(index) = seats
        .iter()
        .position(|a| a.is_live(now) && a.machine_hash == machine_hash)
    else {
        return Outcome::NotHeld;
    };
    let borrowed = seats[index].lease_until > borrowed_past;
    let spent = seats
        .iter()
        .filter(|a| {
            a.status == SeatStatus::Released && a.released_at.is_some_and(|t| t > window_start)
        })
        .count();
    if borrowed && spent as i64 >= budget {
        return Outcome::ReleaseLimit;
    }
    let seat = &mut seats[index];
    seat.status = if borrowed {
        SeatStatus::Released
    } else {
        SeatStatus::Lapsed
    };
    seat.released_at = borrowed.then_some(now);
    seat.lease_until = now;
    Outcome::CheckedIn
}

/// One row of `license_trials`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trial {
    pub started_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Serialize)]
struct TrialBody<'a> {
    outcome: &'a str,
    started_at: String,
    expires_at: String,
}

/// `start_trial`: the product row's lock makes "look up, else insert" one step (here
/// the state's mutex, held across both), so a machine gets one trial per product.
fn start_trial(inner: &Inner, product: &str, machine_key: &str, busy: bool) -> Response {
    if busy {
        return error(Outcome::Busy, None);
    }
    let mut state = inner.state();
    let Some(days) = state.products.get(product).copied().flatten() else {
        return error(Outcome::NoTrial, None);
    };
    let now = inner.clock.now();
    let key = (product.to_owned(), machine_key.to_owned());
    let (outcome, trial) = match state.trials.get(&key) {
        Some(t) if t.expires_at > now => (Outcome::Trial, *t),
        Some(t) => (Outcome::TrialExpired, *t),
        None => {
            let t = Trial {
                started_at: now,
                expires_at: now + Duration::days(days),
            };
            state.trials.insert(key, t);
            (Outcome::TrialStarted, t)
        }
    };
    json(
        200,
        &TrialBody {
            outcome: outcome.as_str(),
            started_at: date(trial.started_at),
            expires_at: date(trial.expires_at),
        },
    )
}

/// `UPDATE … SET status = 'LAPSED' WHERE status = 'ACTIVE' AND lease_until <= now`.
fn lapse(state: &mut State, customer_id: i64, now: OffsetDateTime) {
    for a in state.activations.entry(customer_id).or_default() {
        if a.status == SeatStatus::Active && a.lease_until <= now {
            a.status = SeatStatus::Lapsed;
        }
    }
}

/// Renews this machine's live seat (name replaced only when one is given); `false`
/// when it holds none.
fn renew_live(
    state: &mut State,
    customer_id: i64,
    machine_hash: &str,
    machine_name: Option<&str>,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> bool {
    let seats = state.activations.entry(customer_id).or_default();
    let Some(seat) = seats
        .iter_mut()
        .find(|a| a.is_live(now) && a.machine_hash == machine_hash)
    else {
        return false;
    };
    seat.last_seen = now;
    seat.lease_until = until;
    if let Some(name) = machine_name {
        seat.machine_name = Some(name.to_owned());
    }
    true
}

fn live_count(state: &State, customer_id: i64, now: OffsetDateTime) -> usize {
    state
        .activations
        .get(&customer_id)
        .map_or(0, |s| s.iter().filter(|a| a.is_live(now)).count())
}

/// `(machine_hash, by_machine_hash, activation_ref)`: with an activation_ref, a seat
/// that does not keep it is not held (seats.sql: holds_activation).
fn release(
    state: &mut State,
    customer_id: i64,
    (machine_hash, by_machine_hash, activation_ref): (&str, &str, Option<&str>),
    budget: i64,
    window_start: OffsetDateTime,
    now: OffsetDateTime,
) -> Outcome {
    let seats = state.activations.entry(customer_id).or_default();
    let remote = machine_hash != by_machine_hash;
    let Some(index) = seats
        .iter()
        .position(|a| a.is_live(now) && a.machine_hash == machine_hash)
    else {
        return Outcome::NotHeld;
    };
    if activation_ref.is_some() && seats[index].activation_ref.as_deref() != activation_ref {
        return Outcome::NotHeld;
    }
    // Every release counts, a machine's own too (seats.sql: release_seat).
    let spent = seats
        .iter()
        .filter(|a| {
            a.status == SeatStatus::Released && a.released_at.is_some_and(|t| t > window_start)
        })
        .count();
    if spent as i64 >= budget {
        return Outcome::ReleaseLimit;
    }
    let seat = &mut seats[index];
    seat.status = SeatStatus::Released;
    seat.released_at = Some(now);
    seat.released_remotely = remote;
    Outcome::Released
}

/// What a handler read from `:body_text`.
enum Request {
    Activate {
        machine_hash: String,
        machine_name: Option<String>,
        lease_seconds: i64,
        activation_ref: Option<String>,
    },
    Renew {
        machine_hash: String,
        lease_seconds: i64,
        floating_lease_seconds: i64,
    },
    Release {
        machine_hash: String,
        by_machine_hash: String,
        budget: i64,
        window_seconds: i64,
        activation_ref: Option<String>,
    },
    List,
    Checkout {
        machine_hash: String,
        machine_name: Option<String>,
        lease_seconds: i64,
        borrow_seconds: i64,
    },
    Checkin {
        machine_hash: String,
        lease_seconds: i64,
        budget: i64,
        window_seconds: i64,
    },
    StartTrial {
        product: String,
        machine_key: String,
    },
}

impl Request {
    /// Reads the members in [`Procedure::body_members`] order, as the package does;
    /// the error is the 400's `message`.
    fn parse(procedure: Procedure, body: &[u8]) -> Result<Request, String> {
        if procedure == Procedure::List {
            return Ok(Request::List);
        }
        let object: Map<String, Value> = match serde_json::from_slice(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err("the body must be a JSON object".to_owned()),
        };
        let required = |name: &str| -> Result<String, String> {
            text(&object, name)?.ok_or_else(|| format!("{name}: required"))
        };
        let lease = |name: &str| integer(&object, name, MIN_LEASE_SECONDS, MAX_SECONDS);
        let floating_lease =
            |name: &str| integer(&object, name, MIN_FLOATING_LEASE_SECONDS, MAX_SECONDS);
        Ok(match procedure {
            Procedure::Activate => Request::Activate {
                machine_hash: required("machine_hash")?,
                machine_name: text(&object, "machine_name")?,
                lease_seconds: lease("lease_seconds")?,
                activation_ref: text(&object, "activation_ref")?,
            },
            Procedure::Renew => Request::Renew {
                machine_hash: required("machine_hash")?,
                lease_seconds: lease("lease_seconds")?,
                floating_lease_seconds: floating_lease("floating_lease_seconds")?,
            },
            Procedure::Release => Request::Release {
                machine_hash: required("machine_hash")?,
                by_machine_hash: required("by_machine_hash")?,
                budget: integer(&object, "release_budget", 0, MAX_RELEASE_BUDGET)?,
                window_seconds: integer(&object, "release_window_seconds", 1, MAX_SECONDS)?,
                activation_ref: text(&object, "activation_ref")?,
            },
            Procedure::List => Request::List,
            Procedure::Checkout => Request::Checkout {
                machine_hash: required("machine_hash")?,
                machine_name: text(&object, "machine_name")?,
                lease_seconds: floating_lease("lease_seconds")?,
                borrow_seconds: integer(&object, "borrow_seconds", 0, MAX_SECONDS)?,
            },
            Procedure::Checkin => Request::Checkin {
                machine_hash: required("machine_hash")?,
                lease_seconds: floating_lease("lease_seconds")?,
                budget: integer(&object, "release_budget", 0, MAX_RELEASE_BUDGET)?,
                window_seconds: integer(&object, "release_window_seconds", 1, MAX_SECONDS)?,
            },
            Procedure::StartTrial => Request::StartTrial {
                product: required("product")?,
                machine_key: required("machine_key")?,
            },
        })
    }
}

/// A text member: absent, `null` and `""` are all NULL (Oracle stores an empty
/// string as NULL); at most [`MAX_TEXT_CHARS`] characters.
fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > MAX_TEXT_CHARS => Err(format!(
            "{name}: must be at most {MAX_TEXT_CHARS} characters"
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name}: must be a string")),
    }
}

/// An integral JSON number (`60` or `60.0`) from `min` to `max`.
fn integer(object: &Map<String, Value>, name: &str, min: i64, max: i64) -> Result<i64, String> {
    let bad = || format!("{name}: must be an integer from {min} to {max}");
    match object.get(name) {
        None | Some(Value::Null) => Err(format!("{name}: required")),
        Some(Value::Number(n)) => {
            let v = n.as_f64().ok_or_else(bad)?;
            if v.fract() != 0.0 || v < min as f64 || v > max as f64 {
                return Err(bad());
            }
            Ok(v as i64)
        }
        Some(_) => Err(bad()),
    }
}

#[derive(Serialize)]
struct SeatsBody<'a> {
    outcome: &'a str,
    max_machines: Option<i64>,
    used: usize,
    machines: Vec<SeatJson>,
}

#[derive(Serialize)]
struct SeatJson {
    machine_hash: String,
    machine_name: Option<String>,
    activated_at: String,
    last_seen: String,
    lease_until: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// A 200 with the live seats after the operation.
fn answer(
    state: &State,
    customer_id: i64,
    outcome: Outcome,
    max_machines: Option<i64>,
    now: OffsetDateTime,
) -> Response {
    let machines: Vec<SeatJson> = live_seats(state, customer_id, now)
        .into_iter()
        .map(|s| SeatJson {
            machine_hash: s.machine_hash,
            machine_name: s.machine_name,
            activated_at: date(s.activated_at),
            last_seen: date(s.last_seen),
            lease_until: date(s.lease_until),
        })
        .collect();
    json(
        outcome.status(),
        &SeatsBody {
            outcome: outcome.as_str(),
            max_machines,
            used: machines.len(),
            machines,
        },
    )
}

fn error(outcome: Outcome, message: Option<&str>) -> Response {
    json(
        outcome.status(),
        &ErrorBody {
            outcome: outcome.as_str(),
            message,
        },
    )
}

/// Compact JSON, as `JSON_OBJECT_T.to_string` writes it (the package writes the seats
/// one at a time, which makes the same text).
fn json(status: u16, body: &impl Serialize) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_string(body) {
        Ok(text) => (status, [(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
