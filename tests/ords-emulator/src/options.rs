//! Switches for every question the public evidence leaves open.
//!
//! The defaults are the best guess from public sources (cited in the README); each switch exists so a client can be
//! tested against the other answer too. Options can also be given in the `[options]`
//! table of the binary's `--config` file (same names, snake_case values).

use serde::{Deserialize, Serialize};

use crate::seed::{invalid, SeedError};

/// How the token endpoint words its refusals. Unknown in public sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorStyle {
    /// ORDS's generic problem body (`code: "Unauthorized"`), always status 401.
    #[default]
    Problem,
    /// RFC 6749 section 5.2 (https://www.rfc-editor.org/rfc/rfc6749#section-5.2): `401 {"error":"invalid_client"}`, `400 {"error":"invalid_request"}`,
    /// `400 {"error":"unsupported_grant_type"}`, `400 {"error":"unauthorized_client"}`.
    Rfc6749,
}

/// What a privilege that names no role demands. Unknown in public sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivilegeWithoutRoles {
    /// Any valid token of the same alias passes.
    #[default]
    AnyAuthenticated,
    /// Nobody passes (401 `invalid_token`).
    DenyAll,
}

/// ORDS's `error.responseFormat` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Pick per request from `Accept`, `X-Requested-With`, `Origin`, `User-Agent`.
    #[default]
    Auto,
    /// Always problem JSON.
    Json,
    /// Always an HTML page.
    Html,
}

/// Which of the two observed ecid shapes goes into `instance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EcidStyle {
    /// 22 base64url characters (ORDS 22.1 on premises).
    #[default]
    Base64url,
    /// 32 hex characters (Autonomous Database).
    Hex,
}

/// Behaviour switches. `Default` is the best guess from public sources for each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmulatorOptions {
    /// Token endpoint error bodies: `problem` (default) or `rfc6749`.
    pub token_error_style: TokenErrorStyle,
    /// Accept `client_id`/`client_secret` in the form body when no Basic header is sent
    /// (`client_secret_post`). Default `false`: only HTTP Basic.
    pub allow_client_secret_post: bool,
    /// Status for any method other than POST on `oauth/token`. Default 405.
    pub token_get_status: u16,
    /// A privilege with an empty role list: `any_authenticated` (default) or `deny_all`.
    pub privilege_without_roles: PrivilegeWithoutRoles,
    /// `error.responseFormat`: `auto` (default), `json` or `html`.
    pub error_response_format: ResponseFormat,
    /// Under `auto`, the format when no rule matches (a client sending neither
    /// `Accept` nor a curl User-Agent). Default `html`, the inferred ORDS fallback; must
    /// be `json` or `html`.
    pub auto_fallback_format: ResponseFormat,
    /// Instance token lifetime in seconds (`security.oauth.tokenLifetime`), used for
    /// clients without their own `token_duration`. Default 3600.
    pub token_lifetime_secs: u64,
    /// Instance default page size for collection handlers whose module and handler
    /// leave it unset. Default 25.
    pub items_per_page: u32,
    /// Shape of the ecid in problem bodies: `base64url` (default) or `hex`.
    pub ecid_style: EcidStyle,
    /// The ORDS context root in front of the schema alias. Default `/ords`
    /// (apex.oracle.com uses `/pls/apex`).
    pub context_root: String,
    /// The UTC offset, in minutes east, of the time zone the ORDS JVM runs in. Default
    /// 0 (ORDS started with `-Duser.timezone=UTC`). ORDS reads a DATE or TIMESTAMP
    /// (which carry no zone) as a time in its JVM's zone and prints it converted to
    /// UTC, so `120` (CEST) prints a stored midnight as 22:00 the day before:
    /// `"2025-12-31T22:00:00Z"` for `2026-01-01 00:00:00`
    /// (https://jsao.io/2016/10/working-with-dates-using-ords/). From -1080 to 1080.
    pub jvm_utc_offset_minutes: i32,
    /// Print NUMBER values of more than 10 digits in exponent form, `12345678901` as
    /// `1.2345678901e10`, as ORDS's type mapping documents
    /// (https://docs.oracle.com/database/ords-17.3/AELIG/GUID-4F7FA58A-1C29-4B7E-819F-21DB4B68FFE1.htm).
    /// Default `false` (plain integers).
    pub numbers_in_exponent_form: bool,
}

/// The widest offset a Java `ZoneOffset` allows, in minutes (18 hours).
pub const MAX_JVM_UTC_OFFSET_MINUTES: i32 = 18 * 60;

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            token_error_style: TokenErrorStyle::Problem,
            allow_client_secret_post: false,
            token_get_status: 405,
            privilege_without_roles: PrivilegeWithoutRoles::AnyAuthenticated,
            error_response_format: ResponseFormat::Auto,
            auto_fallback_format: ResponseFormat::Html,
            token_lifetime_secs: 3600,
            items_per_page: 25,
            ecid_style: EcidStyle::Base64url,
            context_root: "/ords".to_owned(),
            jvm_utc_offset_minutes: 0,
            numbers_in_exponent_form: false,
        }
    }
}

impl EmulatorOptions {
    /// Checks the values serde cannot: names the offending option.
    pub fn validate(&self) -> Result<(), SeedError> {
        if !(100..=599).contains(&self.token_get_status) {
            return Err(invalid(
                "options.token_get_status",
                format!("{} is not an HTTP status", self.token_get_status),
            ));
        }
        if self.auto_fallback_format == ResponseFormat::Auto {
            return Err(invalid(
                "options.auto_fallback_format",
                "must be \"json\" or \"html\"",
            ));
        }
        if self.jvm_utc_offset_minutes.abs() > MAX_JVM_UTC_OFFSET_MINUTES {
            return Err(invalid(
                "options.jvm_utc_offset_minutes",
                format!(
                    "{} is not from -{MAX_JVM_UTC_OFFSET_MINUTES} to {MAX_JVM_UTC_OFFSET_MINUTES}",
                    self.jvm_utc_offset_minutes
                ),
            ));
        }
        let root = &self.context_root;
        let segments_ok = root.len() > 1
            && root[1..]
                .split('/')
                .all(|s| !s.is_empty() && s != "__emulator");
        if !root.starts_with('/') || !segments_ok {
            return Err(invalid(
                "options.context_root",
                format!("{root:?} must look like \"/ords\": a leading '/', no trailing one"),
            ));
        }
        Ok(())
    }
}
