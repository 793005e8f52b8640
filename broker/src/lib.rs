//! The license broker: the only place that holds the ORDS OAuth client secret.
//!
//! # Layout
//!
//! - [`outbound`]: the HTTP client for ORDS (no redirects, timeouts, capped bodies).
//! - [`secret`]: where the client secret comes from (file or environment).
//! - [`token_source`]: the seam between the ORDS call and the token manager.
pub mod outbound;
pub mod secret;
pub mod token_source;
