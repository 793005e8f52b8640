//! From a license key to a signed verdict: the key's MAC, the lookup cache, the
//! decision, the offline policy, and signing.
//!
//! - [`license_keys`]: minting license keys and checking their MAC in constant time.
//! - [`lookup_cache`]: per-license ORDS lookups with single flight and short lifetimes.
//! - [`sign`]: the Ed25519 verdict-signing key and its kid.
//! - [`seats`]: the four operations and how seats change each.
//! - [`config`]: the policy, cache and seat settings, and loading the key material.
//! - this file: [`decide`] (lookup to code), the offline policy, and [`Verdicts`],
//!   which ties them together for a request.
//!
//! Policy, all in signed unix seconds:
//! - a `VALID` verdict may be used offline until `iat + grace`, where grace is at most
//!   30 days and never reaches past the license's own `expires_at`; the client should
//!   ask again after `iat + recheck`, but never later than `offline_until`;
//! - every deny has `recheck_after = offline_until = iat`: it is never an offline
//!   lease, and a client may ask again at once (a customer who just paid is not kept
//!   locked out by a cached deny).

use std::sync::Arc;

use license_shared::{
    BoundVerdict, CustomerId, ExpiryStrategy, LicenseInfo, Machines, Policy, VerdictCode,
    VerdictPayload, VerdictRequest, VerdictResult, VERDICT_TYP,
};

use crate::ords::{Answered, LicenseStatus, Lookup, OrdsClient};

mod config;
mod license_keys;
mod lookup_cache;
mod seats;
mod sign;
mod trials;

pub use config::load_license_keys;
pub(crate) use config::{load_signer, CacheConfig, PolicyConfig, SeatConfig, MAX_OFFLINE_GRACE};
#[cfg(test)]
pub(crate) use config::{MAX_RELEASE_BUDGET, MAX_SEAT_SECS, MIN_SEAT_LEASE_SECS};
pub use license_keys::LicenseKeys;
pub(crate) use lookup_cache::LookupCache;
pub(crate) use seats::{Operation, Signed};
pub use sign::Signer;

/// "Now" in unix seconds. A value, so tests can sign at a chosen time.
pub(crate) type UnixClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock.
pub(crate) fn system_clock() -> UnixClock {
    Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp())
}

/// The decision for a lookup at time `now`, for an app of `product` (`None`: the app
/// names none). A license for another product is `WRONG_PRODUCT` before anything
/// else; a license for no product in particular licenses any.
pub(crate) fn decide(lookup: &Lookup, now: i64, product: Option<&str>) -> VerdictCode {
    match lookup {
        Lookup::NoRow => VerdictCode::NotFound,
        Lookup::Row(row) => match (row.product.as_deref(), product) {
            (Some(licensed), Some(asked)) if licensed != asked => VerdictCode::WrongProduct,
            _ => match row.status {
                LicenseStatus::Revoked => VerdictCode::Revoked,
                LicenseStatus::Suspended => VerdictCode::Suspended,
                LicenseStatus::Active if row.expires_at.is_some_and(|at| at <= now) => {
                    VerdictCode::Expired
                }
                LicenseStatus::Active => VerdictCode::Valid,
            },
        },
    }
}

/// What a verdict says about the license besides its code, borrowed from the looked-up
/// row: the payload copies what it signs once, and nothing else does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Facts<'a> {
    /// When the asking machine's seat lapses (seat-limited licenses): a cap on the
    /// offline lease.
    pub seat_lease_until: Option<i64>,
    pub expires_at: Option<i64>,
    pub product: Option<&'a str>,
    pub entitlements: &'a [String],
    pub expiry_strategy: ExpiryStrategy,
}

impl<'a> Facts<'a> {
    /// A row's facts; none for no row (a forger learns nothing either).
    pub(crate) fn of(lookup: &'a Lookup) -> Self {
        match lookup {
            Lookup::NoRow => Self::default(),
            Lookup::Row(row) => Self {
                seat_lease_until: None,
                expires_at: row.expires_at,
                product: row.product.as_deref(),
                entitlements: &row.entitlements,
                expiry_strategy: row.expiry_strategy,
            },
        }
    }
}

/// The signed limits for a verdict issued at `iat`. An `EXPIRED` license with the
/// `MAINTAIN_ACCESS` strategy still licenses the builds released before its expiry
/// (the app decides by its own build time), so that verdict is a lease like a
/// `VALID` one, without the cap at an expiry that has already passed.
pub(crate) fn policy(
    code: VerdictCode,
    iat: i64,
    expires_at: Option<i64>,
    expiry_strategy: ExpiryStrategy,
    config: &PolicyConfig,
) -> Policy {
    let grace = config.offline_grace.min(MAX_OFFLINE_GRACE);
    lease_policy(code, iat, expires_at, expiry_strategy, grace, config)
}

