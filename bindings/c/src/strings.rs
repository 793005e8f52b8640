//! C strings in (borrowed, UTF-8, NUL-terminated) and out (owned by the caller until
//! `lc_string_free`).

use std::ffi::{c_char, CStr, CString};

use crate::boundary::{c_string_lossy, Failure};

/// The string at `ptr`, or `LC_INVALID_ARGUMENT` naming `name` when it is NULL or not
/// UTF-8.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn required_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: passed on from this function's contract.
    unsafe { optional_str(ptr, name) }?.ok_or_else(|| Failure::invalid(format!("{name} is NULL")))
}

/// Like [`required_str`], with NULL as `None`.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn optional_str<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: `ptr` is non-null and NUL-terminated, and outlives 'a (this function's
    // contract).
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map(Some)
        .map_err(|_| Failure::invalid(format!("{name} is not UTF-8")))
}

/// Writes a copy of `text` to `*out`, for the caller to free with `lc_string_free`.
///
/// # Safety
/// `out` is non-null and writable.
pub(crate) unsafe fn write_out(out: *mut *mut c_char, text: &str) {
    let owned: CString = c_string_lossy(text);
    // SAFETY: `out` is non-null and writable (this function's contract).
    unsafe { out.write(owned.into_raw()) };
}

/// Frees a string from [`write_out`]; NULL is ignored.
///
/// # Safety
/// `s` is NULL or came from [`write_out`] and is not yet freed.
pub(crate) unsafe fn free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from CString::into_raw in write_out and is freed once
        // (this function's contract).
        drop(unsafe { CString::from_raw(s) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::lc_status;

    #[test]
    fn null_and_invalid_utf8_are_named_and_strings_round_trip() {
        // SAFETY: NULL is allowed.
        let null = unsafe { required_str(std::ptr::null(), "license_key") }.unwrap_err();
        assert_eq!(null.status, lc_status::LC_INVALID_ARGUMENT);
        assert_eq!(null.message, "license_key is NULL");
        let latin1 = [0xE9u8, 0];
        // SAFETY: a NUL-terminated buffer that outlives the call.
        let bad = unsafe { required_str(latin1.as_ptr().cast(), "machine_name") }.unwrap_err();
        assert_eq!(bad.message, "machine_name is not UTF-8");
        // SAFETY: NULL is allowed.
        let none = unsafe { optional_str(std::ptr::null(), "x") };
        assert_eq!(none.unwrap(), None);

        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: `out` is a writable local.
        unsafe { write_out(&mut out, "{\"code\":\"VALID\"}") };
        // SAFETY: write_out wrote a NUL-terminated string.
        let back = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        assert_eq!(back, "{\"code\":\"VALID\"}");
        // SAFETY: `out` came from write_out and is freed once.
        unsafe { free(out) };
    }
}
