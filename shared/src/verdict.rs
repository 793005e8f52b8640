//! The signed payload: what the broker decided, for whom, and for how long it holds.

use serde::{Deserialize, Serialize};

/// The value of `typ` in every verdict; a signature over any other type is not a verdict.
pub const VERDICT_TYP: &str = "license.validation";

/// The decoded payload of an [`Envelope`](crate::Envelope). Members the client does not
/// know are ignored, so the broker can add some without breaking deployed apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictPayload {
    /// Always [`VERDICT_TYP`].
    pub typ: String,
    /// When the broker signed this, in unix seconds. The only clock the client trusts.
    pub iat: i64,
    /// The request's nonce, echoed so that a recorded verdict cannot be replayed.
    pub nonce: String,
    /// The request's fingerprint, echoed, or null when none was sent.
    pub fingerprint: Option<String>,
    /// The decision.
    pub result: VerdictResult,
    /// The license the decision is about.
    pub license: LicenseInfo,
    /// How long the client may rely on this verdict.
    pub policy: Policy,
}

/// The request a verdict answers, signed beside the decision: which endpoint, which
/// license key and which product. A verdict carries it as its `request` member, so an
/// answer that is genuinely signed but was asked for with another key, another
/// product or at another endpoint (a request rewritten on its way) is not taken as
/// the answer to this one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictRequest {
    /// The endpoint's last path segment: `validate`, `activate`, `deactivate`, `machines`.
    pub op: String,
    /// Base64url of the first 16 bytes of SHA-256 over the license key exactly as
    /// sent: it names the key without being one.
    pub key: String,
    /// The product the request named, or null.
    pub product: Option<String>,
    /// Offline activation and deactivation only: base64url of the public device key
    /// the request carried, so that only the machine holding its private half (kept
    /// with the pending request) can take the answer as its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
}

/// Bytes of the key's SHA-256 that `request.key` carries.
pub const REQUEST_KEY_BYTES: usize = 16;

impl VerdictRequest {
    /// The request of `op` with `license_key` exactly as sent, for `product`.
    pub fn new(op: &str, license_key: &str, product: Option<&str>) -> Self {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(license_key.as_bytes());
        Self {
            op: op.to_owned(),
            key: crate::b64::encode(&digest[..REQUEST_KEY_BYTES]),
            product: product.map(str::to_owned),
            device_key: None,
        }
    }

    /// This request, made offline with the device key `device_key` (base64url).
    pub fn with_device_key(mut self, device_key: String) -> Self {
        self.device_key = Some(device_key);
        self
    }
}

/// Shows the operation and the product; the key's digest is left out of logs too.
impl std::fmt::Debug for VerdictRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictRequest")
            .field("op", &self.op)
            .field("key", &"<digest>")
            .field("product", &self.product)
            .field("device_key", &self.device_key)
            .finish()
    }
}

/// What the broker signs: the verdict and the request it answers, as one JSON object
/// (the verdict's members, then `request`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BoundVerdict<'a> {
    #[serde(flatten)]
    pub verdict: &'a VerdictPayload,
    pub request: &'a VerdictRequest,
}

/// The decision itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictResult {
    /// True exactly when `code` licenses the app: `VALID` or `TRIAL`.
    pub valid: bool,
    /// Why.
    pub code: VerdictCode,
}

/// Every definitive answer the broker gives about a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictCode {
    /// The license exists, is active and has not expired.
    Valid,
    /// The license's expiry date has passed.
    Expired,
    /// The license is suspended (for example, unpaid) and may come back.
    Suspended,
    /// The license was revoked for good.
    Revoked,
    /// No such license, or a key that the broker did not issue.
    NotFound,
    /// Activation refused: every seat of the license is held by other machines.
    MachineLimit,
    /// The license limits machines and this one holds no seat: activate it first.
    NotActivated,
    /// This machine holds no seat of the license (any more).
    Deactivated,
    /// The license is for another product than the app that asked.
    WrongProduct,
    /// Checkout refused: a floating license's seats are all held by machines running now.
    SeatsInUse,
    /// Checkout or checkin of a license that is not floating: activate it instead.
    NotFloating,
    /// Activate or validate of a floating license: check a seat out instead.
    CheckoutRequired,
    /// A running trial of the product on this machine: licensed until `expires_at`.
    Trial,
    /// This machine's trial of the product has ended; it never gets another.
    TrialExpired,
    /// The product has no trial.
    NoTrial,
}

impl VerdictCode {
    /// Every code, in declaration order ([`VerdictCode::index`] is the position here).
    pub const ALL: [VerdictCode; 15] = [
        Self::Valid,
        Self::Expired,
        Self::Suspended,
        Self::Revoked,
        Self::NotFound,
        Self::MachineLimit,
        Self::NotActivated,
        Self::Deactivated,
        Self::WrongProduct,
        Self::SeatsInUse,
        Self::NotFloating,
        Self::CheckoutRequired,
        Self::Trial,
        Self::TrialExpired,
        Self::NoTrial,
    ];

