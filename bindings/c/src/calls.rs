//! What each entry point asks of the client, and where it runs: a blocking call on the
//! caller's thread, or the async form on a thread of its own that calls back.
//!
//! Each handle owns one Tokio runtime (one worker thread, plus the blocking pool the
//! key store's reads use), built once in `lc_client_new`, so a call does not pay for a
//! runtime and no runtime is shared between handles.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use client::{Checkout, Error, ErrorKind, LicenseClient, Verdict};
use tokio::runtime::Runtime;

use crate::boundary::{self, c_string_lossy, Failure};
use crate::status::lc_status;

/// How `lc_check` decides: one of the `LC_CHECK_*` values.
#[allow(non_camel_case_types)]
pub type lc_check_mode = u32;
/// From a verified lease until its signed recheck time, else online (falling back to
/// the lease).
pub const LC_CHECK_AUTO: lc_check_mode = 0;
/// Online first, falling back to the lease.
pub const LC_CHECK_REFRESH: lc_check_mode = 1;
/// From the lease only; never touches the network.
pub const LC_CHECK_OFFLINE: lc_check_mode = 2;

/// Called once when an async call ends: `verdict_json` on `LC_OK`, else `error`; both
/// valid only during the call.
#[allow(non_camel_case_types)]
pub type lc_verdict_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        status: lc_status,
        verdict_json: *const c_char,
        error: *const c_char,
    ),
>;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    Auto,
    Refresh,
    Offline,
}

pub(crate) fn mode(mode: lc_check_mode) -> Result<Mode, Failure> {
    match mode {
        LC_CHECK_AUTO => Ok(Mode::Auto),
        LC_CHECK_REFRESH => Ok(Mode::Refresh),
        LC_CHECK_OFFLINE => Ok(Mode::Offline),
        other => Err(Failure::invalid(format!(
            "mode {other} is not a check mode: use LC_CHECK_AUTO (0), LC_CHECK_REFRESH (1) or LC_CHECK_OFFLINE (2)"
        ))),
    }
}

/// One call on the client.
#[derive(Debug)]
pub(crate) enum Call {
    Check(Mode),
    Activate {
        key: String,
        name: Option<String>,
        /// The seat id of a machine whose seat this activation frees first.
        replace: Option<String>,
    },
    Deactivate,
    DeactivateMachine(String),
    /// The seats of the stored license, or of this key when one is given.
    Machines(Option<String>),
    /// A floating license's seat for this run, kept in the background (see `seats`).
    Checkout {
        key: String,
        name: Option<String>,
        borrow_days: Option<u32>,
    },
    Checkin,
    StartTrial,
    /// Installs an offline response code (local files only).
    InstallOfflineResponse(String),
}

/// A call whose answer is an offline code to carry by hand, not a verdict. Local files
/// only: no network, no runtime.
#[derive(Debug)]
pub(crate) enum CodeCall {
    /// A request code for this license key.
    OfflineRequest(String),
    /// Removes the key and the lease; the signed deactivation code.
    DeactivateOffline,
}

impl CodeCall {
    fn execute(self, client: &LicenseClient) -> Result<String, Error> {
        match self {
            Self::OfflineRequest(key) => client.offline_request(&key),
            Self::DeactivateOffline => client.deactivate_offline(),
        }
    }
}

impl Call {
    /// Runs the call to its end on this thread.
    fn execute(self, client: &LicenseClient, runtime: &Runtime) -> Result<Verdict, Error> {
        match self {
            // Local reads and writes only: no runtime needed.
            Self::Check(Mode::Offline) => Ok(client.check_offline()),
            Self::InstallOfflineResponse(code) => client.install_offline_response(&code),
            online => runtime.block_on(online.run(client)),
        }
    }

