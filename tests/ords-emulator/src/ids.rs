//! Random identifiers in the shapes real ORDS hands out.
//!
//! Client ids and secrets are 22 base64url characters followed by `..` (a 16-byte
//! value, base64url without padding, with ORDS's two trailing dots); access tokens and
//! ecids are the same 22 characters without the dots. Clients must treat all of them as
//! opaque, and the emulator's shapes make a client that parses them fail early.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

fn random_22() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A client id or client secret: `MyskbM4pxgB4Q1U00Ui99g..`.
pub fn client_credential() -> String {
    format!("{}..", random_22())
}

/// An opaque access token: `eUSBOqI47Pt7jI_hmfJjPQ`.
pub fn access_token() -> String {
    random_22()
}

/// An execution context id for the `instance` member of a problem body.
pub fn ecid(hex: bool) -> String {
    if hex {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        random_22()
    }
}