/// [`policy`] with the offline lease `grace` chosen by the caller: the offline grace,
/// or an offline activation's own term.
fn lease_policy(
    code: VerdictCode,
    iat: i64,
    expires_at: Option<i64>,
    expiry_strategy: ExpiryStrategy,
    grace: std::time::Duration,
    config: &PolicyConfig,
) -> Policy {
    let fallback =
        code == VerdictCode::Expired && expiry_strategy == ExpiryStrategy::MaintainAccess;
    let expires_at = if fallback { None } else { expires_at };
    if !code.licenses() && !fallback {
        return Policy {
            recheck_after: iat,
            offline_until: iat,
        };
    }
    let grace = grace.as_secs().min(i64::MAX as u64) as i64;
    let mut offline_until = iat.saturating_add(grace);
    if let Some(expiry) = expires_at {
        offline_until = offline_until.min(expiry);
    }
    let offline_until = offline_until.max(iat);
    let recheck = config.recheck_after.as_secs().min(i64::MAX as u64) as i64;
    let recheck_after = iat.saturating_add(recheck).clamp(iat, offline_until);
    Policy {
        recheck_after,
        offline_until,
    }
}

/// `policy` capped at a seat's lapse, never before `iat`.
fn within_seat(policy: Policy, iat: i64, seat_lease_until: Option<i64>) -> Policy {
    let Some(until) = seat_lease_until else {
        return policy;
    };
    let offline_until = policy.offline_until.min(until.max(iat));
    Policy {
        recheck_after: policy.recheck_after.min(offline_until),
        offline_until,
    }
}

/// The verdict service the HTTP layer calls.
pub(crate) struct Verdicts {
    ords: OrdsClient,
    cache: Arc<LookupCache>,
    keys: LicenseKeys,
    signer: Signer,
    policy: PolicyConfig,
    seats: SeatConfig,
    clock: UnixClock,
}

/// What the request asked to have echoed, and the request itself as the verdict
/// names it (its operation, a digest of its key, its product), so that a verdict
/// answers this request and no rewritten one.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    pub nonce: String,
    pub fingerprint: Option<String>,
    pub request: VerdictRequest,
}

impl Verdicts {
    pub(crate) fn new(
        ords: OrdsClient,
        cache: Arc<LookupCache>,
        keys: LicenseKeys,
        signer: Signer,
        policy: PolicyConfig,
        seats: SeatConfig,
        clock: UnixClock,
    ) -> Self {
        Self {
            ords,
            cache,
            keys,
            signer,
            policy,
            seats,
            clock,
        }
    }

    /// The license row for `id` (cached, single flight).
    async fn lookup(&self, id: &CustomerId) -> Answered<Lookup> {
        // The client and the id are cloned for the fetch task only on a miss: a hit,
        // the warm path, copies neither.
        let fetch = || {
            let ords = self.ords.clone();
            let key = id.clone();
            async move { ords.lookup(&key).await }
        };
        self.cache.get_or_fetch(id, fetch).await
    }

    /// The answer for a key whose MAC does not verify: exactly what an unknown
    /// customer gets, so a forger learns nothing, and no ORDS call.
    pub(crate) fn not_found(&self, id: &CustomerId, echo: Echo) -> Vec<u8> {
        let facts = Facts::default();
        self.sign(
            id,
            VerdictCode::NotFound,
            &facts,
            None,
            (self.clock)(),
            echo,
        )
    }

    fn sign(
        &self,
        id: &CustomerId,
        code: VerdictCode,
        facts: &Facts<'_>,
        machines: Option<Machines>,
        iat: i64,
        echo: Echo,
    ) -> Vec<u8> {
        self.sign_for(id.as_str(), code, facts, machines, iat, echo)
    }

