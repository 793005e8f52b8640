//! What the client remembers about time: the high-water mark and the newest verified
//! `iat`.
//!
//! - `high_water` = max(every verified `iat`, the local clock at each check). A clock
//!   earlier than this minus the rollback tolerance is a rolled-back clock.
//! - `newest_iat` = the newest `iat` of any envelope the client has accepted. An
//!   envelope older than it is never accepted again, so restoring an old `VALID` cache
//!   after a deny brings nothing back.
//!
//! Both live in `state.json` in the data directory and in the key store; on reading,
//! the larger of each value wins, so deleting or restoring one copy does not reset them.
//! `deactivate` keeps them for the same reason.

use serde::{Deserialize, Serialize};

use super::fs::{read_small, write_atomically};
use super::paths::Paths;

/// The two monotonic times; both only ever grow (each copy read is merged by taking the
/// larger of each value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    /// Unix seconds no honest clock will be earlier than (minus the tolerance).
    pub high_water: i64,
    /// The `iat` of the newest envelope accepted.
    pub newest_iat: i64,
}

impl Marks {
    pub(crate) fn merge(self, other: Marks) -> Marks {
        Marks {
            high_water: self.high_water.max(other.high_water),
            newest_iat: self.newest_iat.max(other.newest_iat),
        }
    }

    /// These marks after a check at `now`: the clock reading raises the high-water mark.
    pub(crate) fn seen_at(self, now: i64) -> Marks {
        Marks {
            high_water: self.high_water.max(now),
            ..self
        }
    }

    pub(crate) fn encode(self) -> Vec<u8> {
        serde_json::to_vec(&self).unwrap_or_default()
    }

    /// `None` for anything that is not a state object; an unreadable copy is no copy.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Marks> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Reads `state.json`. A missing or corrupt file counts as no marks: the key store's
/// copy still holds, and refusing to start would punish an honest user for a crash.
pub(crate) fn load(paths: &Paths) -> (Marks, Option<String>) {
    let (marks, note) = read(paths);
    (marks.unwrap_or_default(), note)
}

/// Reads `state.json`: `Some` only for a copy that was there and parsed. When neither
/// this copy nor the key store's is `Some`, nothing guards the lease against a
/// rolled-back clock, and the client does not answer from it (see `client::local`).
pub(crate) fn read(paths: &Paths) -> (Option<Marks>, Option<String>) {
    match read_small(&paths.state_file(), 4096) {
        Ok(Some(bytes)) => match Marks::decode(&bytes) {
            Some(marks) => (Some(marks), None),
            None => (
                None,
                Some(format!(
                    "{} is corrupt and was ignored",
                    paths.state_file().display()
                )),
            ),
        },
        Ok(None) => (None, None),
        Err(e) => (
            None,
            Some(format!(
                "{} could not be read: {e}",
                paths.state_file().display()
            )),
        ),
    }
}

pub(crate) fn save(paths: &Paths, marks: Marks) -> std::io::Result<()> {
    write_atomically(&paths.state_file(), &marks.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_takes_the_larger_of_each() {
        let a = Marks {
            high_water: 10,
            newest_iat: 3,
        };
        let b = Marks {
            high_water: 5,
            newest_iat: 7,
        };
        assert_eq!(
            a.merge(b),
            Marks {
                high_water: 10,
                newest_iat: 7
            }
        );
    }

    #[test]
    fn seen_at_only_raises_the_high_water_mark() {
        let marks = Marks {
            high_water: 10,
            newest_iat: 7,
        };
        assert_eq!(marks.seen_at(5), marks);
        assert_eq!(
            marks.seen_at(20),
            Marks {
                high_water: 20,
                newest_iat: 7
            }
        );
    }

    #[test]
    fn corrupt_state_is_no_state_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path());
        assert_eq!(load(&paths), (Marks::default(), None));
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        std::fs::write(paths.state_file(), b"{not json").unwrap();
        let (marks, note) = load(&paths);
        assert_eq!(marks, Marks::default());
        assert!(note.unwrap().contains("corrupt"));
        let m = Marks {
            high_water: 1,
            newest_iat: 2,
        };
        save(&paths, m).unwrap();
        assert_eq!(load(&paths), (m, None));
    }
}
