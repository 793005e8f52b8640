//! The four things an app can ask about a license, and how seats change each.
//!
//! A license whose row has no machine limit is unlimited: validate and activate are
//! the plain license decision, deactivate has nothing to free, and no seat call is
//! made. For a seat-limited license the database decides (see `ords::seats`):
//! - validate: the license decision; when it is `VALID`, this machine's seat is
//!   renewed, and a machine without one gets `NOT_ACTIVATED`;
//! - activate: the license decision; when it is `VALID`, a seat is claimed (or the
//!   held one renewed), or `MACHINE_LIMIT` with the machines holding the seats;
//! - deactivate: this machine's seat (or the one named by `machine_id`) is freed;
//!   `DEACTIVATED` whether or not it was held;
//! - machines: the license decision with the machines holding its seats;
//! - checkout (a `FLOATING` license): the license decision; when it is `VALID`, a seat
//!   for a machine running now, a short lease (or a borrow) renewed by checking out
//!   again, or `SEATS_IN_USE` with the machines holding the seats and since when;
//! - checkin: this machine's floating seat is freed; `DEACTIVATED`.
//!
//! The database knows each license's model: a floating license answers activate with
//! `FLOATING` (signed `CHECKOUT_REQUIRED`) and renews its seat for a validation with
//! the floating lease, a node-locked one answers checkout and checkin with
//! `NOT_FLOATING`. A floating verdict's offline window is
//! capped by its seat's lease like every seated verdict, so it never outlives the
//! lease unless the seat was borrowed.
//!
//! Seat answers are never cached: only the license row is (per license, as before), so
//! a cached answer can never turn a seat refusal into an allow, and a seat freed on one
//! replica is gone for every replica at once.

use license_shared::{CustomerId, ExpiryStrategy, MachineEntry, Machines, VerdictCode};

use super::{decide, Echo, Facts, Verdicts};
use crate::ords::{Answered, Lookup, Outcome, SeatAnswer, SeatCall};

/// How many hex digits of the machine hash a seat's short id shows: 48 bits, unique
/// among the few seats of one license, and short enough to type.
const SHORT_ID_HEX: usize = 12;

const SECS_PER_DAY: u64 = 86_400;

/// What the app asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    Validate,
    /// `activation_ref`: an offline activation's name (the seat is held for the
    /// offline activation term and keeps the name).
    Activate {
        machine_name: Option<String>,
        activation_ref: Option<String>,
    },
    /// `activation_ref`: an offline deactivation, which frees this machine's seat only
    /// while it still belongs to that activation.
    Deactivate {
        machine_id: Option<String>,
        activation_ref: Option<String>,
    },
    Machines,
    Checkout {
        machine_name: Option<String>,
        borrow_days: u32,
    },
    Checkin,
}

/// A signed answer, or the one refusal that is not a verdict.
#[derive(Debug)]
pub(crate) enum Signed {
    /// The signed envelope's JSON, the body of the answer, and the verdict it carries.
    Verdict(Vec<u8>, VerdictCode),
    /// The same, for an offline activation asked again (its request code submitted
    /// before): the seat was already this activation's.
    Repeated(Vec<u8>, VerdictCode),
    /// The license already freed its budget of other machines' seats in the window.
    ReleaseBudgetSpent { budget: u32, window_secs: u64 },
    /// `machine_id` names no machine holding a seat of this license.
    NoSuchMachine,
}

impl Verdicts {
    /// Answers `operation` for the license `id` (whose key, issued for `serial`,
    /// has a MAC that verified). `product` is the app's own product code, when it
    /// names one.
    ///
    /// A key whose serial is not the row's `key_serial` (a key replaced because it
    /// leaked) is answered `REVOKED`, whatever the operation, before any seat call: it
    /// licenses nothing and never takes, renews or frees a seat. The verdict tells its
    /// holder nothing about the license (as for an unknown customer).
    pub(crate) async fn answer(
        &self,
        operation: &Operation,
        id: &CustomerId,
        serial: u32,
        product: Option<&str>,
        echo: Echo,
    ) -> Answered<Signed> {
        let looked = self.lookup(id).await;
        let mut upstream_status = looked.upstream_status;
        let result = match looked.result {
            Err(err) => Err(err),
            Ok(Lookup::Row(row)) if row.key_serial != serial => {
                let iat = (self.clock)();
                let code = VerdictCode::Revoked;
                Ok(Signed::Verdict(
                    self.sign(id, code, &Facts::default(), None, iat, echo),
                    code,
                ))
            }
            Ok(lookup) => {
                let seat_answer = self.with_seats(operation, id, product, &lookup, echo).await;
                upstream_status = seat_answer.upstream_status.or(upstream_status);
                seat_answer.result
            }
        };
        Answered {
            result,
            upstream_status,
        }
    }

