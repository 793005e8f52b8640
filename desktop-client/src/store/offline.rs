//! An offline activation's private half, kept beside the lease: the pending request
//! (`offline-request.json`: the key, the nonce and the device key made for it) until
//! its response is installed, then the activation's device key
//! (`offline-activation.json`), which signs the deactivation code. Both are 0600 files
//! in the data directory, so a reformat (or another machine) has neither, and a
//! response made for this request licenses nothing there.

use std::io;

use serde::{Deserialize, Serialize};

use super::fs::{read_small, remove_if_present, write_atomically};
use super::paths::Paths;

const REQUEST_FILE: &str = "offline-request.json";
const ACTIVATION_FILE: &str = "offline-activation.json";
/// Far more than either file holds.
const FILE_CAP: u64 = 8 * 1024;

/// A request made and not yet answered.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingRequest {
    /// The license key as the request carried it.
    pub key: String,
    /// The request's nonce (base64url), which the answer must echo.
    pub nonce: String,
    /// The device key's private half (base64url of its 32 bytes).
    pub device_secret: String,
}

/// An installed offline activation: the device key that can prove it.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct OfflineActivation {
    pub device_secret: String,
}

fn read<T: for<'de> Deserialize<'de>>(paths: &Paths, name: &str) -> io::Result<Option<T>> {
    let Some(bytes) = read_small(&paths.data_dir.join(name), FILE_CAP)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}")))
}

fn write(paths: &Paths, name: &str, value: &impl Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    write_atomically(&paths.data_dir.join(name), &bytes)
}

pub(crate) fn pending(paths: &Paths) -> io::Result<Option<PendingRequest>> {
    read(paths, REQUEST_FILE)
}

pub(crate) fn save_pending(paths: &Paths, pending: &PendingRequest) -> io::Result<()> {
    write(paths, REQUEST_FILE, pending)
}

pub(crate) fn activation(paths: &Paths) -> io::Result<Option<OfflineActivation>> {
    read(paths, ACTIVATION_FILE)
}

/// The pending request becomes the installed activation: one answer per request.
pub(crate) fn installed(paths: &Paths, activation: &OfflineActivation) -> io::Result<()> {
    write(paths, ACTIVATION_FILE, activation)?;
    remove_if_present(&paths.data_dir.join(REQUEST_FILE))
}

/// Forgets the offline activation (after deactivating, online or offline).
pub(crate) fn forget(paths: &Paths) -> io::Result<()> {
    remove_if_present(&paths.data_dir.join(ACTIVATION_FILE))
}
