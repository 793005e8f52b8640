//! A short-lived cache of ORDS lookups per customer id, with single flight: however
//! many requests miss on one license at once, ORDS sees one call.
//!
//! The cache holds *lookups* (status and expiry), not signed verdicts: every response
//! is signed afresh over its own nonce, and expiry is judged against the time of each
//! request. The fetch runs in a spawned task that fills the cache itself, so a caller
//! that disconnects neither cancels the call nor strands the others waiting on it.
//! Errors are never cached: the next request tries again. Neither is a lookup task
//! that panicked or was cancelled: a guard in the task clears its `Loading` slot, so
//! one bad lookup cannot leave a customer on 503 until a restart.
//!
//! Hand-written rather than `moka`: moka's single flight (`get_with`) runs the loader
//! in the first caller's task and hands it to the next caller when that one is
//! cancelled, so a disconnecting app would still cancel the ORDS call in flight, and
//! the request log could not tell which caller's lookup reached ORDS. Wrapping it in a
//! spawned task as here would leave moka only the expiry, which is a few lines.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt as _, Shared};
use license_shared::CustomerId;
use tokio::time::Instant;

use super::CacheConfig;
use crate::ords::{Answered, LicenseStatus, Lookup, UpstreamError};

/// Above this many entries, expired ones are swept on the next miss. Only keys with a
/// valid MAC get here, so the map is bounded by the number of issued licenses anyway.
const SWEEP_ABOVE: usize = 10_000;

type SharedLookup = Shared<BoxFuture<'static, Answered<Lookup>>>;

enum Slot {
    Ready { lookup: Lookup, until: Instant },
    Loading(SharedLookup),
}

/// Lookups by customer id.
pub(crate) struct LookupCache {
    slots: Mutex<HashMap<CustomerId, Slot>>,
    config: CacheConfig,
}