    /// The seat calls to ORDS are boxed: inline, their state would make every
    /// request's future several kilobytes, moved a few times per request even when no
    /// seat is involved (an unlimited license, the common case, makes no seat call).
    async fn with_seats(
        &self,
        operation: &Operation,
        id: &CustomerId,
        product: Option<&str>,
        lookup: &Lookup,
        echo: Echo,
    ) -> Answered<Signed> {
        let iat = (self.clock)();
        let max = match lookup {
            Lookup::Row(row) => row.max_machines,
            Lookup::NoRow => None,
        };
        let Some(max) = max else {
            return Answered::unobserved(Ok(
                self.without_seats(operation, id, product, lookup, iat, echo)
            ));
        };
        let code = decide(lookup, iat, product);
        let facts = Facts::of(lookup);
        let own = echo
            .fingerprint
            .as_deref()
            .map(|fingerprint| self.keys.machine_hash(id, fingerprint));
        let request = SeatRequest {
            verdicts: self,
            operation,
            id,
            product,
            iat,
            code,
            // What licenses a machine needs a seat: a VALID license, and an expired one
            // whose builds from before its expiry stay licensed (the verdict is a lease).
            licenses: code == VerdictCode::Valid
                || (code == VerdictCode::Expired
                    && facts.expiry_strategy == ExpiryStrategy::MaintainAccess),
            facts,
            own: own.as_deref(),
            max,
        };
        let lease_seconds = self.seats.lease.as_secs();
        match (operation, request.licenses, request.own) {
            (Operation::Validate, true, Some(own)) => {
                let call = SeatCall::Renew {
                    machine_hash: own,
                    lease_seconds,
                    floating_lease_seconds: self.seats.floating_lease.as_secs(),
                };
                request.claim(&call, echo).await
            }
            (
                Operation::Activate {
                    machine_name,
                    activation_ref,
                },
                true,
                Some(own),
            ) => {
                // An offline machine renews nothing: its seat is held at least as long
                // as the lease it was given.
                let lease_seconds = match activation_ref {
                    Some(_) => lease_seconds.max(self.policy.offline_activation.as_secs()),
                    None => lease_seconds,
                };
                let call = SeatCall::Activate {
                    machine_hash: own,
                    machine_name: machine_name.as_deref(),
                    lease_seconds,
                    activation_ref: activation_ref.as_deref(),
                };
                request.claim(&call, echo).await
            }
            (
                Operation::Checkout {
                    machine_name,
                    borrow_days,
                },
                true,
                Some(own),
            ) => {
                let call = SeatCall::Checkout {
                    machine_hash: own,
                    machine_name: machine_name.as_deref(),
                    lease_seconds: self.seats.floating_lease.as_secs(),
                    borrow_seconds: u64::from(*borrow_days) * SECS_PER_DAY,
                };
                request.claim(&call, echo).await
            }
            // A key for another product frees nothing; it gets its WRONG_PRODUCT below.
            (
                Operation::Deactivate {
                    machine_id,
                    activation_ref,
                },
                _,
                Some(own),
            ) if code != VerdictCode::WrongProduct => {
                let target = match machine_id {
                    Some(short) => Release::Other(short),
                    None => Release::Own(activation_ref.as_deref()),
                };
                request.release(target, own, echo).await
            }
            (Operation::Checkin, _, Some(own)) if code != VerdictCode::WrongProduct => {
                request.checkin(own, echo).await
            }
            // A deny of the license itself, a listing, or a machine without a
            // fingerprint (which can hold no seat): the license decision, with the
            // seats as they are.
            _ => request.list(echo).await,
        }
    }
}

/// One request about a seat-limited license: what is known before any seat call.
struct SeatRequest<'a> {
    verdicts: &'a Verdicts,
    operation: &'a Operation,
    id: &'a CustomerId,
    product: Option<&'a str>,
    iat: i64,
    /// The license decision.
    code: VerdictCode,
    /// Whether that decision licenses a machine, which then needs a seat.
    licenses: bool,
    facts: Facts<'a>,
    /// This machine's hash, when the request names its fingerprint.
    own: Option<&'a str>,
    /// The row's machine limit.
    max: u32,
}

