//! Request counters, so tests can assert how often a client called ORDS (a broker
//! that caches tokens must not ask for one per validation).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of the counters; `GET /__emulator/stats` returns it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every request to any alias's `oauth/token`, whatever the method or outcome.
    pub token_requests: u64,
    /// Tokens actually issued.
    pub tokens_issued: u64,
    /// Every other request under a known alias (found or not, allowed or not).
    pub resource_requests: u64,
    /// Requests to the seat templates (`customers/seats/…`), whatever the outcome;
    /// they count as resource requests too.
    pub seat_requests: u64,
    /// Requests answered by closing the connection.
    pub dropped_connections: u64,
    /// Per endpoint: `"POST /ords/page/oauth/token"`,
    /// `"GET /ords/page/customers/validation/:id"`; requests matching no template are
    /// under `"<METHOD> /ords/<alias>/ (no template)"`, unknown aliases under `"unmapped"`.
    pub endpoints: BTreeMap<String, EndpointStats>,
}

/// Counters of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// Requests received.
    pub requests: u64,
    /// Answers by status code (`"200"`, `"401"`), plus `"dropped"`.
    pub responses: BTreeMap<String, u64>,
}

impl Stats {
    pub(crate) fn endpoint(&mut self, key: &str) -> &mut EndpointStats {
        self.endpoints.entry(key.to_owned()).or_default()
    }

    pub(crate) fn record_response(&mut self, key: &str, outcome: &str) {
        *self
            .endpoint(key)
            .responses
            .entry(outcome.to_owned())
            .or_default() += 1;
    }
}
