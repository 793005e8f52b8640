//! The C ABI of `license-client`: the start-up license check for an app written in C,
//! C++, C#, Python, Node/Electron or anything else that can call C.
//!
//! # Shape
//!
//! Opaque handles with `_new`/`_free`; every call returns an [`lc_status`] and writes
//! its out-parameter only on `LC_OK`; the message of a failure is in
//! [`lc_last_error`], per thread; strings in are UTF-8, strings out are freed with
//! [`lc_string_free`]. A verdict crosses as the JSON object that `license-check --json`
//! prints, so every language reads the same members. Every entry point is behind a
//! panic boundary (a panic is `LC_INTERNAL`, never an unwind into the host), checks
//! its pointers for NULL, and is safe to call from any thread on a shared handle. The
//! library keeps no global state: a handle owns its client and its async runtime, and
//! the last error is the calling thread's. This follows rustls-ffi's conventions
//! (result enum, out-parameters, `void *userdata` on callbacks).
//!
//! - `status`: `lc_status`, numbered as the client's error kinds.
//! - `boundary`: the panic boundary and the thread's last error.
//! - `config`: the `config_json` of `lc_client_new`.
//! - `strings`: C strings in and out.
//! - `calls`: what each call does with the client, and the async form's thread.
//! - `call_json`: `lc_call`, one call as JSON with its outcome as JSON.

mod boundary;
mod call_json;
mod calls;
mod config;
#[cfg(test)]
mod floating_tests;
mod status;
mod strings;

use std::ffi::{c_char, c_void};

use crate::boundary::{call, Failure};
use crate::call_json::{Answer, Parsed};
pub use crate::calls::{lc_check_mode, lc_seat_lost_callback, lc_verdict_callback};
use crate::calls::{Call, CodeCall, Handle};
pub use crate::status::lc_status;
use crate::strings::{optional_str, required_str, write_out};

/// A license client. Create it with [`lc_client_new`], free it with [`lc_client_free`];
/// share it between threads freely.
#[allow(non_camel_case_types)]
pub struct lc_client {
    handle: Handle,
}

/// Creates a client from `config_json`, a JSON object with the members `broker_url`,
/// `app_id` and `trusted_keys` (`kid:base64url[,…]`), and optionally `app_version`,
/// `product`, `build_time` (unix seconds), `data_dir`, `key_store` (`"os"`, `"file"`,
/// `"os_else_file"` or `"memory"`), `machine_id` and `timeout_ms`. An unknown member is
/// `LC_INVALID_ARGUMENT`. On `LC_OK`, `*out` is a client to free with `lc_client_free`.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_client_new(
    config_json: *const c_char,
    out: *mut *mut lc_client,
) -> lc_status {
    call(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string (this function's contract).
        let json = unsafe { required_str(config_json, "config_json") }?;
        let out = non_null(out, "out")?;
        let handle = Handle::new(config::client_from_json(json)?)?;
        let client = Box::into_raw(Box::new(lc_client { handle }));
        // SAFETY: `out` is non-null and writable (this function's contract).
        unsafe { out.write(client) };
        Ok(())
    })
}

/// Frees a client from `lc_client_new`. NULL is ignored. Using the client afterwards,
/// or freeing it twice, is the caller's bug. Async calls already started finish and
/// call back first: they hold the client until then.
///
/// # Safety
/// `client` is NULL or a client from `lc_client_new` not yet freed, and no other thread
/// is inside a blocking call on it.
#[no_mangle]
pub unsafe extern "C" fn lc_client_free(client: *mut lc_client) {
    // The status is dropped: freeing has nothing to report, and a panic in a
    // destructor must still not unwind into the host.
    let _ = call(|| {
        if !client.is_null() {
            // SAFETY: a non-null `client` came from Box::into_raw in lc_client_new and
            // is freed once (this function's contract).
            drop(unsafe { Box::from_raw(client) });
        }
        Ok(())
    });
}

/// The start-up check. `LC_CHECK_AUTO` answers from a verified lease until its signed
/// recheck time and asks the broker otherwise (falling back to the lease); `REFRESH`
/// always asks the broker first; `OFFLINE` never touches the network. On `LC_OK`,
/// `*verdict_json` is the verdict (licensed or not): free it with `lc_string_free`.
/// Blocks for at most the configured timeout on the network (reading the OS keyring
/// comes first and may wait for the user to unlock it); from a UI thread, use
/// `lc_check_async`.
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_check(
    client: *mut lc_client,
    mode: lc_check_mode,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { blocking(client, verdict_json, || Ok(Call::Check(calls::mode(mode)?))) }
}