/// Which seat a deactivation frees.
enum Release<'a> {
    /// This machine's own; when an offline activation's name is given, only while the
    /// seat still belongs to that activation.
    Own(Option<&'a str>),
    /// The seat with this short id (from a machine list).
    Other(&'a str),
}

/// The seat a `machine_id` names.
enum Target {
    Seat(String),
    /// The seats package found no license row.
    NoLicense,
    /// No seat, or more than one, has that short id.
    NoSuchMachine,
}

impl SeatRequest<'_> {
    fn sign(&self, code: VerdictCode, machines: Option<Machines>, echo: Echo) -> Signed {
        let Self { verdicts, id, .. } = self;
        Signed::Verdict(
            verdicts.sign(id, code, &self.facts, machines, self.iat, echo),
            code,
        )
    }

    /// A verdict for a seated machine never reaches past its seat's own lease: a
    /// listing (which renews nothing) must not outlive the seat it shows.
    fn sign_within(
        &self,
        code: VerdictCode,
        machines: Option<Machines>,
        seat_lease_until: Option<i64>,
        echo: Echo,
    ) -> Signed {
        let facts = Facts {
            seat_lease_until,
            ..self.facts
        };
        let Self { verdicts, id, .. } = self;
        Signed::Verdict(
            verdicts.sign(id, code, &facts, machines, self.iat, echo),
            code,
        )
    }

    /// The seats package found no license row, though the cached lookup had one: the
    /// verdict is the one a lookup without a row gets.
    fn gone(&self, echo: Echo) -> Signed {
        let Self {
            verdicts,
            operation,
            id,
            product,
            iat,
            ..
        } = *self;
        verdicts.without_seats(operation, id, product, &Lookup::NoRow, iat, echo)
    }

    /// Validate (renew) or activate: the seat call, and the verdict it allows.
    async fn claim(&self, call: &SeatCall<'_>, echo: Echo) -> Answered<Signed> {
        let answered = Box::pin(self.verdicts.ords.seat(self.id, call)).await;
        answered.map(|answer| {
            let (code, list) = match answer.outcome {
                Outcome::NoLicense => return self.gone(echo),
                Outcome::Activated | Outcome::Renewed | Outcome::Repeated | Outcome::CheckedOut => {
                    (self.code, false)
                }
                Outcome::MachineLimit => (VerdictCode::MachineLimit, true),
                Outcome::SeatsInUse => (VerdictCode::SeatsInUse, true),
                Outcome::Floating => (VerdictCode::CheckoutRequired, false),
                Outcome::NotFloating => (VerdictCode::NotFloating, false),
                _ => (VerdictCode::NotActivated, false),
            };
            // A checkout lists the holders: the app sees who else runs, and its own
            // seat's `since` tells a renewal from a seat taken anew.
            let list = list || matches!(self.operation, Operation::Checkout { .. });
            let mut seats = machines(&answer, self.own, list);
            seats.max = seats.max.or(Some(self.max));
            let lease = seat_lease(&answer, self.own);
            match (
                self.sign_within(code, Some(seats), lease, echo),
                answer.outcome,
            ) {
                (Signed::Verdict(envelope, code), Outcome::Repeated) => {
                    Signed::Repeated(envelope, code)
                }
                (signed, _) => signed,
            }
        })
    }

    /// Deactivate: frees this machine's seat, or the one `machine_id` names.
    async fn release(&self, which: Release<'_>, own: &str, echo: Echo) -> Answered<Signed> {
        let (target, activation_ref) = match which {
            Release::Own(activation_ref) => (own.to_owned(), activation_ref),
            Release::Other(short) => {
                let found = self.target(short).await;
                let upstream_status = found.upstream_status;
                let answer = |result| Answered {
                    result,
                    upstream_status,
                };
                match found.result {
                    Ok(Target::Seat(hash)) => (hash, None),
                    Ok(Target::NoLicense) => return answer(Ok(self.gone(echo))),
                    Ok(Target::NoSuchMachine) => return answer(Ok(Signed::NoSuchMachine)),
                    Err(err) => return answer(Err(err)),
                }
            }
        };
        let seats = self.verdicts.seats;
        let call = SeatCall::Release {
            machine_hash: &target,
            by_machine_hash: own,
            release_budget: seats.release_budget,
            release_window_seconds: seats.release_window.as_secs(),
            activation_ref,
        };
        let answered = Box::pin(self.verdicts.ords.seat(self.id, &call)).await;
        answered.map(|answer| match answer.outcome {
            Outcome::NoLicense => self.gone(echo),
            Outcome::ReleaseLimit => Signed::ReleaseBudgetSpent {
                budget: seats.release_budget,
                window_secs: seats.release_window.as_secs(),
            },
            _ => self.sign(
                VerdictCode::Deactivated,
                Some(machines(&answer, Some(own), false)),
                echo,
            ),
        })
    }

    /// Checkin: frees this machine's floating seat; a borrowed one returned early spends
    /// the release budget like any release.
    async fn checkin(&self, own: &str, echo: Echo) -> Answered<Signed> {
        let seats = self.verdicts.seats;
        let call = SeatCall::Checkin {
            machine_hash: own,
            lease_seconds: seats.floating_lease.as_secs(),
            release_budget: seats.release_budget,
            release_window_seconds: seats.release_window.as_secs(),
        };
        let answered = Box::pin(self.verdicts.ords.seat(self.id, &call)).await;
        answered.map(|answer| {
            let code = match answer.outcome {
                Outcome::NoLicense => return self.gone(echo),
                Outcome::ReleaseLimit => {
                    return Signed::ReleaseBudgetSpent {
                        budget: seats.release_budget,
                        window_secs: seats.release_window.as_secs(),
                    }
                }
                Outcome::NotFloating => VerdictCode::NotFloating,
                _ => VerdictCode::Deactivated,
            };
            self.sign(code, Some(machines(&answer, Some(own), false)), echo)
        })
    }

    /// The seat whose whole short id (as a list shows it) is `short`, matching one
    /// seat: a shorter prefix could free a seat nobody meant.
    async fn target(&self, short: &str) -> Answered<Target> {
        let listed = Box::pin(self.verdicts.ords.seats(self.id)).await;
        listed.map(|answer| {
            if answer.outcome == Outcome::NoLicense {
                return Target::NoLicense;
            }
            let mut matching = answer.machines.into_iter().filter(|seat| {
                short.len() == SHORT_ID_HEX && seat.machine_hash.get(..SHORT_ID_HEX) == Some(short)
            });
            match (matching.next(), matching.next()) {
                (Some(seat), None) => Target::Seat(seat.machine_hash),
                _ => Target::NoSuchMachine,
            }
        })
    }

    /// The license decision with the seats as they are: a deny of the license itself,
    /// a listing, or a machine without a fingerprint (which can hold no seat).
    async fn list(&self, echo: Echo) -> Answered<Signed> {
        let listed = Box::pin(self.verdicts.ords.seats(self.id)).await;
        let list = matches!(self.operation, Operation::Machines);
        let (code, licenses, own) = (self.code, self.licenses, self.own);
        listed.map(|answer| {
            if answer.outcome == Outcome::NoLicense {
                return self.gone(echo);
            }
            let seated =
                own.is_some_and(|own| answer.machines.iter().any(|seat| seat.machine_hash == own));
            let code = match self.operation {
                Operation::Deactivate { .. } | Operation::Checkin
                    if code == VerdictCode::WrongProduct =>
                {
                    code
                }
                Operation::Deactivate { .. } | Operation::Checkin => VerdictCode::Deactivated,
                // A verdict that licenses is a lease: only a machine holding a
                // seat gets one, whichever endpoint it asked (a listing too).
                Operation::Machines if licenses && seated => code,
                _ if licenses => VerdictCode::NotActivated,
                _ => code,
            };
            let lease = seat_lease(&answer, own);
            self.sign_within(code, Some(machines(&answer, own, list)), lease, echo)
        })
    }
}

