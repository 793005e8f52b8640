//! The machine fingerprint a verdict is bound to.
//!
//! `HMAC-SHA256(key = OS machine id, message = app id)`, base64url. The machine id is
//! never sent, and two apps on one machine get unrelated fingerprints. A cached verdict
//! copied to another machine carries the other machine's fingerprint and is refused.
//! When the machine id cannot be read the client says so; it never sends an empty or
//! made-up fingerprint.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The fingerprint this client sends and expects back, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

/// The machine id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read this machine's id ({0}), which the license is bound to; on Linux /etc/machine-id must exist and be readable (`systemd-machine-id-setup` creates it)")]
pub struct FingerprintError(String);

impl Fingerprint {
    /// The fingerprint of `app_id` on the machine whose id is `machine_id`.
    pub fn from_machine_id(machine_id: &str, app_id: &str) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(machine_id.trim().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(app_id.as_bytes());
        Self(license_shared::base64url_encode(
            &mac.finalize().into_bytes(),
        ))
    }

    /// The fingerprint of `app_id` on this machine, from the OS machine id
    /// (`/etc/machine-id`, `IOPlatformUUID`, or `MachineGuid`).
    pub fn for_this_machine(app_id: &str) -> Result<Self, FingerprintError> {
        let id = machine_uid::get().map_err(|e| FingerprintError(e.to_string()))?;
        if id.trim().is_empty() {
            return Err(FingerprintError("the machine id is empty".into()));
        }
        Ok(Self::from_machine_id(&id, app_id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_machine_and_app() {
        let a = Fingerprint::from_machine_id("m1", "app");
        assert_eq!(a, Fingerprint::from_machine_id("m1\n", "app"));
        assert_ne!(a, Fingerprint::from_machine_id("m2", "app"));
        assert_ne!(a, Fingerprint::from_machine_id("m1", "other"));
        // 32 bytes of HMAC in unpadded base64url, well inside the wire's 128 chars.
        assert_eq!(a.as_str().len(), 43);
    }
}
