//! The local half of a check: read the key, the marks and the lease, and answer
//! without the network when that is allowed.

use license_shared::LicenseKey;

use super::Inner;
use crate::cache::{self, CacheRead};
use crate::decide::{
    capitalize, classify_lease, from_fresh_lease, recheck_after, without_answer, Failure, Lease,
};
use crate::fingerprint::Fingerprint;
use crate::keystore::LicenseKeyText;
use crate::state::{self, Marks};
use crate::verdict::{Code, Verdict};
use crate::verify::verify_cached;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A fresh lease answers; otherwise online, falling back to the lease.
    Auto,
    /// Always online, falling back to the lease.
    Online,
    /// Never the network.
    Offline,
}

/// Local state for one check.
pub(super) struct Local {
    pub(super) key: LicenseKeyText,
    pub(super) key_hash: String,
    /// The customer id the stored key carries: the `license.id` every verdict must name.
    pub(super) license_id: String,
    pub(super) file_marks: Marks,
    pub(super) store_marks: Marks,
    pub(super) cache: CacheRead,
    pub(super) notes: Vec<String>,
}

impl Local {
    pub(super) fn marks(&self) -> Marks {
        self.file_marks.merge(self.store_marks)
    }
}

pub(super) enum Step {
    Done(Verdict),
    Online(Box<Pending>),
}

pub(super) struct Pending {
    pub(super) local: Local,
    pub(super) lease: Lease,
    pub(super) rolled_back: Option<i64>,
}

impl Inner {
    pub(super) fn load_marks(&self) -> (Marks, Marks, Option<String>) {
        let (file_marks, _) = state::load(&self.paths);
        let store_marks = self
            .key_store
            .get_marks()
            .ok()
            .flatten()
            .unwrap_or_default();
        let stored_hash = self
            .key_store
            .get_key()
            .ok()
            .flatten()
            .map(|key| cache::key_hash(&key));
        (file_marks, store_marks, stored_hash)
    }

    fn load_local(&self) -> Result<Local, Verdict> {
        let key = match self.key_store.get_key() {
            Ok(Some(key)) => key,
            Ok(None) => return Err(Verdict::local(
                Code::NoLicense,
                "No license key is stored on this machine. Activate the app with your license key.",
            )),
            Err(e) => {
                return Err(Verdict::local(
                    Code::KeyStoreUnavailable,
                    format!("The license key could not be read from the {e}."),
                ))
            }
        };
        let Ok(parsed) = LicenseKey::parse(key.expose()) else {
            return Err(Verdict::local(
                Code::NoLicense,
                "The stored license key is damaged. Activate the app again with your license key.",
            ));
        };
        let mut notes = Vec::new();
        let (file_marks, note) = state::load(&self.paths);
        notes.extend(note);
        let store_marks = match self.key_store.get_marks() {
            Ok(marks) => marks.unwrap_or_default(),
            Err(e) => {
                notes.push(format!("the clock marks could not be read from the {e}"));
                Marks::default()
            }
        };
        Ok(Local {
            key_hash: cache::key_hash(&key),
            license_id: parsed.customer_id().as_str().to_owned(),
            key,
            file_marks,
            store_marks,
            cache: cache::load(&self.paths),
            notes,
        })
    }

    fn lease(&self, local: &Local, fingerprint: &Fingerprint, now: i64) -> Lease {
        match &local.cache {
            CacheRead::Missing => Lease::None(None),
            CacheRead::Corrupt(why) => Lease::None(Some(why.clone())),
            CacheRead::Present(lease) if lease.key_hash != local.key_hash => {
                Lease::None(Some("it belongs to a different license key".into()))
            }
            CacheRead::Present(lease) => {
                match verify_cached(
                    &lease.envelope,
                    &self.trusted_keys,
                    fingerprint,
                    &local.license_id,
                    local.marks().newest_iat,
                ) {
                    Ok(payload) => classify_lease(payload, now),
                    Err(untrusted) => Lease::None(Some(untrusted.to_string())),
                }
            }
        }
    }

    pub(super) fn prepare(&self, mode: Mode) -> Step {
        let fingerprint = match &self.fingerprint {
            Ok(fp) => fp,
            Err(e) => {
                return Step::Done(Verdict::local(
                    Code::MachineIdUnavailable,
                    format!("{}.", capitalize(&e.to_string())),
                ))
            }
        };
        let local = match self.load_local() {
            Ok(local) => local,
            Err(verdict) => return Step::Done(verdict),
        };
        let now = self.clock.now();
        let high_water = local.marks().high_water;
        let rolled_back =
            (now < high_water.saturating_sub(self.rollback_tolerance)).then_some(high_water);
        let lease = self.lease(&local, fingerprint, now);
        let fresh = match &lease {
            Lease::Usable(payload) => rolled_back.is_none() && now < recheck_after(payload),
            _ => false,
        };
        let verdict = match (&lease, mode) {
            (_, Mode::Offline) => without_answer(&lease, &Failure::Offline, rolled_back, now),
            (Lease::Usable(payload), Mode::Auto) if fresh && self.use_fresh_lease => {
                from_fresh_lease(payload, now)
            }
            _ => {
                return Step::Online(Box::new(Pending {
                    local,
                    lease,
                    rolled_back,
                }))
            }
        };
        Step::Done(self.conclude(verdict, &local, None, local.marks().seen_at(now)))
    }
}