impl Verdicts {
    /// The answer when no seat exists to claim or free: an unlimited license, or no
    /// such license.
    fn without_seats(
        &self,
        operation: &Operation,
        id: &CustomerId,
        product: Option<&str>,
        lookup: &Lookup,
        iat: i64,
        echo: Echo,
    ) -> Signed {
        let code = match (operation, decide(lookup, iat, product)) {
            (
                Operation::Deactivate { .. } | Operation::Checkin,
                code @ (VerdictCode::NotFound | VerdictCode::WrongProduct),
            ) => code,
            (Operation::Deactivate { .. } | Operation::Checkin, _) => VerdictCode::Deactivated,
            (_, code) => code,
        };
        let facts = Facts::of(lookup);
        Signed::Verdict(self.sign(id, code, &facts, None, iat, echo), code)
    }
}

/// When this machine's live seat lapses, if it holds one.
fn seat_lease(answer: &SeatAnswer, own: Option<&str>) -> Option<i64> {
    let own = own?;
    answer
        .machines
        .iter()
        .find(|seat| seat.machine_hash == own)
        .map(|seat| seat.lease_until)
}

/// The signed seat counts, with the machines listed when `list` is set.
fn machines(answer: &SeatAnswer, own: Option<&str>, list: bool) -> Machines {
    let list = if list {
        answer
            .machines
            .iter()
            .map(|seat| MachineEntry {
                id: seat.machine_hash.chars().take(SHORT_ID_HEX).collect(),
                name: seat.machine_name.clone(),
                last_seen: seat.last_seen,
                since: Some(seat.activated_at),
                current: own == Some(seat.machine_hash.as_str()),
            })
            .collect()
    } else {
        Vec::new()
    };
    Machines {
        used: answer.used,
        max: answer.max_machines,
        list,
    }
}
