//! This app, as the decision and the verification both see it: what it says about
//! itself (its product, its build time) and whether a verified payload licenses it.

use license_shared::{ExpiryStrategy, VerdictCode, VerdictPayload};

/// What the app itself says about itself that the decision needs: its product (the
/// verifier's business, see `verify`) and its build time, compiled into it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ThisApp {
    /// The app's product code, when it names one.
    pub(crate) product: Option<String>,
    /// When this build was made, unix seconds, when the app says.
    pub(crate) build_time: Option<i64>,
}

/// True when the verified `payload` licenses this build: a `VALID` verdict, or an
/// `EXPIRED` one of a `MAINTAIN_ACCESS` license for a build released before the
/// signed expiry. Every rule that treats allows and denies differently (the lease,
/// the monotonic `iat`, the clock skew) asks this, so a fallback lease is guarded
/// exactly like a valid one.
pub(crate) fn grants(payload: &VerdictPayload, app: &ThisApp) -> bool {
    payload.result.valid || fallback_applies(payload, app)
}

/// The perpetual fallback holds for this build.
pub(crate) fn fallback_applies(payload: &VerdictPayload, app: &ThisApp) -> bool {
    payload.result.code == VerdictCode::Expired
        && payload.license.expiry_strategy == ExpiryStrategy::MaintainAccess
        && matches!(
            (app.build_time, payload.license.expires_at),
            (Some(built), Some(expiry)) if built < expiry
        )
}
