//! The broker's three rate limits, combined: per client address, per license key, and
//! a much tighter per-address budget for `NOT_FOUND` answers.
//!
//! Why a separate `NOT_FOUND` budget: a genuine user almost never gets `NOT_FOUND`
//! (their key was issued for a real customer); a stream of them means someone is
//! probing with made-up or forged keys. Each such answer is still signed, so without a
//! budget a prober gets cheap signing work out of the broker and unlimited guesses.
//! Once an address has spent the budget, its keys whose MAC does not verify are
//! refused with 429 (no signature, no work) until it refills; keys the broker minted
//! still get answers, so one prober behind a shared NAT cannot lock its neighbours out.
//!
//! Default budget: 20 per hour with a burst of 10 ([`NOT_FOUND_QUOTA`]): ten typos in a
//! row are fine, then one more every three minutes. It follows the per-address switch:
//! `LICENSE_BROKER_RATE_PER_IP=0` turns it off too (e.g. when a front proxy limits).
//!
//! Addresses are bucketed: an IPv4-mapped IPv6 address counts as its IPv4 address, and
//! IPv6 addresses are grouped by /64, the smallest block a subscriber usually gets;
//! otherwise one host could rotate through 2^64 addresses and never be limited.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use license_shared::LicenseKey;

use super::rate_limit::{Quota, RateLimiter, RetryAfter, DEFAULT_MAX_KEYS};
use crate::config::vars as var;
use crate::config::{ConfigError, Sources};

/// The default `NOT_FOUND` budget per address: 20 per hour, 10 at once.
pub(crate) const NOT_FOUND_QUOTA: Quota = Quota {
    count: 20,
    period: Duration::from_secs(3600),
    burst: 10,
};

/// Which limit refused a request; the label of `broker_ratelimited_total{key_type}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    Ip,
    Key,
    NotFound,
    /// Seat activations per license key (so a leaked key cannot churn seats).
    Activation,
}

impl LimitKind {
    pub const ALL: [LimitKind; 4] = [
        LimitKind::Ip,
        LimitKind::Key,
        LimitKind::NotFound,
        LimitKind::Activation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Ip => "ip",
            LimitKind::Key => "key",
            LimitKind::NotFound => "not_found",
            LimitKind::Activation => "activation",
        }
    }
}

/// A refused request: which limit, and when to come back (the `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub kind: LimitKind,
    pub retry_after: RetryAfter,
}

/// A license key as the limiter and the logs know it: 16 bytes of its
/// [`LicenseKey::digest`], the SHA-256 of the key's data, which `parse` has already
/// computed for the check symbols, and which is the same for every spelling of the
/// key (the parser accepts countless spellings of one key, and each would otherwise
/// get its own budget). The limiter never holds a license key itself, and every entry
/// has the same small size.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KeyId([u8; 16]);

impl KeyId {
    /// The identity of a text that is no license key, for tests: the same bytes of the
    /// text's SHA-256.
    #[cfg(test)]
    pub(crate) fn of(text: &str) -> Self {
        use sha2::Digest as _;
        Self::of_digest(&sha2::Sha256::digest(text.as_bytes()).into())
    }

    pub(crate) fn of_key(key: &LicenseKey) -> Self {
        Self::of_digest(key.digest())
    }

    /// The identity of this key on one machine: a floating license's one key is shared
    /// by every machine that runs it, and each renews its own seat, so checkouts are
    /// limited per key and machine (a fleet starting at nine must not be turned away by
    /// one key's budget); other requests stay limited per key.
    pub(crate) fn on_machine(&self, fingerprint: &str) -> Self {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        hash.update(b"key-on-machine/v1\0");
        hash.update(self.0);
        hash.update(fingerprint.as_bytes());
        Self::of_digest(&hash.finalize().into())
    }

    /// Bytes 4 to 19. Bytes 0 to 3 hold the check symbols that end the printed key; the
    /// fingerprint (the first four bytes here) is kept apart from them, so a log line
    /// shows no piece of the key's text.
    fn of_digest(digest: &[u8; 32]) -> Self {
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[4..20]);
        Self(id)
    }

    /// The key as logs show it: eight hex digits, the same as
    /// `key_fingerprint` (the tests' reference) of the key, without hashing again.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

