//! The floating-seat and trial calls through the C ABI, as a C host makes them, against
//! the real broker and ORDS emulator on loopback (on a thread and runtime of their own,
//! as a separate server would be). Customer 7 of the emulator's seed is `FLOATING` with
//! 2 seats; the broker's floating lease is 2 s here, so the handle's background renewal
//! runs in real time.

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::mpsc;
use std::time::Duration;

use crate::{
    lc_call, lc_checkin, lc_checkout, lc_client, lc_client_free, lc_client_new,
    lc_set_seat_lost_callback, lc_start_trial, lc_status, lc_string_free,
};

/// What the test needs of the running stack.
struct Running {
    broker_url: String,
    trusted_keys: String,
    key: String,
    emulator: ords_emulator::Emulator,
    stop: mpsc::Sender<()>,
}

fn start_stack() -> Running {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let stack = runtime
            .block_on(license_testkit::Stack::start(&[
                ("LICENSE_BROKER_FLOATING_LEASE_SECS", "2"),
                ("LICENSE_BROKER_RATE_PER_KEY", "0"),
                ("LICENSE_BROKER_ACTIVATIONS_PER_HOUR", "0"),
            ]))
            .expect("the stack starts");
        let running = Running {
            broker_url: stack.url().to_owned(),
            trusted_keys: stack.trusted().to_text(),
            key: stack.issue_key("7").expect("a key"),
            emulator: stack.emulator().emulator.clone(),
            stop: mpsc::channel().0,
        };
        ready_tx.send(running).expect("the test waits");
        let _ = stopped.recv();
        drop(stack);
    });
    let mut running = ready_rx.recv().expect("the stack thread");
    running.stop = stop;
    running
}

fn client(running: &Running, machine: &str, dir: &std::path::Path) -> *mut lc_client {
    let config = serde_json::json!({
        "broker_url": running.broker_url,
        "app_id": "com.example.cad",
        "trusted_keys": running.trusted_keys,
        "product": "desktop-pro",
        "data_dir": dir.join(machine),
        "key_store": "memory",
        "machine_id": machine,
    })
    .to_string();
    let config = CString::new(config).unwrap();
    let mut out = std::ptr::null_mut();
    // SAFETY: a NUL-terminated config and a writable out-parameter.
    let status = unsafe { lc_client_new(config.as_ptr(), &mut out) };
    assert_eq!(status, lc_status::LC_OK);
    out
}

/// This thread's last error, for a failed assertion's message.
fn last_error() -> String {
    let error = crate::lc_last_error();
    if error.is_null() {
        return String::new();
    }
    // SAFETY: a non-null last error is a NUL-terminated string the library owns.
    unsafe { CStr::from_ptr(error) }
        .to_string_lossy()
        .into_owned()
}

/// The verdict JSON a call wrote, freed here.
fn taken(status: lc_status, out: *mut c_char) -> serde_json::Value {
    assert_eq!(status, lc_status::LC_OK, "{}", last_error());
    // SAFETY: on LC_OK the library wrote a NUL-terminated string it owns.
    let text = unsafe { CStr::from_ptr(out) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: a string from this library, freed once.
    unsafe { lc_string_free(out) };
    serde_json::from_str(&text).expect("verdict JSON")
}

fn checkout(client: *mut lc_client, key: &CStr, borrow_days: u32) -> serde_json::Value {
    let mut out = std::ptr::null_mut();
    // SAFETY: a live client, NUL-terminated strings (the name may be NULL), writable out.
    let status = unsafe {
        lc_checkout(
            client,
            key.as_ptr(),
            c"a workstation".as_ptr(),
            borrow_days,
            &mut out,
        )
    };
    taken(status, out)
}

/// The seat-lost callback: sends the code and message to the test's channel.
unsafe extern "C" fn on_lost(userdata: *mut c_void, code: *const c_char, message: *const c_char) {
    // SAFETY: `userdata` is the test's `Sender`, alive until the handle is freed; the
    // strings are valid during this call.
    let (sender, code, message) = unsafe {
        (
            &*(userdata as *const mpsc::Sender<(String, String)>),
            CStr::from_ptr(code).to_string_lossy().into_owned(),
            CStr::from_ptr(message).to_string_lossy().into_owned(),
        )
    };
    let _ = sender.send((code, message));
}

#[test]
fn a_checkout_is_renewed_by_the_handle_and_its_loss_reaches_the_callback() {
    let running = start_stack();
    let dir = tempfile::tempdir().unwrap();
    let key = CString::new(running.key.clone()).unwrap();
    let a = client(&running, "machine-a", dir.path());
    let (lost_tx, lost_rx) = mpsc::channel::<(String, String)>();
    let userdata = &lost_tx as *const mpsc::Sender<(String, String)> as *mut c_void;
    // SAFETY: a live client; the callback may run on another thread with `userdata`,
    // which outlives the handle (freed below, before `lost_tx` drops).
    let status = unsafe { lc_set_seat_lost_callback(a, Some(on_lost), userdata) };
    assert_eq!(status, lc_status::LC_OK);
    let seat = checkout(a, &key, 0);
    assert_eq!(
        (seat["licensed"].as_bool(), seat["code"].as_str()),
        (Some(true), Some("VALID")),
        "{seat}"
    );

    // Three leases later the seat is still held (renewed in the background): the
    // other seat goes to B, and C finds none.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lost_rx.try_recv().is_err(),
        "the seat was lost while renewed"
    );
    let b = client(&running, "machine-b", dir.path());
    let c = client(&running, "machine-c", dir.path());
    assert_eq!(checkout(b, &key, 0)["code"], "VALID");
    let full = checkout(c, &key, 0);
    assert_eq!(full["code"], "SEATS_IN_USE", "{full}");

    // The database's clock runs the lease out: the callback hears of the loss.
    running.emulator.advance_clock(time::Duration::seconds(65));
    let (code, message) = lost_rx
        .recv_timeout(Duration::from_secs(6))
        .expect("the loss is reported");
    assert_eq!(code, "DEACTIVATED", "{message}");

    // B returns its seat; C (which holds no key) starts a trial, through lc_call too.
    let mut out = std::ptr::null_mut();
    // SAFETY: a live client and a writable out-parameter.
    let returned = taken(unsafe { lc_checkin(b, &mut out) }, out);
    assert_eq!(returned["code"], "DEACTIVATED", "{returned}");
    let call = c"{\"op\":\"start_trial\"}";
    let mut out = std::ptr::null_mut();
    // SAFETY: a live client, a NUL-terminated call, a writable out-parameter.
    let outcome = taken(unsafe { lc_call(c, call.as_ptr(), &mut out) }, out);
    assert_eq!(outcome["verdict"]["code"], "TRIAL", "{outcome}");
    let mut out = std::ptr::null_mut();
    // SAFETY: as above.
    let again = taken(unsafe { lc_start_trial(c, &mut out) }, out);
    assert_eq!(again["expires_at"], outcome["verdict"]["expires_at"]);
    for handle in [a, b, c] {
        // SAFETY: each handle is live and freed once.
        unsafe { lc_client_free(handle) };
    }
    drop(lost_tx);
    let _ = running.stop.send(());
}
