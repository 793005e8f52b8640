//! The seed: the ORDS objects the emulator serves, as a TOML document.
//!
//! It mirrors what the PL/SQL in `deploy/ords/` creates: schemas with URL aliases,
//! modules with templates and handlers, roles, privileges, OAuth clients and the rows of
//! the license table. `seeds/article.toml` is the default and the best example. Objects
//! that belong to a schema name it with `schema = "<alias>"`, which may be left out when
//! the seed has only one schema. Validation names the offending field, e.g.
//! `privileges[0].roles[1]: unknown role "x"`.

use serde::{Deserialize, Serialize};

use crate::timespec::TimeSpec;

/// Everything the emulator serves. See `seeds/article.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// REST-enabled schemas (`ORDS.ENABLE_SCHEMA`).
    pub schemas: Vec<SchemaSeed>,
    /// Modules with their templates and handlers (`ORDS.DEFINE_MODULE` …).
    pub modules: Vec<ModuleSeed>,
    /// Roles (`ORDS.CREATE_ROLE`).
    pub roles: Vec<RoleSeed>,
    /// Privileges (`ORDS.DEFINE_PRIVILEGE`).
    pub privileges: Vec<PrivilegeSeed>,
    /// OAuth clients (`ORDS_SECURITY.REGISTER_CLIENT` + `GRANT_CLIENT_ROLE`).
    pub clients: Vec<ClientSeed>,
    /// Rows of the license table.
    pub licenses: Vec<LicenseSeed>,
    /// Rows of the `license_products` table (`seats.sql`): which products have trials.
    #[serde(default)]
    pub products: Vec<ProductSeed>,
}

/// A row of `license_products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSeed {
    /// The product code, as licenses name it.
    pub product: String,
    /// How long a trial of it lasts; NULL, no trial, when left out.
    #[serde(default)]
    pub trial_days: Option<i64>,
}

/// A REST-enabled schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSeed {
    /// URL mapping pattern: the path segment after the context root (`page`).
    pub alias: String,
    /// The database schema name, for documentation (`PAGE`).
    #[serde(default)]
    pub schema: Option<String>,
}

/// A resource module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSeed {
    /// Alias of the owning schema; optional with a single schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Module name (`customers`), what privileges' `modules` refer to.
    pub name: String,
    /// Base path under the alias (`customers/`).
    pub base_path: String,
    /// Page size for collection handlers (`p_items_per_page`).
    #[serde(default)]
    pub items_per_page: Option<u32>,
    /// The module's templates.
    #[serde(default)]
    pub templates: Vec<TemplateSeed>,
}

/// A URI template: a route pattern (`validation/:id`) relative to the module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSeed {
    /// `:name` binds exactly one segment; a final `{name}` binds the rest (greedy).
    pub pattern: String,
    /// One handler per HTTP method.
    #[serde(default)]
    pub handlers: Vec<HandlerSeed>,
}

/// A handler's source type (`p_source_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceType {
    /// `json/item`, Collection Query Item: first row flat plus a `collection` link; 404 without a row.
    #[serde(rename = "json/item")]
    Item,
    /// `json/collection`, Collection Query: `items`, paging members and links; `items: []` without rows.
    #[serde(rename = "json/collection")]
    Collection,
    /// `plsql/block` with OUT parameters: each parameter is a top-level member.
    #[serde(rename = "plsql/block")]
    PlsqlBlock,
}