/// Activates the license `license_key` on this machine (claims a seat where the license
/// limits machines), naming the machine `machine_name` in machine lists (NULL: no
/// name). `LC_OK` with a verdict: `VALID` stored the key and the lease; a deny such as
/// `MACHINE_LIMIT` (its `machines` member lists the seats) stored nothing.
///
/// # Safety
/// `client` is NULL or a live client; the strings are NULL or NUL-terminated;
/// `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_activate(
    client: *mut lc_client,
    license_key: *const c_char,
    machine_name: *const c_char,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            Ok(Call::Activate {
                key: required_str(license_key, "license_key")?.to_owned(),
                name: optional_str(machine_name, "machine_name")?.map(str::to_owned),
                replace: None,
            })
        })
    }
}

/// The way out of `MACHINE_LIMIT` with only the key in hand: frees the seat of machine
/// `machine_id` (the 12-digit id the `MACHINE_LIMIT` verdict's `machines` member lists;
/// counted against the license's release budget), then activates this machine as
/// [`lc_activate`] does. This machine may hold no key yet.
///
/// # Safety
/// `client` is NULL or a live client; the strings are NULL or NUL-terminated
/// (`machine_name` may be NULL); `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_activate_replacing(
    client: *mut lc_client,
    license_key: *const c_char,
    machine_id: *const c_char,
    machine_name: *const c_char,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            Ok(Call::Activate {
                key: required_str(license_key, "license_key")?.to_owned(),
                name: optional_str(machine_name, "machine_name")?.map(str::to_owned),
                replace: Some(required_str(machine_id, "machine_id")?.to_owned()),
            })
        })
    }
}

/// Frees this machine's seat online, then removes the stored key and the lease. `LC_OK`
/// with the verdict: `DEACTIVATED` when done; another verified answer (such as
/// `REVOKED`) changed nothing but the lease. When the broker cannot be reached nothing
/// changes and the status says why.
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_deactivate(
    client: *mut lc_client,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { blocking(client, verdict_json, || Ok(Call::Deactivate)) }
}

/// Frees the seat of another machine (a dead laptop) by the 12-digit id that
/// `MACHINE_LIMIT` and `lc_machines` show; this machine keeps its own seat.
///
/// # Safety
/// `client` is NULL or a live client; `machine_id` is NULL or NUL-terminated;
/// `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_deactivate_machine(
    client: *mut lc_client,
    machine_id: *const c_char,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            let id = required_str(machine_id, "machine_id")?;
            Ok(Call::DeactivateMachine(id.to_owned()))
        })
    }
}

/// Lists the machines holding the stored license's seats (the verdict's `machines`
/// member, the asking one marked `current`; null for a license without a limit).
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_machines(
    client: *mut lc_client,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { blocking(client, verdict_json, || Ok(Call::Machines(None))) }
}

/// Lists the machines holding the seats of `license_key`, a key this machine need not
/// have stored (to pick one to replace on a new machine).
///
/// # Safety
/// `client` is NULL or a live client; `license_key` is NULL or NUL-terminated;
/// `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_machines_for_key(
    client: *mut lc_client,
    license_key: *const c_char,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            let key = required_str(license_key, "license_key")?;
            Ok(Call::Machines(Some(key.to_owned())))
        })
    }
}

/// Offline activation, step 1, with no network: writes to `*request_code` a request
/// code for `license_key` (letters, digits and `-`) to carry to the license server's
/// `/offline` page, and keeps the pending request in the data directory. Free it with
/// `lc_string_free`.
///
/// # Safety
/// `client` is NULL or a live client; `license_key` is NULL or NUL-terminated;
/// `request_code` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_offline_request(
    client: *mut lc_client,
    license_key: *const c_char,
    request_code: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        code_out(client, request_code, || {
            let key = required_str(license_key, "license_key")?;
            Ok(CodeCall::OfflineRequest(key.to_owned()))
        })
    }
}

/// Offline activation, step 2: installs the license server's response code (through
/// the same verification as an online verdict). `LC_OK` with the verdict (licensed, or
/// a verified deny such as `MACHINE_LIMIT`); `LC_INVALID_ARGUMENT` when the code is not
/// a response code or does not answer this machine's pending request.
///
/// # Safety
/// `client` is NULL or a live client; `response_code` is NULL or NUL-terminated;
/// `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_install_offline_response(
    client: *mut lc_client,
    response_code: *const c_char,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            let code = required_str(response_code, "response_code")?;
            Ok(Call::InstallOfflineResponse(code.to_owned()))
        })
    }
}