    async fn run(self, client: &LicenseClient) -> Result<Verdict, Error> {
        match self {
            Self::Check(Mode::Auto) => Ok(client.check().await),
            Self::Check(Mode::Refresh) => Ok(client.refresh().await),
            Self::Check(Mode::Offline) => Ok(client.check_offline()),
            Self::Activate {
                key,
                name,
                replace: None,
            } => client.activate_named(&key, name.as_deref()).await,
            Self::Activate {
                key,
                name,
                replace: Some(id),
            } => {
                client
                    .activate_replacing_named(&key, &id, name.as_deref())
                    .await
            }
            Self::Deactivate => client.deactivate().await,
            Self::DeactivateMachine(id) => client.deactivate_machine(&id).await,
            Self::Machines(None) => client.machines().await,
            Self::Machines(Some(key)) => client.machines_for_key(&key).await,
            Self::InstallOfflineResponse(code) => client.install_offline_response(&code),
            Self::Checkout {
                key,
                name,
                borrow_days,
            } => {
                let how = Checkout {
                    machine_name: name.as_deref(),
                    borrow_days,
                };
                client.checkout(&key, how).await
            }
            Self::Checkin => client.checkin().await,
            Self::StartTrial => client.start_trial().await,
        }
    }

    /// Runs the call, and starts or stops the background renewal of a floating seat
    /// around it: a licensed checkout starts it, a checkin stops it first.
    fn execute_keeping(
        self,
        client: &LicenseClient,
        runtime: &Runtime,
        seats: &Arc<SeatWatch>,
    ) -> Result<Verdict, Error> {
        let checkout = matches!(self, Self::Checkout { .. });
        if matches!(self, Self::Checkin) {
            seats.stop();
        }
        let result = self.execute(client, runtime);
        if let (true, Ok(verdict)) = (checkout, &result) {
            seats.keep(client, runtime, verdict);
        }
        result
    }
}

/// A verified refusal is a verdict like any other, and crosses as one: the app reads
/// its code. Every other failure is a status and a message.
fn verdict_json(result: Result<Verdict, Error>) -> Result<String, Failure> {
    match result {
        Ok(verdict) => Ok(verdict.to_json().to_string()),
        Err(e) if e.kind() == ErrorKind::Refused && e.verdict().is_some() => Ok(e
            .verdict()
            .map(Verdict::to_json)
            .unwrap_or_default()
            .to_string()),
        Err(e) => Err(e.into()),
    }
}

/// A client and the runtime its calls run on.
pub(crate) struct Handle {
    client: LicenseClient,
    runtime: Arc<Runtime>,
    seats: Arc<SeatWatch>,
}

impl Handle {
    pub(crate) fn new(client: LicenseClient) -> Result<Self, Failure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("license-client")
            .enable_all()
            .build()
            .map_err(|e| {
                Failure::new(
                    lc_status::LC_INTERNAL,
                    format!("the async runtime could not start: {e}"),
                )
            })?;
        Ok(Self {
            client,
            runtime: Arc::new(runtime),
            seats: Arc::default(),
        })
    }

    /// The handle's seat-lost callback (`None` unregisters it).
    pub(crate) fn on_seat_lost(&self, callback: Option<SeatLost>, userdata: *mut c_void) {
        self.seats
            .set_callback(callback.map(|c| (c, UserData(userdata))));
    }

    /// Runs `call` on the caller's thread: the verdict's JSON.
    pub(crate) fn run(&self, call: Call) -> Result<String, Failure> {
        verdict_json(call.execute_keeping(&self.client, &self.runtime, &self.seats))
    }

    /// Runs `call` on the caller's thread: the offline code.
    pub(crate) fn code(&self, call: CodeCall) -> Result<String, Failure> {
        call.execute(&self.client).map_err(Failure::from)
    }

    /// Runs `call` on a new thread and hands the result to `callback`. The thread
    /// holds its own clones of the client and the runtime, so freeing the handle
    /// meanwhile is fine.
    pub(crate) fn spawn(
        &self,
        call: Call,
        callback: Callback,
        userdata: *mut c_void,
    ) -> Result<(), Failure> {
        let client = self.client.clone();
        let runtime = Arc::clone(&self.runtime);
        let seats = Arc::clone(&self.seats);
        let userdata = UserData(userdata);
        std::thread::Builder::new()
            .name("license-client-call".into())
            .spawn(move || {
                let result =
                    boundary::run(|| verdict_json(call.execute_keeping(&client, &runtime, &seats)));
                drop(runtime);
                deliver(callback, userdata, result);
            })
            .map(drop)
            .map_err(|e| {
                Failure::new(
                    lc_status::LC_INTERNAL,
                    format!("the check could not start a thread: {e}"),
                )
            })
    }
}