/// A handler: in effect `SELECT <columns> FROM licenses [WHERE <filter_column> = :<bind>]
/// ORDER BY customer_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerSeed {
    /// HTTP method, `GET` by default.
    #[serde(default = "default_method")]
    pub method: String,
    /// `json/item`, `json/collection` or `plsql/block`.
    pub source_type: SourceType,
    /// SELECT list; all columns in table order when left out.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// The column compared with the bind value; no WHERE clause when left out.
    #[serde(default)]
    pub filter_column: Option<String>,
    /// The template parameter bound to `filter_column`; defaults to the first one.
    #[serde(default)]
    pub bind: Option<String>,
    /// Page size, overriding the module's.
    #[serde(default)]
    pub items_per_page: Option<u32>,
    /// OUT parameters of a `plsql/block` handler, in output order.
    #[serde(default)]
    pub parameters: Vec<OutParameterSeed>,
    /// A `plsql/block` handler that calls a function of the `license_seats` package
    /// (`license_seats.activate`, `.renew`, `.release_seat`, `.list_seats`; see
    /// [`crate::Procedure`]), served by the emulator's seat rules. The template must
    /// bind `:id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// An OUT parameter with source RESPONSE (`ORDS.DEFINE_PARAMETER`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutParameterSeed {
    /// The JSON member name, exactly as written (case and dots kept).
    pub name: String,
    /// `STRING` (default), `INT`, `DOUBLE`, `BOOLEAN`, `LONG`, `TIMESTAMP` or `RESULTSET`.
    #[serde(default = "default_param_type")]
    pub param_type: String,
    /// For scalars: the column of the first selected row (NULL without a row).
    #[serde(default)]
    pub column: Option<String>,
    /// For scalars: a constant instead of a column.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

fn default_param_type() -> String {
    "STRING".to_owned()
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSeed {
    /// Alias of the owning schema; optional with a single schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Role name (`license_role`).
    pub name: String,
}

/// A privilege protecting modules and/or URI patterns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivilegeSeed {
    /// Alias of the owning schema; optional with a single schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Privilege name (`license_priv`).
    pub name: String,
    /// A token passes when its client holds at least one of these.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Protected modules, by name.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Protected URI patterns relative to the alias root; `*` matches anything,
    /// so `/x/*` also covers `/x/`.
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// An OAuth client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSeed {
    /// Alias of the owning schema; optional with a single schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Client name (`license_backend_client`).
    pub name: String,
    /// `client_credentials`, `authorization_code` or `implicit`.
    #[serde(default = "default_grant")]
    pub grant_type: String,
    /// Roles granted to the client.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Per-client access token lifetime in seconds (`p_token_duration`).
    #[serde(default)]
    pub token_duration: Option<u64>,
    /// Fixed client id (`IMPORT_CLIENT`); random `…..` when left out.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Fixed secret in slot 1 (`REGISTER_CLIENT_SECRET`); random when left out.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Secret in slot 2; empty when left out.
    #[serde(default)]
    pub client_secret_2: Option<String>,
}

fn default_grant() -> String {
    "client_credentials".to_owned()
}

/// A row of the license table; see [`crate::License`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseSeed {
    /// Primary key.
    pub customer_id: i64,
    /// Product name.
    #[serde(default)]
    pub product: Option<String>,
    /// `ACTIVE`, `SUSPENDED` or `REVOKED` (the table's CHECK constraint).
    pub license_status: String,
    /// Expiry (DATE); NULL when left out.
    #[serde(default)]
    pub expires_at: Option<TimeSpec>,
    /// Last change (TIMESTAMP); NULL when left out.
    #[serde(default)]
    pub updated_at: Option<TimeSpec>,
    /// How many machines may hold a seat at once (NUMBER); NULL, no limit, when left out.
    #[serde(default)]
    pub max_machines: Option<i64>,
    /// Comma-separated entitlement names, each `[a-z0-9][a-z0-9._-]{0,63}`
    /// (`"export,sync"`, VARCHAR2(512)); NULL, none, when left out or `""`.
    #[serde(default)]
    pub entitlements: Option<String>,
    /// `REVOKE_ACCESS` or `MAINTAIN_ACCESS` (VARCHAR2(16)); NULL, which means
    /// `REVOKE_ACCESS`, when left out or `""`.
    #[serde(default)]
    pub expiry_strategy: Option<String>,
    /// The serial of the license's current key (NUMBER, 0 to 4294967295); NULL, which
    /// means 0 (the first key), when left out.
    #[serde(default)]
    pub key_serial: Option<i64>,
    /// `NODE_LOCKED` (the default when left out) or `FLOATING`: `max_machines` then
    /// counts machines running now, each holding a short lease.
    #[serde(default)]
    pub license_model: Option<String>,
    /// How many days a floating seat may be borrowed for offline use (0 to 3650); 0,
    /// no borrowing, when left out.
    #[serde(default)]
    pub max_borrow_days: Option<i64>,
}

