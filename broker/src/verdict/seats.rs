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
//! - machines: the license decision with the machines holding its seats.
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

/// What the app asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    Validate,
    Activate { machine_name: Option<String> },
    Deactivate { machine_id: Option<String> },
    Machines,
}

/// A signed answer, or the one refusal that is not a verdict.
#[derive(Debug)]
pub(crate) enum Signed {
    /// The signed envelope's JSON, the body of the answer, and the verdict it carries.
    Verdict(Vec<u8>, VerdictCode),
    /// The license already freed its budget of other machines' seats in the window.
    ReleaseBudgetSpent { budget: u32, window_secs: u64 },
    /// `machine_id` names no machine holding a seat of this license.
    NoSuchMachine,
}

impl Verdicts {
    /// Answers `operation` for the license `id` (whose key's MAC verified).
    /// `product` is the app's own product code, when it names one.
    pub(crate) async fn answer(
        &self,
        operation: &Operation,
        id: &CustomerId,
        product: Option<&str>,
        echo: Echo,
    ) -> Answered<Signed> {
        let looked = self.lookup(id).await;
        let mut upstream_status = looked.upstream_status;
        let result = match looked.result {
            Err(err) => Err(err),
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
        let sign = |code, machines, echo| {
            Signed::Verdict(self.sign(id, code, &facts, machines, iat, echo), code)
        };
        // A verdict for a seated machine never reaches past its seat's own lease: a
        // listing (which renews nothing) must not outlive the seat it shows.
        let sign_within = |code, machines, seat_lease_until: Option<i64>, echo| {
            let facts = Facts {
                seat_lease_until,
                ..facts
            };
            Signed::Verdict(self.sign(id, code, &facts, machines, iat, echo), code)
        };
        // The seats package found no license row, though the cached lookup had one:
        // the verdict is the one a lookup without a row gets.
        let no_row = Lookup::NoRow;
        let gone = |echo| self.without_seats(operation, id, product, &no_row, iat, echo);
        let own = echo
            .fingerprint
            .as_deref()
            .map(|fingerprint| self.keys.machine_hash(id, fingerprint));
        let own = own.as_deref();
        let lease_seconds = self.seats.lease.as_secs();
        // What licenses a machine needs a seat: a VALID license, and an expired one
        // whose builds from before its expiry stay licensed (the verdict is a lease).
        let licenses = code == VerdictCode::Valid
            || (code == VerdictCode::Expired
                && facts.expiry_strategy == ExpiryStrategy::MaintainAccess);
        let call = match (operation, licenses, own) {
            (Operation::Validate, true, Some(own)) => SeatCall::Renew {
                machine_hash: own,
                lease_seconds,
            },
            (Operation::Activate { machine_name }, true, Some(own)) => SeatCall::Activate {
                machine_hash: own,
                machine_name: machine_name.as_deref(),
                lease_seconds,
            },
            // A key for another product frees nothing; it gets its WRONG_PRODUCT below.
            (Operation::Deactivate { machine_id }, _, Some(own))
                if code != VerdictCode::WrongProduct =>
            {
                let target = match machine_id {
                    None => own.to_owned(),
                    Some(short) => {
                        let listed = Box::pin(self.ords.seats(id)).await;
                        let status = listed.upstream_status;
                        // The whole short id a list shows, matching one seat: a shorter
                        // prefix could free a seat nobody meant.
                        if let Ok(answer) = &listed.result {
                            if answer.outcome == Outcome::NoLicense {
                                return Answered {
                                    result: Ok(gone(echo)),
                                    upstream_status: status,
                                };
                            }
                        }
                        let found = listed.result.map(|answer| {
                            let mut matching = answer.machines.into_iter().filter(|seat| {
                                short.len() == SHORT_ID_HEX
                                    && seat.machine_hash.get(..SHORT_ID_HEX) == Some(short.as_str())
                            });
                            match (matching.next(), matching.next()) {
                                (Some(seat), None) => Some(seat.machine_hash),
                                _ => None,
                            }
                        });
                        match found {
                            Ok(Some(hash)) => hash,
                            Ok(None) => {
                                return Answered {
                                    result: Ok(Signed::NoSuchMachine),
                                    upstream_status: status,
                                }
                            }
                            Err(err) => {
                                return Answered {
                                    result: Err(err),
                                    upstream_status: status,
                                }
                            }
                        }
                    }
                };
                let call = SeatCall::Release {
                    machine_hash: &target,
                    by_machine_hash: own,
                    release_budget: self.seats.release_budget,
                    release_window_seconds: self.seats.release_window.as_secs(),
                };
                let answered = Box::pin(self.ords.seat(id, &call)).await;
                let budget = self.seats.release_budget;
                let window_secs = self.seats.release_window.as_secs();
                return answered.map(|answer| match answer.outcome {
                    Outcome::NoLicense => gone(echo),
                    Outcome::ReleaseLimit => Signed::ReleaseBudgetSpent {
                        budget,
                        window_secs,
                    },
                    _ => sign(
                        VerdictCode::Deactivated,
                        Some(machines(&answer, Some(own), false)),
                        echo,
                    ),
                });
            }
            // A deny of the license itself, a listing, or a machine without a
            // fingerprint (which can hold no seat): the license decision, with the
            // seats as they are.
            _ => {
                let listed = Box::pin(self.ords.seats(id)).await;
                let list = matches!(operation, Operation::Machines);
                return listed.map(|answer| {
                    if answer.outcome == Outcome::NoLicense {
                        return gone(echo);
                    }
                    let seated = own.is_some_and(|own| {
                        answer.machines.iter().any(|seat| seat.machine_hash == own)
                    });
                    let code = match operation {
                        Operation::Deactivate { .. } if code == VerdictCode::WrongProduct => code,
                        Operation::Deactivate { .. } => VerdictCode::Deactivated,
                        // A verdict that licenses is a lease: only a machine holding a
                        // seat gets one, whichever endpoint it asked (a listing too).
                        Operation::Machines if licenses && seated => code,
                        _ if licenses => VerdictCode::NotActivated,
                        _ => code,
                    };
                    let lease = seat_lease(&answer, own);
                    sign_within(code, Some(machines(&answer, own, list)), lease, echo)
                });
            }
        };
        let answered = Box::pin(self.ords.seat(id, &call)).await;
        answered.map(|answer| {
            let (code, list) = match answer.outcome {
                Outcome::NoLicense => return gone(echo),
                Outcome::Activated | Outcome::Renewed => (code, false),
                Outcome::MachineLimit => (VerdictCode::MachineLimit, true),
                _ => (VerdictCode::NotActivated, false),
            };
            let mut seats = machines(&answer, own, list);
            seats.max = seats.max.or(Some(max));
            let lease = seat_lease(&answer, own);
            sign_within(code, Some(seats), lease, echo)
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
                Operation::Deactivate { .. },
                code @ (VerdictCode::NotFound | VerdictCode::WrongProduct),
            ) => code,
            (Operation::Deactivate { .. }, _) => VerdictCode::Deactivated,
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