/// The caller's `userdata`, carried to the thread that calls back.
#[derive(Clone, Copy)]
pub(crate) struct UserData(*mut c_void);

// SAFETY: the pointer is never dereferenced here, only handed back to the caller's
// callback, and lc_check_async's contract says the callback may be called with it from
// another thread.
unsafe impl Send for UserData {}

/// A callback known not to be NULL.
pub(crate) type Callback =
    unsafe extern "C" fn(*mut c_void, lc_status, *const c_char, *const c_char);

fn deliver(callback: Callback, userdata: UserData, result: Result<String, Failure>) {
    let (status, json, error) = match result {
        Ok(json) => (lc_status::LC_OK, Some(c_string_lossy(&json)), None),
        Err(failure) => (failure.status, None, Some(c_string_lossy(&failure.message))),
    };
    let ptr = |s: &Option<std::ffi::CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: `callback` may be called from this thread with `userdata`
    // (lc_check_async's contract); the strings live until after it returns.
    unsafe { callback(userdata.0, status, ptr(&json), ptr(&error)) };
}

/// Called once, on a thread of the library's, when the floating seat a handle checked
/// out is lost: `code` (such as `"DEACTIVATED"`) and `message` are valid only during
/// the call.
#[allow(non_camel_case_types)]
pub type lc_seat_lost_callback = Option<SeatLost>;

/// A seat-lost callback known not to be NULL.
pub(crate) type SeatLost = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char);

/// A handle's floating seat: the background renewal of the last licensed checkout, and
/// the callback that hears of its loss. Per handle, never global.
#[derive(Default)]
pub(crate) struct SeatWatch {
    callback: std::sync::Mutex<Option<(SeatLost, UserData)>>,
    keeper: std::sync::Mutex<Option<client::SeatKeeper>>,
}

impl SeatWatch {
    fn set_callback(&self, callback: Option<(SeatLost, UserData)>) {
        *self.callback.lock().unwrap_or_else(|e| e.into_inner()) = callback;
    }

    /// Renews the seat `verdict` holds (when it holds one) in the background, and calls
    /// the callback when it is lost. A checkout again (a renewal by the app itself)
    /// replaces the renewal of the same seat without returning it.
    fn keep(self: &Arc<Self>, client: &LicenseClient, runtime: &Runtime, verdict: &Verdict) {
        if !verdict.licensed {
            return;
        }
        let _inside = runtime.enter();
        let Ok(keeper) = client.keep_seat(verdict) else {
            return;
        };
        let mut state = keeper.watch();
        let watch = Arc::clone(self);
        runtime.spawn(async move {
            while state.changed().await.is_ok() {
                let now = state.borrow_and_update().clone();
                if let client::SeatState::Lost { code, message } = now {
                    watch.lost(code.as_str(), &message);
                    return;
                }
            }
        });
        let previous = self
            .keeper
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(keeper);
        if let Some(previous) = previous {
            previous.stop();
        }
    }

    /// Stops the renewal (a checkin returns the seat itself).
    fn stop(&self) {
        let keeper = self.keeper.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(keeper) = keeper {
            keeper.stop();
        }
    }

    fn lost(&self, code: &str, message: &str) {
        let callback = *self.callback.lock().unwrap_or_else(|e| e.into_inner());
        let Some((callback, userdata)) = callback else {
            return;
        };
        let (code, message) = (c_string_lossy(code), c_string_lossy(message));
        // SAFETY: lc_set_seat_lost_callback's contract: the callback may be called from
        // a thread of the library's with `userdata`; the strings live until it returns.
        unsafe { callback(userdata.0, code.as_ptr(), message.as_ptr()) };
    }
}

impl Drop for SeatWatch {
    /// Freeing the handle stops the renewal; the seat lapses at the end of its lease
    /// (`lc_checkin` returns it at once).
    fn drop(&mut self) {
        self.stop();
    }
}
