//! The local half of a check: read the key, the marks and the lease, and answer
//! without the network when that is allowed.

use license_shared::LicenseKey;

use super::Inner;
use crate::decide::{
    capitalize, classify_lease, from_fresh_lease, recheck_after, without_answer, Failure, Lease,
};
use crate::fingerprint::Fingerprint;
use crate::store::keystore::LicenseKeyText;
use crate::store::lease::{self, CacheRead};
use crate::store::marks::{self, Marks};
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
    /// Whether each copy of the marks (`state.json`, the key store's) was there and
    /// readable. With neither, nothing guards the lease against a rolled-back clock.
    pub(super) held: (bool, bool),
    pub(super) cache: CacheRead,
    pub(super) notes: Vec<String>,
}

impl Local {
    pub(super) fn marks(&self) -> Marks {
        self.file_marks.merge(self.store_marks)
    }

    /// At least one copy of the marks was read.
    pub(super) fn marks_held(&self) -> bool {
        self.held.0 || self.held.1
    }
}

/// Why a valid lease is not used when no copy of the marks could be read: deleting
/// both (or putting a directory where each goes) must not switch off the rollback
/// check. Only a fresh verified answer, which re-seeds the marks, licenses then.
pub(super) const MARKS_MISSING: &str = "no copy of the clock marks that guard it against a rolled-back clock could be read (neither the state file nor the key store's copy), so it counts only once the license server confirms the license";

/// Why a valid lease is not used when neither copy of the marks can be saved.
pub(super) const MARKS_UNSAVED: &str = "the clock marks that guard it against a rolled-back clock cannot be saved (neither the state file nor the key store's copy), so it counts only once the license server confirms the license";

/// The signed `iat` of a verified lease: no honest clock is much earlier than the
/// time the lease itself was signed, whatever the marks say.
fn signed_iat(lease: &Lease) -> Option<i64> {
    match lease {
        Lease::Usable(payload) | Lease::Deny(payload) | Lease::Expired(payload) => {
            Some(payload.iat)
        }
        Lease::None(_) => None,
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
    /// The two copies of the marks (the file's, the key store's), and the hash of the
    /// stored key.
    pub(super) fn load_marks(&self) -> (Marks, Marks, Option<String>) {
        let (file_marks, store_marks) = self.marks_copies();
        let stored_hash = self
            .key_store
            .get_key()
            .ok()
            .flatten()
            .map(|key| lease::key_hash(&key));
        (file_marks, store_marks, stored_hash)
    }

    /// The two copies of the marks, the file's and the key store's (unreadable: none).
    pub(super) fn marks_copies(&self) -> (Marks, Marks) {
        let (file_marks, _) = marks::load(&self.paths);
        let store_marks = self
            .key_store
            .get_marks()
            .ok()
            .flatten()
            .unwrap_or_default();
        (file_marks, store_marks)
    }

    /// The verdict, when there is nothing to check (boxed: it is the rare, large side).
    fn load_local(&self) -> Result<Local, Box<Verdict>> {
        let key = match self.key_store.get_key() {
            Ok(Some(key)) => key,
            Ok(None) => return Err(Box::new(Verdict::local(
                Code::NoLicense,
                "No license key is stored on this machine. Activate the app with your license key.",
            ))),
            Err(e) => {
                return Err(Box::new(Verdict::local(
                    Code::KeyStoreUnavailable,
                    crate::text::end_sentence(&format!(
                        "The license key could not be read from the {e}"
                    )),
                )))
            }
        };
        let Ok(parsed) = LicenseKey::parse(key.expose()) else {
            return Err(Box::new(Verdict::local(
                Code::NoLicense,
                "The stored license key is damaged. Activate the app again with your license key.",
            )));
        };
        let mut notes = Vec::new();
        let (file_marks, note) = marks::read(&self.paths);
        notes.extend(note);
        let store_marks = match self.key_store.get_marks() {
            Ok(marks) => marks,
            Err(e) => {
                notes.push(format!("the clock marks could not be read from the {e}"));
                None
            }
        };
        Ok(Local {
            key_hash: lease::key_hash(&key),
            license_id: parsed.customer_id().as_str().to_owned(),
            key,
            held: (file_marks.is_some(), store_marks.is_some()),
            file_marks: file_marks.unwrap_or_default(),
            store_marks: store_marks.unwrap_or_default(),
            cache: lease::load(&self.paths),
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
                    &self.app,
                ) {
                    Ok(payload) => classify_lease(payload, now, &self.app),
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
        let mut local = match self.load_local() {
            Ok(local) => local,
            Err(verdict) => return Step::Done(*verdict),
        };
        let now = self.clock.now();
        let mut lease = self.lease(&local, fingerprint, now);
        // The floor for "now": the high-water mark, and never less than the verified
        // lease's own signed `iat`, which no file on this machine can lower.
        let floor = local
            .marks()
            .high_water
            .max(signed_iat(&lease).unwrap_or(i64::MIN));
        let rolled_back = (now < floor.saturating_sub(self.rollback_tolerance)).then_some(floor);
        if !local.marks_held() && matches!(lease, Lease::Usable(_)) {
            lease = Lease::None(Some(MARKS_MISSING.into()));
        }
        let fresh = match &lease {
            Lease::Usable(payload) => rolled_back.is_none() && now < recheck_after(payload),
            _ => false,
        };
        let marks = local.marks().seen_at(now);
        match (&lease, mode) {
            (_, Mode::Offline) => {
                return Step::Done(self.answer_from_lease(
                    &local,
                    lease,
                    &Failure::Offline,
                    rolled_back,
                    now,
                    marks,
                ))
            }
            (Lease::Usable(payload), Mode::Auto) if fresh && self.use_fresh_lease => {
                // The lease answers only if the marks this start moves can be kept.
                let (notes, unsaved) = self.save_marks(&local, marks);
                if !unsaved {
                    let mut verdict = from_fresh_lease(payload, now, &self.app);
                    verdict.append_notes(local.notes.iter().chain(&notes));
                    return Step::Done(verdict);
                }
                local.notes.extend(notes);
                lease = Lease::None(Some(MARKS_UNSAVED.into()));
            }
            _ => {}
        }
        Step::Online(Box::new(Pending {
            local,
            lease,
            rolled_back,
        }))
    }

    /// No fresh verified answer: decide from the lease, after saving the marks this
    /// check moved. A valid lease counts only while a copy of the marks can be kept:
    /// when neither copy could be read, nothing is written from the local clock (the
    /// marks are re-seeded only by a verified answer), and when neither copy can be
    /// saved, the lease does not answer.
    pub(super) fn answer_from_lease(
        &self,
        local: &Local,
        lease: Lease,
        failure: &Failure,
        rolled_back: Option<i64>,
        now: i64,
        marks: Marks,
    ) -> Verdict {
        let (notes, unsaved) = if local.marks_held() {
            self.save_marks(local, marks)
        } else {
            (Vec::new(), false)
        };
        let lease = match lease {
            Lease::Usable(_) if unsaved => Lease::None(Some(MARKS_UNSAVED.into())),
            lease => lease,
        };
        let mut verdict = without_answer(&lease, failure, rolled_back, now, &self.app);
        verdict.append_notes(local.notes.iter().chain(&notes));
        verdict
    }
}