/// Why a seed was refused.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Not valid TOML, an unknown field, or a value of the wrong type.
    #[error("seed is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// Well-formed, but inconsistent.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// Path of the offending field, e.g. `clients[0].roles[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SeedError {
    SeedError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

const ARTICLE_TOML: &str = include_str!("../seeds/article.toml");

impl Seed {
    /// The article's setup (`seeds/article.toml`): alias `page`, module `customers`
    /// with `validation/:id` (`json/item`), role `license_role`, privilege
    /// `license_priv`, client `license_backend_client`, the seven seat and trial
    /// templates (`seats/:id/activate`, `/renew`, `/release`, `seats/:id`,
    /// `seats/:id/checkout`, `/checkin`, `trials/start`), and seven rows:
    /// customers 1 (valid for 365 days, entitlements `export,sync`), 2 (expired 30
    /// days ago), 3 (suspended), all without a machine limit, 4 (valid for 365 days,
    /// at most 2 machines), all four product `desktop-pro`; 5 (product
    /// `desktop-lite`, valid for 365 days) and 6 (`desktop-pro`, expired 30 days ago,
    /// `MAINTAIN_ACCESS`, entitlement `export`); 7 (`desktop-pro`, valid for 365 days,
    /// `FLOATING` with 2 seats and `max_borrow_days` 7). Products: `desktop-pro` with a
    /// 14-day trial, `desktop-lite` without one.
    pub fn article_default() -> Seed {
        // The file is part of the crate and a unit test parses it, so this cannot fail.
        Seed::from_toml_str(ARTICLE_TOML).unwrap_or_default()
    }

    /// Parses and validates a seed document.
    pub fn from_toml_str(s: &str) -> Result<Seed, SeedError> {
        let seed: Seed = toml::from_str(s)?;
        seed.validate()?;
        Ok(seed)
    }

    /// Sets the source type of every handler of template `pattern` in module `module`
    /// (e.g. to serve `customers/validation/:id` as `json/collection`).
    pub fn with_source_type(
        mut self,
        module: &str,
        pattern: &str,
        source_type: SourceType,
    ) -> Seed {
        for m in self.modules.iter_mut().filter(|m| m.name == module) {
            for t in m.templates.iter_mut().filter(|t| t.pattern == pattern) {
                for h in &mut t.handlers {
                    h.source_type = source_type;
                }
            }
        }
        self
    }

    /// Resolves an optional `schema` reference to an alias.
    pub(crate) fn schema_of(&self, field: &str, schema: Option<&str>) -> Result<String, SeedError> {
        match schema {
            Some(alias) if self.schemas.iter().any(|s| s.alias == alias) => Ok(alias.to_owned()),
            Some(alias) => Err(invalid(field, format!("unknown schema alias {alias:?}"))),
            None if self.schemas.len() == 1 => Ok(self.schemas[0].alias.clone()),
            None => Err(invalid(
                field,
                "required when the seed has more than one schema",
            )),
        }
    }
}

/// Reads the binary's `--config` file: a seed plus an optional `[options]` table
/// ([`crate::EmulatorOptions`]). A file with nothing but `[options]` keeps the
/// article's objects.
pub fn config_from_toml_str(s: &str) -> Result<(Seed, crate::EmulatorOptions), SeedError> {
    let mut table: toml::Table = toml::from_str(s)?;
    let options = match table.remove("options") {
        Some(value) => value
            .try_into::<crate::EmulatorOptions>()
            .map_err(|e| invalid("options", e.to_string()))?,
        None => crate::EmulatorOptions::default(),
    };
    options.validate()?;
    let seed = if table.is_empty() {
        Seed::article_default()
    } else {
        let seed: Seed = toml::Value::Table(table).try_into()?;
        seed.validate()?;
        seed
    };
    Ok((seed, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_file_parses() {
        let seed = Seed::from_toml_str(ARTICLE_TOML).expect("seeds/article.toml");
        assert_eq!(seed.schemas[0].alias, "page");
        assert_eq!(seed, Seed::article_default());
    }
}
