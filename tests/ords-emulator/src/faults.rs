//! Fault injection: how tests make ORDS slow, failing, unreachable or forgetful.
//!
//! Faults apply to requests under the context root only, never to `/__emulator/`, so
//! a test can always clear what it set. They live in a `watch` channel because a
//! stalled request must wake up when the stall is cleared.

use serde::{Deserialize, Serialize};

use crate::seats::SeatFault;

/// The faults in force. `POST /__emulator/faults` replaces them with the posted
/// object (every member optional); `DELETE /__emulator/faults` clears them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay every answer (token and resource) by this many milliseconds.
    pub latency_ms: Option<u64>,
    /// Answer every resource request with this status (ORDS problem body).
    pub resource_status: Option<u16>,
    /// Answer every token request with this status (ORDS problem body); `503` is
    /// "token endpoint down".
    pub token_status: Option<u16>,
    /// Close the connection of every token and resource request without answering.
    pub drop_connections: bool,
    /// Close the connection of token requests only (token endpoint unreachable).
    pub drop_token_connections: bool,
    /// Close the connection of resource requests only.
    pub drop_resource_connections: bool,
    /// Never answer token or resource requests, until the stall is cleared.
    pub stall: bool,
    /// Invalidate every token issued so far, once, when posted. Not kept.
    pub revoke_tokens: bool,
    /// Answer the seat handlers (`customers/seats/…`) with this status once the
    /// request passed the privilege check, as their PL/SQL would: `555` is ORDS's
    /// "User Defined Resource Error" with `seats_cause` as the database error.
    pub seats_status: Option<u16>,
    /// The ORA- text of a `seats_status` 555; `ORA-06502: PL/SQL: numeric or value
    /// error` when left out.
    pub seats_cause: Option<String>,
    /// Answer the seat writes (activate, renew, release) with 409 `{"outcome":"BUSY"}`,
    /// as when the license row stays locked past `FOR UPDATE WAIT 2` (ORA-30006).
    /// The list takes no lock and is not affected.
    pub seats_busy: bool,
    /// A gateway in front of ORDS (an OCI load balancer, API Gateway, nginx) answers
    /// every token and resource request with this status and its own `text/html`
    /// page, no ORDS problem JSON: nginx's default page, e.g. `502 Bad Gateway`.
    pub gateway_status: Option<u16>,
    /// The same, for token requests only (wins over `gateway_status` there).
    pub token_gateway_status: Option<u16>,
    /// The same, for resource requests only (wins over `gateway_status` there).
    pub resource_gateway_status: Option<u16>,
    /// `Retry-After: N` (seconds) on every faulted 429 or 503 answer: gateway pages
    /// and `token_status` / `resource_status` answers alike. Other statuses do not get it.
    pub retry_after_secs: Option<u64>,
    /// Send token and resource answers (errors too) with `Transfer-Encoding:
    /// chunked` and no `Content-Length`, as the ORDS 22.1 transcript shows for the
    /// token endpoint.
    pub chunked: bool,
    /// Apply the faults above to this many requests, then clear them all. Unset:
    /// until cleared.
    pub times: Option<u64>,
}

impl Faults {
    /// Whether anything would happen to a request.
    pub(crate) fn is_active(&self) -> bool {
        self.latency_ms.is_some()
            || self.resource_status.is_some()
            || self.token_status.is_some()
            || self.drop_connections
            || self.drop_token_connections
            || self.drop_resource_connections
            || self.stall
            || self.seats_status.is_some()
            || self.seats_busy
            || self.gateway_status.is_some()
            || self.token_gateway_status.is_some()
            || self.resource_gateway_status.is_some()
            || self.chunked
    }

    /// Checks statuses; names the member.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, status) in [
            ("resource_status", self.resource_status),
            ("token_status", self.token_status),
            ("seats_status", self.seats_status),
        ] {
            if let Some(s) = status {
                if !(100..=999).contains(&s) {
                    return Err(format!("{name}: {s} is not an HTTP status"));
                }
            }
        }
        for (name, status) in [
            ("gateway_status", self.gateway_status),
            ("token_gateway_status", self.token_gateway_status),
            ("resource_gateway_status", self.resource_gateway_status),
        ] {
            if let Some(s) = status {
                if !(400..=599).contains(&s) {
                    return Err(format!("{name}: {s} is not a 4xx or 5xx status"));
                }
            }
        }
        if self.times == Some(0) {
            return Err("times: must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// What to do with one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub latency_ms: Option<u64>,
    pub stall: bool,
    pub drop: bool,
    pub status: Option<u16>,
    /// A gateway's HTML answer instead of ORDS's.
    pub gateway_status: Option<u16>,
    pub retry_after_secs: Option<u64>,
    pub chunked: bool,
    pub seats: SeatFault,
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Token,
    Resource,
}

/// Decides what the faults do to one request of `kind`, consuming one of `times`.
/// Returns the verdict and whether the faults are used up.
pub(crate) fn decide(faults: &mut Faults, kind: Kind) -> Verdict {
    if !faults.is_active() {
        return Verdict::default();
    }
    let verdict = Verdict {
        latency_ms: faults.latency_ms,
        stall: faults.stall,
        drop: faults.drop_connections
            || match kind {
                Kind::Token => faults.drop_token_connections,
                Kind::Resource => faults.drop_resource_connections,
            },
        status: match kind {
            Kind::Token => faults.token_status,
            Kind::Resource => faults.resource_status,
        },
        gateway_status: match kind {
            Kind::Token => faults.token_gateway_status,
            Kind::Resource => faults.resource_gateway_status,
        }
        .or(faults.gateway_status),
        retry_after_secs: faults.retry_after_secs,
        chunked: faults.chunked,
        seats: match kind {
            Kind::Token => SeatFault::default(),
            Kind::Resource => SeatFault {
                status: faults.seats_status,
                cause: faults.seats_cause.clone(),
                busy: faults.seats_busy,
            },
        },
    };
    if let Some(n) = faults.times {
        if n <= 1 {
            *faults = Faults::default();
        } else {
            faults.times = Some(n - 1);
        }
    }
    verdict
}