/// Offline deactivation (a machine activated offline): removes the key and the lease
/// and writes to `*deactivation_code` a code signed by this machine that frees its seat
/// at the license server's `/offline` page. Free it with `lc_string_free`.
///
/// # Safety
/// `client` is NULL or a live client; `deactivation_code` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_deactivate_offline(
    client: *mut lc_client,
    deactivation_code: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        code_out(client, deactivation_code, || {
            Ok(CodeCall::DeactivateOffline)
        })
    }
}

/// [`lc_check`] without blocking the caller: returns at once (`LC_OK` when the check
/// started) and later calls `callback(userdata, status, verdict_json, error)` once, on a
/// thread of the library's. `verdict_json` (on `LC_OK`) and `error` (otherwise) are
/// valid only during the callback: copy what you keep. The callback must not unwind
/// (no C++ exception may leave it).
///
/// # Safety
/// `client` is NULL or a live client; `callback` is NULL or a function that may be
/// called from another thread with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn lc_check_async(
    client: *mut lc_client,
    mode: lc_check_mode,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        asynchronous(client, callback, userdata, || {
            Ok(Call::Check(calls::mode(mode)?))
        })
    }
}

/// [`lc_activate`] without blocking the caller, calling back as [`lc_check_async`] does.
///
/// # Safety
/// As for `lc_activate` and `lc_check_async`; the strings are copied before this returns.
#[no_mangle]
pub unsafe extern "C" fn lc_activate_async(
    client: *mut lc_client,
    license_key: *const c_char,
    machine_name: *const c_char,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        asynchronous(client, callback, userdata, || {
            Ok(Call::Activate {
                key: required_str(license_key, "license_key")?.to_owned(),
                name: optional_str(machine_name, "machine_name")?.map(str::to_owned),
                replace: None,
            })
        })
    }
}

/// [`lc_deactivate`] without blocking the caller, calling back as [`lc_check_async`]
/// does.
///
/// # Safety
/// As for `lc_check_async`.
#[no_mangle]
pub unsafe extern "C" fn lc_deactivate_async(
    client: *mut lc_client,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { asynchronous(client, callback, userdata, || Ok(Call::Deactivate)) }
}

/// [`lc_deactivate_machine`] without blocking the caller, calling back as
/// [`lc_check_async`] does.
///
/// # Safety
/// As for `lc_deactivate_machine` and `lc_check_async`; `machine_id` is copied before
/// this returns.
#[no_mangle]
pub unsafe extern "C" fn lc_deactivate_machine_async(
    client: *mut lc_client,
    machine_id: *const c_char,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        asynchronous(client, callback, userdata, || {
            let id = required_str(machine_id, "machine_id")?;
            Ok(Call::DeactivateMachine(id.to_owned()))
        })
    }
}

/// [`lc_machines`] without blocking the caller, calling back as [`lc_check_async`] does.
///
/// # Safety
/// As for `lc_check_async`.
#[no_mangle]
pub unsafe extern "C" fn lc_machines_async(
    client: *mut lc_client,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { asynchronous(client, callback, userdata, || Ok(Call::Machines(None))) }
}

/// Checks a seat of a floating license out for this run of the app, naming the machine
/// `machine_name` in the list of holders (NULL: no name); `borrow_days` above 0 holds
/// it that many days for offline use (capped by the license). `LC_OK` with a verdict:
/// `VALID` stored the key and the lease, and the handle renews the seat in the
/// background until `lc_checkin`, `lc_client_free` or its loss (reported to the
/// callback of `lc_set_seat_lost_callback`); `SEATS_IN_USE` (its `machines` member lists
/// the holders and since when) stored nothing; `NOT_FLOATING`: activate instead.
///
/// # Safety
/// `client` is NULL or a live client; the strings are NULL or NUL-terminated;
/// `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_checkout(
    client: *mut lc_client,
    license_key: *const c_char,
    machine_name: *const c_char,
    borrow_days: u32,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe {
        blocking(client, verdict_json, || {
            Ok(Call::Checkout {
                key: required_str(license_key, "license_key")?.to_owned(),
                name: optional_str(machine_name, "machine_name")?.map(str::to_owned),
                borrow_days: (borrow_days > 0).then_some(borrow_days),
            })
        })
    }
}