impl LookupCache {
    pub(crate) fn new(config: CacheConfig) -> Arc<Self> {
        Arc::new(Self {
            slots: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// The cached lookup for `id`, or the one in flight, or a new one made by `fetch`.
    /// Only the caller whose `fetch` ran learns ORDS's status; a cached or joined
    /// answer has none of its own.
    pub(crate) async fn get_or_fetch<F, Fut>(
        self: &Arc<Self>,
        id: &CustomerId,
        fetch: F,
    ) -> Answered<Lookup>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answered<Lookup>> + Send + 'static,
    {
        let (pending, started_here) = {
            let mut slots = self.lock();
            let now = Instant::now();
            match slots.get(id) {
                Some(Slot::Ready { lookup, until }) if *until > now => {
                    return Answered::unobserved(Ok(lookup.clone()))
                }
                Some(Slot::Loading(pending)) => (pending.clone(), false),
                _ => {
                    if slots.len() > SWEEP_ABOVE {
                        slots.retain(
                            |_, slot| !matches!(slot, Slot::Ready { until, .. } if *until <= now),
                        );
                    }
                    // Spawned while the lock is held, so the task's `finish` (which
                    // takes the lock) always runs after the Loading slot is in place.
                    let cache = Arc::clone(self);
                    let key = id.clone();
                    let work = fetch();
                    let task = tokio::spawn(async move {
                        let mut unfinished = Unfinished {
                            cache,
                            id: key,
                            armed: true,
                        };
                        let answered = work.await;
                        unfinished.armed = false;
                        unfinished.cache.finish(&unfinished.id, &answered.result);
                        answered
                    });
                    let pending = async move {
                        task.await.unwrap_or_else(|_| {
                            Answered::unobserved(Err(UpstreamError::unavailable(
                                "the ORDS lookup task stopped",
                            )))
                        })
                    }
                    .boxed()
                    .shared();
                    slots.insert(id.clone(), Slot::Loading(pending.clone()));
                    (pending, true)
                }
            }
        };
        let mut answered = pending.await;
        if !started_here {
            answered.upstream_status = None;
        }
        answered
    }

    fn finish(&self, id: &CustomerId, result: &Result<Lookup, UpstreamError>) {
        let mut slots = self.lock();
        match result {
            Ok(lookup) => {
                let ttl = match lookup {
                    Lookup::Row(row) if row.status == LicenseStatus::Active => self.config.ttl,
                    _ => self.config.negative_ttl,
                };
                if ttl.is_zero() {
                    slots.remove(id);
                } else {
                    let until = Instant::now() + ttl;
                    slots.insert(
                        id.clone(),
                        Slot::Ready {
                            lookup: lookup.clone(),
                            until,
                        },
                    );
                }
            }
            Err(_) => {
                slots.remove(id);
            }
        }
    }

    /// Clears `id`'s `Loading` slot when its task ends without an answer.
    fn abandon(&self, id: &CustomerId) {
        let mut slots = self.lock();
        let removed = match slots.get(id) {
            Some(Slot::Loading(_)) => slots.remove(id),
            _ => None,
        };
        drop(slots);
        // Dropped outside the lock: the slot holds the shared future of this task.
        drop(removed);
    }

    /// Number of entries (ready or loading).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CustomerId, Slot>> {
        // A panic while holding this lock cannot leave a half-written map entry.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Armed while a lookup task runs: if the task unwinds (the lookup panicked) or is
/// dropped (the runtime shuts down) before [`LookupCache::finish`], the slot is
/// cleared so the next request starts a fresh lookup instead of sharing this failure.
struct Unfinished {
    cache: Arc<LookupCache>,
    id: CustomerId,
    armed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.armed {
            tracing::error!(
                customer_id = %self.id,
                "the ORDS lookup task ended without an answer (it panicked); the next request tries again"
            );
            self.cache.abandon(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ords::LicenseRow;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    impl LookupCache {
        /// [`LookupCache::get_or_fetch`] for fetches that report no ORDS status.
        async fn fetch_result<F, Fut>(
            self: &Arc<Self>,
            id: &CustomerId,
            fetch: F,
        ) -> Result<Lookup, UpstreamError>
        where
            F: FnOnce() -> Fut,
            Fut: Future<Output = Result<Lookup, UpstreamError>> + Send + 'static,
        {
            let fetch = move || {
                let work = fetch();
                async move { Answered::unobserved(work.await) }
            };
            self.get_or_fetch(id, fetch).await.result
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_request_whose_fetch_ran_learns_the_upstream_status() {
        let cache = LookupCache::new(CacheConfig::default());
        let id = CustomerId::parse("3").unwrap();
        let fetch = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Answered {
                result: Ok(active()),
                upstream_status: Some(200),
            }
        };
        let (started, joined) = tokio::join!(
            cache.get_or_fetch(&id, fetch),
            cache.get_or_fetch(&id, fetch)
        );
        assert_eq!(started.upstream_status, Some(200));
        assert_eq!(joined.upstream_status, None, "joined the same lookup");
        let cached = cache.get_or_fetch(&id, fetch).await;
        assert_eq!(
            (cached.result, cached.upstream_status),
            (Ok(active()), None)
        );
    }

    fn active() -> Lookup {
        Lookup::Row(LicenseRow {
            status: LicenseStatus::Active,
            expires_at: None,
            max_machines: None,
            product: None,
            entitlements: Vec::new(),
            expiry_strategy: license_shared::ExpiryStrategy::RevokeAccess,
            key_serial: 0,
        })
    }

    fn counting(
        calls: &Arc<AtomicUsize>,
        answer: Result<Lookup, UpstreamError>,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<Lookup, UpstreamError>> {
        let calls = Arc::clone(calls);
        move || {
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_coalesce_and_entries_expire() {
        let cache = LookupCache::new(CacheConfig::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let id = CustomerId::parse("1").unwrap();
        let all = (0..50).map(|_| cache.fetch_result(&id, counting(&calls, Ok(active()))));
        let results = futures::future::join_all(all).await;
        assert!(results.iter().all(|r| r == &Ok(active())));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_secs(59)).await;
        cache
            .fetch_result(&id, counting(&calls, Ok(active())))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "still fresh at 59 s");
        tokio::time::advance(Duration::from_secs(2)).await;
        cache
            .fetch_result(&id, counting(&calls, Ok(Lookup::NoRow)))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "refetched after 60 s");
        tokio::time::advance(Duration::from_secs(16)).await;
        cache
            .fetch_result(&id, counting(&calls, Ok(active())))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3, "a deny lives 15 s");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_shared_but_not_cached_and_cancellation_is_harmless() {
        let cache = LookupCache::new(CacheConfig::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let id = CustomerId::parse("2").unwrap();
        let err = UpstreamError::Timeout;
        let all = (0..10).map(|_| cache.fetch_result(&id, counting(&calls, Err(err.clone()))));
        let results = futures::future::join_all(all).await;
        assert!(results.iter().all(|r| r == &Err(UpstreamError::Timeout)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(cache.len() == 0);

        // The first caller gives up; the lookup still lands in the cache.
        let abandoned = cache.fetch_result(&id, counting(&calls, Ok(active())));
        let _ = tokio::time::timeout(Duration::from_millis(10), abandoned).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            cache
                .fetch_result(&id, counting(&calls, Ok(Lookup::NoRow)))
                .await,
            Ok(active())
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_lookup_that_panics_is_not_kept_and_the_next_request_refetches() {
        let cache = LookupCache::new(CacheConfig::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let id = CustomerId::parse("9").unwrap();
        let panicking = {
            let calls = Arc::clone(&calls);
            move || {
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    panic!("a bug in the lookup");
                }
                .boxed()
            }
        };
        let first = cache.fetch_result(&id, panicking).await;
        assert!(
            matches!(first, Err(UpstreamError::Unavailable { .. })),
            "{first:?}"
        );
        assert!(cache.len() == 0, "the failed Loading slot is gone");
        assert_eq!(
            cache
                .fetch_result(&id, counting(&calls, Ok(active())))
                .await,
            Ok(active())
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the second request refetched"
        );
        assert_eq!(cache.len(), 1, "and its answer is cached");
    }
}
