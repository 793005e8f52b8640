//! Graceful shutdown: a [`Draining`] flag that readiness reads, the signals that set
//! it, and a deadline for the drain.
//!
//! Order matters (the Kubernetes pod termination sequence,
//! <https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination>):
//! on SIGTERM the flag flips first, so `/readyz` answers 503 at once and the load balancer stops
//! sending new work; then the server stops accepting and lets in-flight requests
//! finish, for at most a grace period; then the process exits 0. A second signal is
//! not needed and not waited for: the grace period bounds the drain.
//!
//! `SIGHUP` is heard, logged and ignored. Its default action terminates the process
//! (exit 129), which a stray `kill -HUP` or `systemctl reload` would otherwise do; the
//! broker reloads nothing (a changed client secret file is re-read by itself after
//! ORDS refuses the old one; every other change needs a restart).

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
pub(crate) struct Draining {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Draining {
    fn default() -> Self {
        Self::new()
    }
}

impl Draining {
    pub(crate) fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Starts draining. Idempotent.
    pub(crate) fn start(&self) {
        self.tx.send_replace(true);
    }

    /// What `/readyz` asks before anything else.
    pub(crate) fn is_draining(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once draining has started: the trigger to hand to
    /// `axum::serve(..).with_graceful_shutdown(..)`.
    pub(crate) fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // The sender lives as long as any `Draining` clone; `rx` keeps none alive,
            // so an error means every clone is gone and nobody can drain any more.
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }

    /// Runs `serve` to completion, unless it is still running `grace` after draining
    /// started; then gives up on it (returns `None`) so the process can exit anyway.
    pub(crate) async fn run_with_grace<F: Future>(
        &self,
        serve: F,
        grace: Duration,
    ) -> Option<F::Output> {
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

/// What one signal delivery was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// SIGTERM or SIGINT: drain and stop.
    Stop(Signal),
    /// SIGHUP: logged and ignored.
    Hangup,
}

/// The shutdown signals, installed up front so none is missed between start-up and
/// the first await; SIGHUP is installed with them so it never kills the broker.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers. On Unix a failure to install SIGTERM leaves Ctrl-C only
    /// (and says so in the error); elsewhere Ctrl-C is the only signal there is.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())?;
            let hup = signal(SignalKind::hangup())?;
            Ok(Self {
                term: Some(term),
                hup: Some(hup),
            })
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
            #[cfg(unix)]
            hup: None,
        }
    }

    /// The next SIGTERM or SIGINT (Ctrl-C); every SIGHUP meanwhile is logged and
    /// ignored.
    pub async fn recv(&mut self) -> Signal {
        loop {
            match self.next_event().await {
                Event::Stop(signal) => return signal,
                Event::Hangup => tracing::info!(
                    "SIGHUP received and ignored: the broker reloads nothing; restart it to apply a configuration change"
                ),
            }
        }
    }

    /// The next signal of any of the three kinds.
    pub async fn next_event(&mut self) -> Event {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            let hangup = async {
                match self.hup.as_mut() {
                    Some(hup) => {
                        hup.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            return tokio::select! {
                _ = term.recv() => Event::Stop(Signal::Terminate),
                _ = ctrl_c() => Event::Stop(Signal::Interrupt),
                () = hangup => Event::Hangup,
            };
        }
        ctrl_c().await;
        Event::Stop(Signal::Interrupt)
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
    fn send(signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// One test for both, in order: signals reach every installed stream in the
    /// process, so a SIGTERM test running beside a SIGHUP test would stop it.
    #[cfg(unix)]
    #[tokio::test]
    async fn sighup_is_reported_and_ignored_and_sigterm_is_heard() {
        let mut signals = Signals::install().unwrap();
        // The handlers are installed, so neither signal kills the test process.
        send("-HUP");
        let heard = tokio::time::timeout(Duration::from_secs(10), signals.next_event()).await;
        assert_eq!(heard.unwrap(), Event::Hangup);
        send("-HUP");
        let stop = tokio::time::timeout(Duration::from_millis(300), signals.recv()).await;
        assert!(stop.is_err(), "SIGHUP must not resolve shutdown: {stop:?}");
        send("-TERM");
        let heard = tokio::time::timeout(Duration::from_secs(10), signals.recv()).await;
        assert_eq!(heard.unwrap(), Signal::Terminate);
    }
}