    /// Whether this code licenses the app (`result.valid`): `VALID`, and a running
    /// `TRIAL`.
    pub fn licenses(self) -> bool {
        matches!(self, Self::Valid | Self::Trial)
    }

    /// This code's position in [`VerdictCode::ALL`]. (A new code fails to compile here
    /// until it gets its place, a reminder to add it to `ALL` too.)
    pub fn index(self) -> usize {
        match self {
            Self::Valid => 0,
            Self::Expired => 1,
            Self::Suspended => 2,
            Self::Revoked => 3,
            Self::NotFound => 4,
            Self::MachineLimit => 5,
            Self::NotActivated => 6,
            Self::Deactivated => 7,
            Self::WrongProduct => 8,
            Self::SeatsInUse => 9,
            Self::NotFloating => 10,
            Self::CheckoutRequired => 11,
            Self::Trial => 12,
            Self::TrialExpired => 13,
            Self::NoTrial => 14,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Expired => "EXPIRED",
            Self::Suspended => "SUSPENDED",
            Self::Revoked => "REVOKED",
            Self::NotFound => "NOT_FOUND",
            Self::MachineLimit => "MACHINE_LIMIT",
            Self::NotActivated => "NOT_ACTIVATED",
            Self::Deactivated => "DEACTIVATED",
            Self::WrongProduct => "WRONG_PRODUCT",
            Self::SeatsInUse => "SEATS_IN_USE",
            Self::NotFloating => "NOT_FLOATING",
            Self::CheckoutRequired => "CHECKOUT_REQUIRED",
            Self::Trial => "TRIAL",
            Self::TrialExpired => "TRIAL_EXPIRED",
            Self::NoTrial => "NO_TRIAL",
        }
    }
}

impl std::fmt::Display for VerdictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The license the verdict is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseInfo {
    /// The customer id in ORDS that the license key carries.
    pub id: String,
    /// When the license itself expires, in unix seconds, or null when it never does or is unknown.
    pub expires_at: Option<i64>,
    /// The license's seats, present exactly when the license limits machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machines: Option<Machines>,
    /// The product the license is for, or null when it is for none in particular.
    /// (Brokers from before products sent no member: read as null.)
    #[serde(default)]
    pub product: Option<String>,
    /// What the license lets the app do, e.g. `export`; possibly empty.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// What expiry means for this license.
    #[serde(default)]
    pub expiry_strategy: ExpiryStrategy,
}

/// What happens when a license's `expires_at` passes (the names of Keygen's
/// expiration strategies: <https://keygen.sh/docs/api/policies/#policies-object-attrs-expirationStrategy>).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExpiryStrategy {
    /// The license stops licensing anything (`EXPIRED`).
    #[default]
    RevokeAccess,
    /// Perpetual fallback: builds released before `expires_at` stay licensed; newer
    /// ones are not. The verdict still says `EXPIRED`; the app decides by its own
    /// build time, which is compiled into it.
    MaintainAccess,
}

impl ExpiryStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RevokeAccess => "REVOKE_ACCESS",
            Self::MaintainAccess => "MAINTAIN_ACCESS",
        }
    }
}

/// How many machines hold a seat of a seat-limited license, and (on a refused
/// activation or a machine listing) which ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machines {
    /// Seats held now.
    pub used: u32,
    /// Seats the license has; null for an unlimited license.
    pub max: Option<u32>,
    /// The machines holding the seats, when the answer lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<MachineEntry>,
}

/// One machine holding a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineEntry {
    /// A short id for this seat, what `deactivate --machine` takes. It is derived
    /// from the broker's keyed hash of the fingerprint and maps back to no machine.
    pub id: String,
    /// The name the machine gave when it activated, if any.
    pub name: Option<String>,
    /// When the machine was last seen online, in unix seconds.
    pub last_seen: i64,
    /// Since when it holds its seat, in unix seconds (brokers from before floating
    /// licenses sent no member: read as null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// True for the machine that asked.
    pub current: bool,
}

/// Signed limits on how the client may use this verdict offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// After this time (unix seconds) the client should ask the broker again at start-up.
    pub recheck_after: i64,
    /// Until this time (unix seconds) a valid verdict may be used without the broker.
    pub offline_until: i64,
}

