//! Graceful shutdown: a [`Draining`] flag that readiness reads, the signals that set
//! it, and a deadline for the drain.
//!
//! Order matters (research/token-broker-anchors.md, "Operations" item 22): on SIGTERM
//! the flag flips first, so `/readyz` answers 503 at once and the load balancer stops
//! sending new work; then the server stops accepting and lets in-flight requests
//! finish, for at most a grace period; then the process exits 0. A second signal is
//! not needed and not waited for: the grace period bounds the drain.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Which signal asked the broker to stop (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Terminate,
    Interrupt,
}

/// Set once when the broker starts draining; cheap to clone and to read.
#[derive(Debug, Clone)]
pub struct Draining {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Draining {
    fn default() -> Self {
        Self::new()
    }
}

impl Draining {
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Starts draining. Idempotent.
    pub fn start(&self) {
        self.tx.send_replace(true);
    }

    /// What `/readyz` asks before anything else.
    pub fn is_draining(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once draining has started: the trigger to hand to
    /// `axum::serve(..).with_graceful_shutdown(..)`.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // The sender lives as long as any `Draining` clone; `rx` keeps none alive,
            // so an error means every clone is gone and nobody can drain any more.
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }

    /// Runs `serve` to completion, unless it is still running `grace` after draining
    /// started; then gives up on it (returns `None`) so the process can exit anyway.
    pub async fn run_with_grace<F: Future>(&self, serve: F, grace: Duration) -> Option<F::Output> {
        let deadline = {
            let started = self.wait();
            async move {
                started.await;
                tokio::time::sleep(grace).await;
            }
        };
        tokio::select! {
            out = serve => Some(out),
            () = deadline => None,
        }
    }
}

/// The shutdown signals, installed up front so none is missed between start-up and
/// the first await.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers. On Unix a failure to install SIGTERM leaves Ctrl-C only
    /// (and says so in the error); elsewhere Ctrl-C is the only signal there is.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())?;
            Ok(Self { term: Some(term) })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Only Ctrl-C, for when [`Signals::install`] failed.
    pub fn ctrl_c_only() -> Self {
        Self {
            #[cfg(unix)]
            term: None,
        }
    }

    /// The next SIGTERM or SIGINT (Ctrl-C).
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            return tokio::select! {
                _ = term.recv() => Signal::Terminate,
                _ = ctrl_c() => Signal::Interrupt,
            };
        }
        ctrl_c().await;
        Signal::Interrupt
    }
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No way to hear Ctrl-C: never resolve rather than shut down at once.
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_flips_once_and_wakes_every_waiter() {
        let draining = Draining::new();
        assert!(!draining.is_draining());
        let waiters: Vec<_> = (0..3)
            .map(|_| tokio::spawn(draining.clone().wait()))
            .collect();
        let reader = draining.clone();
        draining.start();
        draining.start();
        assert!(reader.is_draining());
        for waiter in waiters {
            waiter.await.unwrap();
        }
        // Waiting after the fact resolves at once.
        draining.wait().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_finishes_in_time_returns_its_result() {
        let draining = Draining::new();
        let stop = draining.wait();
        let serve = async move {
            stop.await;
            tokio::time::sleep(Duration::from_secs(2)).await; // an in-flight request
            "drained"
        };
        draining.start();
        let out = draining
            .run_with_grace(serve, Duration::from_secs(30))
            .await;
        assert_eq!(out, Some("drained"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_overstays_is_given_up_after_the_grace_period() {
        let draining = Draining::new();
        let serve = std::future::pending::<()>();
        let started = tokio::time::Instant::now();
        let run = draining.run_with_grace(serve, Duration::from_secs(30));
        draining.start();
        assert_eq!(run.await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sigterm_is_heard() {
        let mut signals = Signals::install().unwrap();
        // The handler is installed, so this does not kill the test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let heard = tokio::time::timeout(Duration::from_secs(10), signals.recv()).await;
        assert_eq!(heard.unwrap(), Signal::Terminate);
    }
}