/// A short, non-reversible stand-in for a license key in logs: 8 hex digits of the
/// SHA-256 of its data (bytes 4 to 7, see `KeyId`); of any other text, the same bytes
/// of the text's SHA-256 (for tests with a text that is no key).
#[cfg(test)]
pub(crate) fn key_fingerprint(key: &str) -> String {
    use sha2::Digest as _;
    let digest: [u8; 32] = match license_shared::LicenseKey::parse(key) {
        Ok(key) => *key.digest(),
        Err(_) => sha2::Sha256::digest(key.as_bytes()).into(),
    };
    digest[4..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A license key as the logs show it: bytes 4 to 7 of its digest, shown as eight hex
/// digits. A value, so the request line carries it without an allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 4]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Spelled on the stack and written once: four padded `{:02x}` cost more than
        // the rest of the request line's key field.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 8];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 15)];
        }
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyId({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The address a limit is counted against (see the module docs).
pub(crate) fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Rate limits per minute; `0` is off. Enforced by the rate-limiting layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    pub per_ip: u32,
    pub per_key: u32,
}

impl RateConfig {
    pub(crate) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        Ok(Self {
            per_ip: src.parse_or(var::RATE_PER_IP, 60, "a whole number per minute (0 = off)")?,
            per_key: src.parse_or(var::RATE_PER_KEY, 20, "a whole number per minute (0 = off)")?,
        })
    }
}

/// All three limits. Share one behind an `Arc` (or in the app state).
#[derive(Debug)]
pub(crate) struct Limits {
    ip: RateLimiter<IpAddr>,
    key: RateLimiter<KeyId>,
    not_found: RateLimiter<IpAddr>,
    activation: RateLimiter<KeyId>,
}

impl Limits {
    /// Per-minute limits per address and per key (`LICENSE_BROKER_RATE_PER_IP`, `_PER_KEY`); `0` turns one off.
    pub(crate) fn new(per_ip_per_minute: u32, per_key_per_minute: u32) -> Self {
        let not_found = if per_ip_per_minute == 0 {
            Quota::per_hour(0)
        } else {
            NOT_FOUND_QUOTA
        };
        Self::with_quotas(
            Quota::per_minute(per_ip_per_minute),
            Quota::per_minute(per_key_per_minute),
            not_found,
        )
    }

    /// Any three quotas; a quota with `count == 0` is off. Activations are unlimited
    /// until [`Limits::with_activations_per_hour`].
    pub(crate) fn with_quotas(per_ip: Quota, per_key: Quota, not_found: Quota) -> Self {
        Self {
            ip: RateLimiter::with_quota(per_ip, DEFAULT_MAX_KEYS),
            key: RateLimiter::with_quota(per_key, DEFAULT_MAX_KEYS),
            not_found: RateLimiter::with_quota(not_found, DEFAULT_MAX_KEYS),
            activation: RateLimiter::with_quota(Quota::per_hour(0), DEFAULT_MAX_KEYS),
        }
    }

    /// Seat activations per hour per license key; `0` is off.
    pub(crate) fn with_activations_per_hour(mut self, per_hour: u32) -> Self {
        self.activation = RateLimiter::with_quota(Quota::per_hour(per_hour), DEFAULT_MAX_KEYS);
        self
    }

    /// Before an activation: the key's activation budget. Takes one unit.
    pub(crate) fn check_activation(&self, key: &KeyId) -> Result<(), Limited> {
        self.activation.check(key).map_err(|retry_after| Limited {
            kind: LimitKind::Activation,
            retry_after,
        })
    }

    /// Before the body is read: the address's own budget. Takes one unit.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), Limited> {
        self.ip
            .check(&ip_bucket(ip))
            .map_err(|retry_after| Limited {
                kind: LimitKind::Ip,
                retry_after,
            })
    }

    /// Before answering a key whose MAC does not verify: whether the address has spent
    /// its `NOT_FOUND` budget. Only such keys are refused by it: neighbours behind the
    /// same NAT who hold real keys keep working while one of them probes.
    pub(crate) fn check_not_found_budget(&self, ip: IpAddr) -> Result<(), Limited> {
        self.not_found
            .peek(&ip_bucket(ip))
            .map_err(|retry_after| Limited {
                kind: LimitKind::NotFound,
                retry_after,
            })
    }

    /// After the body is read: the license key's budget. Takes one unit.
    pub(crate) fn check_key(&self, key: &KeyId) -> Result<(), Limited> {
        self.key.check(key).map_err(|retry_after| Limited {
            kind: LimitKind::Key,
            retry_after,
        })
    }

    /// [`Limits::check_ip`] then [`Limits::check_key`], as the validate handler does.
    #[cfg(test)]
    fn check_request(&self, ip: IpAddr, key: &KeyId) -> Result<(), Limited> {
        self.check_ip(ip)?;
        self.check_key(key)
    }

    /// After a `NOT_FOUND` answer went to `ip`. Spends one unit of its budget; once the
    /// budget is gone, [`Limits::check_ip`] refuses the address until it refills.
    pub(crate) fn record_not_found(&self, ip: IpAddr) {
        // Refusals are ignored: answers already in flight when the budget ran out
        // must not push the address further into debt than the budget allows.
        let _ = self.not_found.check(&ip_bucket(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_from_one_address_is_refused_while_another_is_served() {
        let limits = Limits::new(20, 0);
        let key = KeyId::of("k");
        let results: Vec<_> = (0..100)
            .map(|_| limits.check_request(ip("192.0.2.1"), &key))
            .collect();
        let refused = results.iter().filter(|r| r.is_err()).count();
        assert_eq!(refused, 80, "20/min with a burst of 20");
        let Err(limited) = results[99] else { panic!() };
        assert_eq!(limited.kind, LimitKind::Ip);
        assert_eq!(limited.retry_after.header_secs(), 3);
        assert!(limits.check_request(ip("192.0.2.2"), &key).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn one_key_is_limited_across_addresses() {
        let limits = Limits::new(0, 5);
        let shared = KeyId::of("leaked-key");
        let ok = (0..50u8)
            .filter(|i| {
                limits
                    .check_request(IpAddr::from([198, 51, 100, *i]), &shared)
                    .is_ok()
            })
            .count();
        assert_eq!(ok, 5);
        let err = limits
            .check_request(ip("203.0.113.9"), &shared)
            .unwrap_err();
        assert_eq!(err.kind, LimitKind::Key);
        assert!(limits
            .check_request(ip("203.0.113.9"), &KeyId::of("other"))
            .is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn spent_not_found_budget_blocks_the_address_then_refills() {
        let limits = Limits::new(1000, 1000);
        let prober = ip("192.0.2.7");
        for i in 0..10 {
            limits
                .check_request(prober, &KeyId::of(&format!("forged-{i}")))
                .unwrap();
            limits.record_not_found(prober);
        }
        let err = limits.check_not_found_budget(prober).unwrap_err();
        assert_eq!(err.kind, LimitKind::NotFound);
        assert_eq!(err.retry_after.0, Duration::from_secs(180), "20/hour");
        assert!(limits.check_not_found_budget(ip("192.0.2.8")).is_ok());
        // The address's own budget is untouched: its real keys still get answers.
        assert!(limits.check_ip(prober).is_ok());
        tokio::time::advance(err.retry_after.0).await;
        assert!(limits.check_not_found_budget(prober).is_ok());
    }

    #[test]
    fn zero_per_ip_also_turns_off_the_not_found_budget() {
        let limits = Limits::new(0, 0);
        for _ in 0..1000 {
            limits.record_not_found(ip("192.0.2.7"));
            assert!(limits.check_not_found_budget(ip("192.0.2.7")).is_ok());
        }
    }

    #[test]
    fn ipv6_addresses_share_their_slash_64_and_mapped_v4_is_v4() {
        assert_eq!(ip_bucket(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            ip_bucket(ip("2001:db8:1:2:ffff:1:2:3")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(ip_bucket(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(ip_bucket(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(ip_bucket(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn key_id_debug_shows_only_a_prefix_of_the_hash() {
        let shown = format!("{:?}", KeyId::of("SECRET-LICENSE-KEY"));
        assert!(!shown.contains("SECRET"));
        assert!(shown.len() < 24, "{shown}");
        assert_eq!(
            KeyId::of("abc").fingerprint().to_string(),
            key_fingerprint("abc")
        );
        assert_eq!(KeyId::of("a"), KeyId::of("a"));
        assert_ne!(KeyId::of("a"), KeyId::of("b"));
    }

    #[test]
    fn of_key_is_one_identity_per_key_whatever_its_spelling() {
        use license_shared::{CustomerId, MAC_LEN};
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"ABCxyz019_-";
        let mut seen = std::collections::HashSet::new();
        for len in 1..=license_shared::license_key::CUSTOMER_ID_MAX_LEN {
            for _ in 0..20 {
                let id: String = (0..len)
                    .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                    .collect();
                let mut mac = [0u8; MAC_LEN];
                mac.iter_mut().for_each(|b| *b = next() as u8);
                let key = LicenseKey::new(CustomerId::parse(&id).unwrap(), mac);
                assert!(seen.insert(KeyId::of_key(&key)), "{id}: two keys, one id");
                assert_eq!(
                    KeyId::of_key(&key).fingerprint().to_string(),
                    key_fingerprint(&key.encode())
                );
                // Any accepted spelling of the key is the same identity.
                let sloppy = key.encode().to_ascii_lowercase().replace('-', " ");
                assert_eq!(
                    KeyId::of_key(&LicenseKey::parse(&sloppy).unwrap()),
                    KeyId::of_key(&key)
                );
            }
        }
    }

    #[test]
    fn kinds_have_the_metric_labels() {
        let labels: Vec<_> = LimitKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels, ["ip", "key", "not_found", "activation"]);
    }
}