impl VerdictPayload {
    /// True when the payload's fields agree with each other: the right `typ`, `valid`
    /// matching `code`, and the policy times not before `iat`.
    pub fn is_coherent(&self) -> bool {
        self.typ == VERDICT_TYP
            && self.result.valid == self.result.code.licenses()
            && self.policy.recheck_after >= self.iat
            && self.policy.offline_until >= self.iat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_at_its_index() {
        for (i, code) in VerdictCode::ALL.into_iter().enumerate() {
            assert_eq!(code.index(), i, "{code}");
        }
        let wire: std::collections::HashSet<_> =
            VerdictCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(wire.len(), VerdictCode::ALL.len());
    }

    #[test]
    fn payload_has_the_contract_shape() {
        let payload = VerdictPayload {
            typ: VERDICT_TYP.into(),
            iat: 1_700_000_000,
            nonce: "bm9uY2U".into(),
            fingerprint: None,
            result: VerdictResult {
                valid: false,
                code: VerdictCode::NotFound,
            },
            license: LicenseInfo {
                id: "42".into(),
                expires_at: None,
                machines: None,
                product: None,
                entitlements: Vec::new(),
                expiry_strategy: ExpiryStrategy::RevokeAccess,
            },
            policy: Policy {
                recheck_after: 1_700_000_000,
                offline_until: 1_700_000_000,
            },
        };
        let json = serde_json::to_string(&payload).unwrap();
        assert_eq!(
            json,
            r#"{"typ":"license.validation","iat":1700000000,"nonce":"bm9uY2U","fingerprint":null,"result":{"valid":false,"code":"NOT_FOUND"},"license":{"id":"42","expires_at":null,"product":null,"entitlements":[],"expiry_strategy":"REVOKE_ACCESS"},"policy":{"recheck_after":1700000000,"offline_until":1700000000}}"#
        );
        assert!(payload.is_coherent());
        let mut lying = payload.clone();
        lying.result.valid = true;
        assert!(!lying.is_coherent());
    }

    #[test]
    fn the_request_names_the_key_by_a_digest() {
        let asked = VerdictRequest::new("validate", "KEY-1", Some("desktop-pro"));
        assert_eq!(asked.op, "validate");
        assert_eq!(
            crate::b64::decode(&asked.key).unwrap().len(),
            REQUEST_KEY_BYTES
        );
        assert_ne!(
            asked.key,
            VerdictRequest::new("validate", "key-1", None).key
        );
        assert!(!format!("{asked:?}").contains(&asked.key));
        let payload: VerdictPayload = serde_json::from_str(
            r#"{"typ":"license.validation","iat":1,"nonce":"n","fingerprint":null,"result":{"valid":false,"code":"NOT_FOUND"},"license":{"id":"1","expires_at":null},"policy":{"recheck_after":1,"offline_until":1}}"#,
        )
        .unwrap();
        let bound = serde_json::to_string(&BoundVerdict {
            verdict: &payload,
            request: &asked,
        })
        .unwrap();
        assert!(
            bound.starts_with(r#"{"typ":"license.validation","#)
                && bound.ends_with(&format!(
                    r#""request":{{"op":"validate","key":"{}","product":"desktop-pro"}}}}"#,
                    asked.key
                )),
            "{bound}"
        );
        let back: VerdictPayload = serde_json::from_str(&bound).unwrap();
        assert_eq!(back, payload);
    }

    #[test]
    fn unknown_codes_do_not_parse() {
        assert!(serde_json::from_str::<VerdictCode>(r#""MAYBE""#).is_err());
        assert_eq!(
            serde_json::from_str::<VerdictCode>(r#""SUSPENDED""#).unwrap(),
            VerdictCode::Suspended
        );
    }

    #[test]
    fn seats_appear_only_for_seat_limited_licenses() {
        let info = LicenseInfo {
            id: "4".into(),
            expires_at: None,
            machines: Some(Machines {
                used: 2,
                max: Some(2),
                list: vec![MachineEntry {
                    id: "0a1b2c3d4e5f".into(),
                    name: Some("laptop".into()),
                    last_seen: 1_700_000_000,
                    since: None,
                    current: true,
                }],
            }),
            product: Some("desktop-pro".into()),
            entitlements: vec!["export".into()],
            expiry_strategy: ExpiryStrategy::MaintainAccess,
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"id":"4","expires_at":null,"machines":{"used":2,"max":2,"list":[{"id":"0a1b2c3d4e5f","name":"laptop","last_seen":1700000000,"current":true}]},"product":"desktop-pro","entitlements":["export"],"expiry_strategy":"MAINTAIN_ACCESS"}"#
        );
        let unlimited: LicenseInfo =
            serde_json::from_str(r#"{"id":"1","expires_at":null}"#).unwrap();
        assert_eq!(unlimited.machines, None);
        assert_eq!(
            serde_json::from_str::<VerdictCode>(r#""MACHINE_LIMIT""#).unwrap(),
            VerdictCode::MachineLimit
        );
    }
}
