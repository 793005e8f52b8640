//! Saving what a check learnt: the lease and the two copies of the marks, each only
//! when it changed, with a note in the verdict for anything that could not be saved.

use super::local::Local;
use super::Inner;
use crate::store::lease;
use crate::store::marks::{self, Marks};
use crate::transport::Received;
use crate::verdict::Verdict;

/// Persist a copy of the marks only when it moved: the newest `iat` changed, or the
/// high-water mark by a minute or more. Keeps a start-up from writing the keyring.
fn moved(old: Marks, new: Marks) -> bool {
    old.newest_iat != new.newest_iat || new.high_water.abs_diff(old.high_water) >= 60
}

impl Inner {
    /// Saves what changed and adds any notes to the message.
    pub(super) fn conclude(
        &self,
        mut verdict: Verdict,
        local: &Local,
        lease: Option<&Received>,
        marks: Marks,
    ) -> Verdict {
        let mut notes = local.notes.clone();
        notes.extend(self.persist(
            lease,
            &local.key_hash,
            (local.file_marks, local.store_marks),
            marks,
        ));
        verdict.append_notes(&notes);
        verdict
    }

    pub(super) fn persist(
        &self,
        lease: Option<&Received>,
        key_hash: &str,
        old: (Marks, Marks),
        marks: Marks,
    ) -> Vec<String> {
        self.save(lease, key_hash, old, marks).0
    }

    /// Saves the marks of a check that answers without a fresh verdict. `true` when
    /// neither copy holds them afterwards: each copy that had to move failed to.
    pub(super) fn save_marks(&self, local: &Local, marks: Marks) -> (Vec<String>, bool) {
        self.save(
            None,
            &local.key_hash,
            (local.file_marks, local.store_marks),
            marks,
        )
    }

    /// The notes, and whether no copy of `marks` is kept (every copy that moved
    /// failed to save; one that did not move already holds them).
    fn save(
        &self,
        lease: Option<&Received>,
        key_hash: &str,
        (file_marks, store_marks): (Marks, Marks),
        marks: Marks,
    ) -> (Vec<String>, bool) {
        let mut notes = Vec::new();
        let (mut file_kept, mut store_kept) = (true, true);
        if let Some(received) = lease {
            if let Err(e) = lease::save(&self.paths, &received.raw, key_hash) {
                notes.push(format!(
                    "the verdict could not be saved for offline use ({e})"
                ));
            }
        }
        if moved(file_marks, marks) {
            if let Err(e) = marks::save(&self.paths, marks) {
                file_kept = false;
                notes.push(format!(
                    "{} could not be written ({e})",
                    self.paths.state_file().display()
                ));
            }
        }
        if moved(store_marks, marks) {
            if let Err(e) = self.key_store.set_marks(marks) {
                store_kept = false;
                notes.push(format!("the clock marks could not be saved in the {e}"));
            }
        }
        (notes, !file_kept && !store_kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_never_overflows() {
        let marks = |high_water| Marks {
            high_water,
            newest_iat: 0,
        };
        assert!(moved(marks(i64::MIN), marks(i64::MAX)));
        assert!(moved(marks(i64::MAX), marks(i64::MIN)));
        assert!(!moved(marks(i64::MIN), marks(i64::MIN + 59)));
        assert!(moved(marks(0), marks(60)));
    }
}
