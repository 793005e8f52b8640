//! The panic boundary and the thread's last error: every entry point runs its body
//! through [`call`], so no panic unwinds into the host (that would abort it, or worse),
//! and every failure leaves a message for `lc_last_error()` on the calling thread.
//! The message is the library's only state outside a handle, and it is per thread.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::lc_status;

/// A failed call: its status and a message for a person.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: lc_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: lc_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(lc_status::LC_INVALID_ARGUMENT, message)
    }
}

impl From<client::Error> for Failure {
    fn from(error: client::Error) -> Self {
        Self::new(error.kind().into(), error.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Runs `body` behind the panic boundary and turns its result into a status: the
/// message of a failure (or of a caught panic) becomes this thread's last error; a
/// success clears it.
pub(crate) fn call(body: impl FnOnce() -> Result<(), Failure>) -> lc_status {
    match run(body) {
        Ok(()) => {
            set_last_error(None);
            lc_status::LC_OK
        }
        Err(failure) => {
            let status = failure.status;
            set_last_error(Some(failure.message));
            status
        }
    }
}

/// `body` with a caught panic turned into an `LC_INTERNAL` failure.
pub(crate) fn run<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Err(Failure::new(
            lc_status::LC_INTERNAL,
            format!("internal error in license_client (please report it): {what}"),
        ))
    })
}

pub(crate) fn set_last_error(message: Option<String>) {
    let text = message.map(|m| c_string_lossy(&m));
    // A thread being torn down has no last error to keep: nothing to do then.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = text);
}

/// This thread's last error, valid until the next call on this thread.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| {
            slot.borrow()
                .as_ref()
                .map_or(std::ptr::null(), |text| text.as_ptr())
        })
        .unwrap_or(std::ptr::null())
}

/// `text` as a C string; an interior NUL (never in our own messages) becomes U+FFFD.
pub(crate) fn c_string_lossy(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> Option<String> {
        let ptr = last_error();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer from last_error points at this thread's CString,
        // which nothing replaces while this function runs.
        let text = unsafe { CStr::from_ptr(ptr) };
        Some(text.to_string_lossy().into_owned())
    }

    #[test]
    fn a_panic_is_lc_internal_with_its_message_and_never_unwinds() {
        let status = call(|| panic!("injected failure"));
        assert_eq!(status, lc_status::LC_INTERNAL);
        let message = last().expect("a message");
        assert!(message.contains("injected failure"), "{message}");
        let formatted = call(|| panic!("{} {}", "formatted", 7));
        assert_eq!(formatted, lc_status::LC_INTERNAL);
        assert!(last().unwrap().contains("formatted 7"));
    }

    #[test]
    fn success_clears_the_last_error_and_errors_are_per_thread() {
        assert_eq!(
            call(|| Err(Failure::invalid("bad"))),
            lc_status::LC_INVALID_ARGUMENT
        );
        assert_eq!(last().as_deref(), Some("bad"));
        std::thread::spawn(|| assert_eq!(last(), None))
            .join()
            .unwrap();
        assert_eq!(call(|| Ok(())), lc_status::LC_OK);
        assert_eq!(last(), None);
    }
}