    /// Signs a verdict about `license_id` (a customer id, or `trial` for a trial).
    fn sign_for(
        &self,
        license_id: &str,
        code: VerdictCode,
        facts: &Facts<'_>,
        machines: Option<Machines>,
        iat: i64,
        echo: Echo,
    ) -> Vec<u8> {
        // A verdict that names a device key answers an offline request: its lease is
        // the offline activation's term, since the machine cannot come back sooner.
        let (expires_at, strategy) = (facts.expires_at, facts.expiry_strategy);
        let policy = match echo.request.device_key {
            Some(_) => {
                let term = self.policy.offline_activation;
                lease_policy(code, iat, expires_at, strategy, term, &self.policy)
            }
            None => policy(code, iat, expires_at, strategy, &self.policy),
        };
        let payload = VerdictPayload {
            typ: VERDICT_TYP.to_owned(),
            iat,
            nonce: echo.nonce,
            fingerprint: echo.fingerprint,
            result: VerdictResult {
                valid: code.licenses(),
                code,
            },
            license: LicenseInfo {
                id: license_id.to_owned(),
                expires_at: facts.expires_at,
                machines,
                product: facts.product.map(str::to_owned),
                entitlements: facts.entitlements.to_vec(),
                expiry_strategy: facts.expiry_strategy,
            },
            policy: within_seat(policy, iat, facts.seat_lease_until),
        };
        self.signer.sign_json(&BoundVerdict {
            verdict: &payload,
            request: &echo.request,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn payload() -> VerdictPayload {
        VerdictPayload {
            typ: VERDICT_TYP.into(),
            iat: 1_700_000_000,
            nonce: "bm9uY2Vub25jZW5vbmNlMQ".into(),
            fingerprint: Some("fp".into()),
            result: VerdictResult {
                valid: true,
                code: VerdictCode::Valid,
            },
            license: LicenseInfo {
                id: "1".into(),
                expires_at: None,
                machines: None,
                product: None,
                entitlements: Vec::new(),
                expiry_strategy: license_shared::ExpiryStrategy::RevokeAccess,
            },
            policy: Policy {
                recheck_after: 1_700_086_400,
                offline_until: 1_700_604_800,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ords::LicenseRow;
    use std::time::Duration;

    const NOW: i64 = 1_700_000_000;
    const DAY: i64 = 86_400;

    fn row(status: LicenseStatus, expires_at: Option<i64>) -> Lookup {
        Lookup::Row(LicenseRow {
            status,
            expires_at,
            max_machines: None,
            product: Some("desktop-pro".into()),
            entitlements: Vec::new(),
            expiry_strategy: ExpiryStrategy::RevokeAccess,
            key_serial: 0,
        })
    }

    #[test]
    fn decisions() {
        use LicenseStatus::*;
        assert_eq!(decide(&Lookup::NoRow, NOW, None), VerdictCode::NotFound);
        assert_eq!(decide(&row(Active, None), NOW, None), VerdictCode::Valid);
        assert_eq!(
            decide(&row(Active, Some(NOW + 1)), NOW, None),
            VerdictCode::Valid
        );
        assert_eq!(
            decide(&row(Active, Some(NOW)), NOW, None),
            VerdictCode::Expired
        );
        assert_eq!(
            decide(&row(Suspended, Some(NOW - 1)), NOW, None),
            VerdictCode::Suspended
        );
        assert_eq!(decide(&row(Revoked, None), NOW, None), VerdictCode::Revoked);
        // Products: the app's own, another one, or none named.
        let pro = row(Active, None);
        assert_eq!(decide(&pro, NOW, Some("desktop-pro")), VerdictCode::Valid);
        assert_eq!(
            decide(&pro, NOW, Some("desktop-lite")),
            VerdictCode::WrongProduct
        );
        assert_eq!(
            decide(&row(Revoked, None), NOW, Some("other")),
            VerdictCode::WrongProduct
        );
        let Lookup::Row(mut any) = row(Active, None) else {
            unreachable!()
        };
        any.product = None;
        assert_eq!(
            decide(&Lookup::Row(any), NOW, Some("desktop-lite")),
            VerdictCode::Valid
        );
    }

    #[test]
    fn offline_grace_is_capped_by_30_days_and_by_expiry() {
        let config = PolicyConfig::default();
        let p = policy(
            VerdictCode::Valid,
            NOW,
            None,
            ExpiryStrategy::RevokeAccess,
            &config,
        );
        assert_eq!(p.offline_until, NOW + 7 * DAY);
        assert_eq!(p.recheck_after, NOW + DAY);
        let p = policy(
            VerdictCode::Valid,
            NOW,
            Some(NOW + 3600),
            ExpiryStrategy::RevokeAccess,
            &config,
        );
        assert_eq!((p.recheck_after, p.offline_until), (NOW + 3600, NOW + 3600));
        let long = PolicyConfig {
            offline_grace: Duration::from_secs(365 * DAY as u64),
            ..config
        };
        assert_eq!(
            policy(
                VerdictCode::Valid,
                NOW,
                None,
                ExpiryStrategy::RevokeAccess,
                &long
            )
            .offline_until,
            NOW + 30 * DAY
        );
        for code in [
            VerdictCode::Expired,
            VerdictCode::NotFound,
            VerdictCode::Revoked,
        ] {
            let p = policy(
                code,
                NOW,
                Some(NOW + DAY),
                ExpiryStrategy::RevokeAccess,
                &config,
            );
            assert_eq!((p.recheck_after, p.offline_until), (NOW, NOW));
        }
        // A perpetual-fallback license past its expiry is still a lease for old builds.
        let p = policy(
            VerdictCode::Expired,
            NOW,
            Some(NOW - DAY),
            ExpiryStrategy::MaintainAccess,
            &config,
        );
        assert_eq!(
            (p.recheck_after, p.offline_until),
            (NOW + DAY, NOW + 7 * DAY)
        );
        let p = policy(
            VerdictCode::Revoked,
            NOW,
            None,
            ExpiryStrategy::MaintainAccess,
            &config,
        );
        assert_eq!(
            p.offline_until, NOW,
            "only expiry falls back, never a revocation"
        );
    }
}