/// Stops the background renewal and returns this machine's floating seat (`DEACTIVATED`
/// once it is free), removing the lease; the key stays for the next checkout.
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_checkin(
    client: *mut lc_client,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { blocking(client, verdict_json, || Ok(Call::Checkin)) }
}

/// Starts this machine's trial of the client's `product` (or finds the one it started):
/// `TRIAL` until the verdict's `expires_at`, then `TRIAL_EXPIRED`; `NO_TRIAL` for a
/// product without one. A client without a `product` is `LC_INVALID_ARGUMENT`.
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_start_trial(
    client: *mut lc_client,
    verdict_json: *mut *mut c_char,
) -> lc_status {
    // SAFETY: passed on from this function's contract.
    unsafe { blocking(client, verdict_json, || Ok(Call::StartTrial)) }
}

/// Registers `callback` for this handle (NULL unregisters): it is called once, on a
/// thread of the library's, with `userdata`, the code (such as `"DEACTIVATED"`) and the
/// message, when the floating seat `lc_checkout` took is lost (freed by an
/// administrator, lapsed while the machine slept, or the license no longer licenses
/// it); the renewal has then stopped. The strings are valid only during the call; the
/// callback must not unwind and should return quickly (post a message to the UI).
///
/// # Safety
/// `client` is NULL or a live client; `callback` is NULL or a function that may be
/// called from another thread with `userdata` until the handle is freed or another
/// callback is registered.
#[no_mangle]
pub unsafe extern "C" fn lc_set_seat_lost_callback(
    client: *mut lc_client,
    callback: lc_seat_lost_callback,
    userdata: *mut c_void,
) -> lc_status {
    call(|| {
        // SAFETY: `client` is NULL or a live client (this function's contract).
        let handle = unsafe { handle(client) }?;
        handle.on_seat_lost(callback, userdata);
        Ok(())
    })
}

/// One call described by `call_json` (`{"op": "check", "mode": "auto"}`, `{"op":
/// "activate", "license_key": …, "machine_name": …}`, `{"op": "deactivate"}`, `{"op":
/// "deactivate_machine", "machine_id": …}`, `{"op": "machines"}`, `{"op":
/// "offline_request", "license_key": …}`, `{"op": "install_offline_response",
/// "response": …}`, `{"op": "deactivate_offline"}`, `{"op": "checkout", "license_key":
/// …, "machine_name": …, "borrow_days": …}`, `{"op": "checkin"}`, `{"op":
/// "start_trial"}`), for hosts whose
/// foreign calls may finish on another thread than they started (worker pools), where
/// `lc_last_error` cannot be read: `*outcome_json` is written whatever the status (free
/// it with `lc_string_free`): `{"status": 0, "verdict": {…}}`, `{"status": 0, "code":
/// "…"}` (an offline request or deactivation code) or `{"status": n, "error": "…"}`. Only a NULL `outcome_json` leaves nothing written (`LC_INVALID_ARGUMENT`).
///
/// # Safety
/// `client` is NULL or a live client; `call_json` is NULL or NUL-terminated;
/// `outcome_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lc_call(
    client: *mut lc_client,
    call_json: *const c_char,
    outcome_json: *mut *mut c_char,
) -> lc_status {
    let Ok(out) = non_null(outcome_json, "outcome_json") else {
        return call(|| Err(Failure::invalid("outcome_json is NULL")));
    };
    let result = boundary::run(|| {
        // SAFETY: `client` is NULL or a live client (this function's contract).
        let handle = unsafe { handle(client) }?;
        // SAFETY: `call_json` is NULL or NUL-terminated (this function's contract).
        let json = unsafe { required_str(call_json, "call_json") }?;
        match call_json::parse(json)? {
            Parsed::Verdict(call) => handle.run(call).map(Answer::Verdict),
            Parsed::Code(call) => handle.code(call).map(Answer::Code),
        }
    });
    let text = call_json::outcome(&result);
    // SAFETY: `out` is non-null and writable (this function's contract).
    unsafe { write_out(out, &text) };
    call(|| result.map(drop))
}

/// Frees a string this library returned. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn lc_string_free(s: *mut c_char) {
    let _ = call(|| {
        // SAFETY: `s` is NULL or came from write_out's CString::into_raw (this
        // function's contract).
        unsafe { strings::free(s) };
        Ok(())
    });
}

