//! A cap on tasks in progress (TLS handshakes, connections), shared fairly between
//! client addresses.
//!
//! Each task holds a slot for its address (an IPv6 /64 counts as one address). One
//! address may hold at most `max_per_address` slots; a new task from an address at that
//! cap is refused, so it cannot push out anyone else's. At the total cap a new task
//! evicts a task of the address that holds the most slots (its oldest; between
//! addresses holding equally many, the one whose oldest is oldest). A flood spread
//! over many addresses therefore evicts the flood's own tasks: a client holding one
//! slot is evicted only once every address holds at most one, that is, when the flood
//! comes from more addresses than there are slots.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use tokio::task::{AbortHandle, Id};

/// One task counted against the caps.
struct Held {
    bucket: IpAddr,
    /// Its place in its address's [`Slots::by_address`] map: lower is older.
    seq: u64,
    abort: AbortHandle,
}

/// The slots in use, by task and by address.
pub(crate) struct Slots {
    max_total: usize,
    max_per_address: usize,
    /// Keyed by task id, which a cancelled or panicked task still reports, so no ending
    /// can leak a slot.
    held: HashMap<Id, Held>,
    /// Each address's tasks in the order they started.
    by_address: HashMap<IpAddr, BTreeMap<u64, Id>>,
    next_seq: u64,
}

/// What [`Slots::make_room`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// Start the task; `evicted` tasks were aborted to make room.
    Made { evicted: usize },
    /// The address already holds its share: close the new one at once.
    AddressFull,
}

impl Slots {
    pub(crate) fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            max_total: max_total.max(1),
            max_per_address: max_per_address.max(1),
            held: HashMap::new(),
            by_address: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Slots in use.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    /// Makes room for one more task from `bucket`, or refuses it (checked before any
    /// eviction, so an address at its own cap cannot push others out).
    pub(crate) fn make_room(&mut self, bucket: IpAddr) -> Room {
        let holds = self.by_address.get(&bucket).map_or(0, BTreeMap::len);
        if holds >= self.max_per_address {
            return Room::AddressFull;
        }
        let mut evicted = 0;
        while self.held.len() >= self.max_total {
            let Some(victim) = self.most_crowded_oldest() else {
                break;
            };
            if let Some(held) = self.forget(victim) {
                // Aborting drops the task's future, which closes its socket.
                held.abort.abort();
                evicted += 1;
            }
        }
        Room::Made { evicted }
    }

    /// Counts the task `abort` (started for `bucket`) against the caps.
    pub(crate) fn hold(&mut self, bucket: IpAddr, abort: AbortHandle) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = abort.id();
        self.by_address.entry(bucket).or_default().insert(seq, id);
        self.held.insert(id, Held { bucket, seq, abort });
    }

    /// Stops counting a task; `false` if it was not counted (already evicted).
    pub(crate) fn release(&mut self, id: Id) -> bool {
        self.forget(id).is_some()
    }

    fn forget(&mut self, id: Id) -> Option<Held> {
        let held = self.held.remove(&id)?;
        if let Some(tasks) = self.by_address.get_mut(&held.bucket) {
            tasks.remove(&held.seq);
            if tasks.is_empty() {
                self.by_address.remove(&held.bucket);
            }
        }
        Some(held)
    }

    /// The oldest task of the address holding the most; between equals, the one whose
    /// oldest task is oldest.
    fn most_crowded_oldest(&self) -> Option<Id> {
        self.by_address
            .values()
            .filter_map(|tasks| {
                let (&seq, &id) = tasks.first_key_value()?;
                Some((tasks.len(), seq, id))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, _, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use tokio::task::JoinSet;

    use super::*;

    fn addr(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    /// Starts a task that never ends on its own, holding a slot for `bucket`.
    fn start(slots: &mut Slots, tasks: &mut JoinSet<()>, bucket: IpAddr) -> Option<Id> {
        match slots.make_room(bucket) {
            Room::AddressFull => None,
            Room::Made { .. } => {
                let abort = tasks.spawn(std::future::pending());
                let id = abort.id();
                slots.hold(bucket, abort);
                Some(id)
            }
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_most_crowded_address_loses_its_oldest() {
        let mut tasks = JoinSet::new();
        let mut slots = Slots::new(8, 4);
        let client = start(&mut slots, &mut tasks, addr(1)).unwrap();
        // A flood from three addresses fills the rest, then keeps coming.
        let mut flood = Vec::new();
        for round in 0..100u8 {
            let id = start(&mut slots, &mut tasks, addr(2 + round % 3));
            flood.extend(id);
            assert!(slots.len() <= 8);
        }
        assert!(
            slots.held.contains_key(&client),
            "one pending slot is never the most crowded while the flood holds more"
        );
        // Each flooding address ends up with its fair share of what the client left.
        for a in 2..5 {
            let holds = slots.by_address.get(&addr(a)).map_or(0, BTreeMap::len);
            assert!((2..=3).contains(&holds), "address {a} holds {holds}");
        }
    }

    #[tokio::test]
    async fn an_address_at_its_own_cap_is_refused_without_evicting_anyone() {
        let mut tasks = JoinSet::new();
        let mut slots = Slots::new(4, 2);
        let first = start(&mut slots, &mut tasks, addr(1)).unwrap();
        start(&mut slots, &mut tasks, addr(1)).unwrap();
        assert_eq!(slots.make_room(addr(1)), Room::AddressFull);
        start(&mut slots, &mut tasks, addr(2)).unwrap();
        start(&mut slots, &mut tasks, addr(3)).unwrap();
        // Full: address 1 holds the most, so its oldest goes.
        assert_eq!(slots.make_room(addr(4)), Room::Made { evicted: 1 });
        assert!(!slots.held.contains_key(&first));
        assert!(
            !slots.release(first),
            "an evicted task's slot is already free"
        );
    }

    #[tokio::test]
    async fn between_equals_the_oldest_goes() {
        let mut tasks = JoinSet::new();
        let mut slots = Slots::new(3, 2);
        let oldest = start(&mut slots, &mut tasks, addr(1)).unwrap();
        let second = start(&mut slots, &mut tasks, addr(2)).unwrap();
        start(&mut slots, &mut tasks, addr(3)).unwrap();
        start(&mut slots, &mut tasks, addr(4)).unwrap();
        assert!(!slots.held.contains_key(&oldest));
        assert!(slots.held.contains_key(&second));
        assert!(slots.release(second));
        assert_eq!(slots.len(), 2);
        assert!(!slots.by_address.contains_key(&addr(2)));
    }
}