/// This thread's last error message, or NULL when the last call succeeded. Valid until
/// the next call into this library on this thread; do not free it.
#[no_mangle]
pub extern "C" fn lc_last_error() -> *const c_char {
    boundary::last_error()
}

/// The name of `status`, e.g. `"LC_RATE_LIMITED"`, or `"LC_UNKNOWN_STATUS"` for a number
/// that is none. A static string; do not free it.
#[no_mangle]
pub extern "C" fn lc_status_name(status: u32) -> *const c_char {
    lc_status::from_number(status)
        .map_or(c"LC_UNKNOWN_STATUS", lc_status::name)
        .as_ptr()
}

/// The library's version, e.g. `"0.1.0"`. A static string; do not free it.
#[no_mangle]
pub extern "C" fn lc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The shape of every blocking call: the client, the call that `make` reads from the
/// arguments (strings are copied before anything runs), and the verdict written to
/// `verdict_json`, all behind the panic boundary.
///
/// # Safety
/// `client` is NULL or a live client; `verdict_json` is NULL or writable; the pointers
/// `make` reads are NULL or NUL-terminated strings.
unsafe fn blocking(
    client: *mut lc_client,
    verdict_json: *mut *mut c_char,
    make: impl FnOnce() -> Result<Call, Failure>,
) -> lc_status {
    call(|| {
        // SAFETY: `client` is NULL or a live client (this function's contract).
        let handle = unsafe { handle(client) }?;
        let out = non_null(verdict_json, "verdict_json")?;
        let json = handle.run(make()?)?;
        // SAFETY: `out` is non-null and writable (this function's contract).
        unsafe { write_out(out, &json) };
        Ok(())
    })
}

/// [`blocking`] for a call answered by an offline code: the code written to `out`.
///
/// # Safety
/// `client` is NULL or a live client; `out` is NULL or writable; the pointers `make`
/// reads are NULL or NUL-terminated strings.
unsafe fn code_out(
    client: *mut lc_client,
    out: *mut *mut c_char,
    make: impl FnOnce() -> Result<CodeCall, Failure>,
) -> lc_status {
    call(|| {
        // SAFETY: `client` is NULL or a live client (this function's contract).
        let handle = unsafe { handle(client) }?;
        let out = non_null(out, "the code's out-parameter")?;
        let code = handle.code(make()?)?;
        // SAFETY: `out` is non-null and writable (this function's contract).
        unsafe { write_out(out, &code) };
        Ok(())
    })
}

/// The shape of every async call: the call that `make` reads from the arguments,
/// started on a thread of its own that hands the outcome to `callback`.
///
/// # Safety
/// `client` is NULL or a live client; `callback` is NULL or may be called from another
/// thread with `userdata`; the pointers `make` reads are NULL or NUL-terminated strings.
unsafe fn asynchronous(
    client: *mut lc_client,
    callback: lc_verdict_callback,
    userdata: *mut c_void,
    make: impl FnOnce() -> Result<Call, Failure>,
) -> lc_status {
    call(|| {
        // SAFETY: `client` is NULL or a live client (this function's contract).
        let handle = unsafe { handle(client) }?;
        let callback = callback.ok_or_else(|| Failure::invalid("callback is NULL"))?;
        handle.spawn(make()?, callback, userdata)
    })
}

/// The client behind `client`, or `LC_INVALID_ARGUMENT` for NULL.
///
/// # Safety
/// `client` is NULL or points at a live `lc_client`.
unsafe fn handle<'a>(client: *mut lc_client) -> Result<&'a Handle, Failure> {
    // SAFETY: a non-null `client` points at a live lc_client (this function's
    // contract); it is only read through a shared reference.
    unsafe { client.as_ref() }
        .map(|c| &c.handle)
        .ok_or_else(|| Failure::invalid("client is NULL"))
}

fn non_null<T>(ptr: *mut T, name: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::invalid(format!("{name} is NULL")))
    } else {
        Ok(ptr)
    }
}

#[cfg(test)]
mod header_tests {
    use std::path::Path;

    /// The committed header is what the pinned cbindgen writes from this source today.
    #[test]
    fn the_committed_header_is_fresh() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen reads the crate")
            .write(&mut generated);
        let path = crate_dir.join("include/license_client.h");
        if std::env::var_os("LC_UPDATE_HEADER").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: regenerate it with `LC_UPDATE_HEADER=1 cargo test -p license-client-ffi header` and commit it",
            path.display()
        );
    }
}
