//! The seed: the ORDS objects the emulator serves, as a TOML document.
//!
//! It mirrors what the PL/SQL in `deploy/ords/` creates: schemas with URL aliases,
//! modules with templates and handlers, roles, privileges, OAuth clients and the rows of
//! the license table. `seeds/article.toml` is the default and the best example. Objects
//! that belong to a schema name it with `schema = "<alias>"`, which may be left out when
//! the seed has only one schema. Validation names the offending field, e.g.
//! `privileges[0].roles[1]: unknown role "x"`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::license::{Column, LICENSE_STATUSES};
use crate::route::RoutePattern;
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
const GRANT_TYPES: [&str; 3] = ["client_credentials", "authorization_code", "implicit"];

impl Seed {
    /// The article's setup (`seeds/article.toml`): alias `page`, module `customers`
    /// with `validation/:id` (`json/item`), role `license_role`, privilege
    /// `license_priv`, client `license_backend_client`, customers 1 (valid for 365
    /// days), 2 (expired 30 days ago) and 3 (suspended).
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

    /// Checks every cross-reference and value; the error names the field.
    pub fn validate(&self) -> Result<(), SeedError> {
        if self.schemas.is_empty() {
            return Err(invalid("schemas", "at least one schema is required"));
        }
        let mut aliases = HashSet::new();
        for (i, s) in self.schemas.iter().enumerate() {
            let ok = !s.alias.is_empty()
                && s.alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !ok {
                return Err(invalid(
                    format!("schemas[{i}].alias"),
                    format!("{:?} is not a URL segment", s.alias),
                ));
            }
            if !aliases.insert(s.alias.as_str()) {
                return Err(invalid(
                    format!("schemas[{i}].alias"),
                    format!("duplicate alias {:?}", s.alias),
                ));
            }
        }
        let mut roles = HashSet::new();
        for (i, r) in self.roles.iter().enumerate() {
            let schema = self.schema_of(&format!("roles[{i}].schema"), r.schema.as_deref())?;
            if r.name.is_empty() || !roles.insert((schema, r.name.clone())) {
                return Err(invalid(
                    format!("roles[{i}].name"),
                    format!("empty or duplicate role {:?}", r.name),
                ));
            }
        }
        let mut modules = HashSet::new();
        for (i, m) in self.modules.iter().enumerate() {
            let schema = self.schema_of(&format!("modules[{i}].schema"), m.schema.as_deref())?;
            if m.name.is_empty() || !modules.insert((schema, m.name.clone())) {
                return Err(invalid(
                    format!("modules[{i}].name"),
                    format!("empty or duplicate module {:?}", m.name),
                ));
            }
            if m.base_path.trim_matches('/').is_empty() || m.base_path.contains("//") {
                return Err(invalid(
                    format!("modules[{i}].base_path"),
                    format!(
                        "{:?} must name at least one segment, like \"customers/\"",
                        m.base_path
                    ),
                ));
            }
            for (j, t) in m.templates.iter().enumerate() {
                let field = format!("modules[{i}].templates[{j}]");
                let pattern = RoutePattern::parse(&t.pattern)
                    .map_err(|e| invalid(format!("{field}.pattern"), e))?;
                let mut methods = HashSet::new();
                for (k, h) in t.handlers.iter().enumerate() {
                    validate_handler(&format!("{field}.handlers[{k}]"), h, &pattern, &mut methods)?;
                }
            }
        }
        for (i, p) in self.privileges.iter().enumerate() {
            let schema = self.schema_of(&format!("privileges[{i}].schema"), p.schema.as_deref())?;
            for (j, r) in p.roles.iter().enumerate() {
                if !roles.contains(&(schema.clone(), r.clone())) {
                    return Err(invalid(
                        format!("privileges[{i}].roles[{j}]"),
                        format!("unknown role {r:?}"),
                    ));
                }
            }
            for (j, m) in p.modules.iter().enumerate() {
                if !modules.contains(&(schema.clone(), m.clone())) {
                    return Err(invalid(
                        format!("privileges[{i}].modules[{j}]"),
                        format!("unknown module {m:?}"),
                    ));
                }
            }
            for (j, pat) in p.patterns.iter().enumerate() {
                if pat.is_empty() || pat.contains(char::is_whitespace) {
                    return Err(invalid(
                        format!("privileges[{i}].patterns[{j}]"),
                        format!("{pat:?} is not a URI pattern"),
                    ));
                }
            }
        }
        let mut client_names = HashSet::new();
        let mut client_ids = HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            let schema = self.schema_of(&format!("clients[{i}].schema"), c.schema.as_deref())?;
            if c.name.is_empty() || !client_names.insert(c.name.clone()) {
                return Err(invalid(
                    format!("clients[{i}].name"),
                    format!("empty or duplicate client {:?}", c.name),
                ));
            }
            if !GRANT_TYPES.contains(&c.grant_type.as_str()) {
                return Err(invalid(
                    format!("clients[{i}].grant_type"),
                    format!("{:?} is not one of {GRANT_TYPES:?}", c.grant_type),
                ));
            }
            for (j, r) in c.roles.iter().enumerate() {
                if !roles.contains(&(schema.clone(), r.clone())) {
                    return Err(invalid(
                        format!("clients[{i}].roles[{j}]"),
                        format!("unknown role {r:?}"),
                    ));
                }
            }
            if let Some(id) = &c.client_id {
                if id.is_empty() || id.contains(':') || !client_ids.insert(id.clone()) {
                    return Err(invalid(
                        format!("clients[{i}].client_id"),
                        "empty, contains ':' or duplicate",
                    ));
                }
            }
            for (name, secret) in [
                ("client_secret", &c.client_secret),
                ("client_secret_2", &c.client_secret_2),
            ] {
                if secret.as_deref() == Some("") {
                    return Err(invalid(format!("clients[{i}].{name}"), "must not be empty"));
                }
            }
            if c.token_duration == Some(0) {
                return Err(invalid(
                    format!("clients[{i}].token_duration"),
                    "must be positive",
                ));
            }
        }
        let mut customers = HashSet::new();
        for (i, l) in self.licenses.iter().enumerate() {
            if !customers.insert(l.customer_id) {
                return Err(invalid(
                    format!("licenses[{i}].customer_id"),
                    format!("duplicate primary key {}", l.customer_id),
                ));
            }
            if !LICENSE_STATUSES.contains(&l.license_status.as_str()) {
                return Err(invalid(
                    format!("licenses[{i}].license_status"),
                    format!(
                        "{:?} violates the CHECK constraint: one of {LICENSE_STATUSES:?}",
                        l.license_status
                    ),
                ));
            }
        }
        Ok(())
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

const PARAM_TYPES: [&str; 7] = [
    "STRING",
    "INT",
    "DOUBLE",
    "BOOLEAN",
    "LONG",
    "TIMESTAMP",
    "RESULTSET",
];

fn validate_handler(
    field: &str,
    h: &HandlerSeed,
    pattern: &RoutePattern,
    methods: &mut HashSet<String>,
) -> Result<(), SeedError> {
    let method = h.method.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "DELETE"].contains(&method.as_str()) || !methods.insert(method) {
        return Err(invalid(
            format!("{field}.method"),
            format!(
                "{:?} is not GET, POST, PUT or DELETE, or is repeated",
                h.method
            ),
        ));
    }
    for (i, c) in h.columns.iter().flatten().enumerate() {
        if Column::parse(c).is_none() {
            return Err(invalid(
                format!("{field}.columns[{i}]"),
                format!("the license table has no column {c:?}"),
            ));
        }
    }
    if let Some(c) = &h.filter_column {
        if Column::parse(c).is_none() {
            return Err(invalid(
                format!("{field}.filter_column"),
                format!("the license table has no column {c:?}"),
            ));
        }
        match &h.bind {
            Some(b) if !pattern.params().any(|p| p == b) => {
                return Err(invalid(
                    format!("{field}.bind"),
                    format!("the template has no parameter {b:?}"),
                ));
            }
            None if pattern.params().next().is_none() => {
                return Err(invalid(
                    format!("{field}.filter_column"),
                    "the template has no parameter to bind",
                ));
            }
            _ => {}
        }
    }
    if h.items_per_page.is_some() && h.source_type != SourceType::Collection {
        return Err(invalid(
            format!("{field}.items_per_page"),
            "only json/collection handlers page",
        ));
    }
    if h.source_type == SourceType::PlsqlBlock && h.parameters.is_empty() {
        return Err(invalid(
            format!("{field}.parameters"),
            "a plsql/block handler needs at least one OUT parameter",
        ));
    }
    for (i, p) in h.parameters.iter().enumerate() {
        let f = format!("{field}.parameters[{i}]");
        if p.name.is_empty() {
            return Err(invalid(format!("{f}.name"), "must not be empty"));
        }
        if !PARAM_TYPES.contains(&p.param_type.as_str()) {
            return Err(invalid(
                format!("{f}.param_type"),
                format!("{:?} is not one of {PARAM_TYPES:?}", p.param_type),
            ));
        }
        let scalar = p.param_type != "RESULTSET";
        match (&p.column, &p.value) {
            (Some(c), None) if scalar => {
                if Column::parse(c).is_none() {
                    return Err(invalid(
                        format!("{f}.column"),
                        format!("the license table has no column {c:?}"),
                    ));
                }
            }
            (None, Some(_)) if scalar => {}
            (None, None) if !scalar => {}
            _ => {
                return Err(invalid(
                    f,
                    "a scalar needs exactly one of `column` or `value`; a RESULTSET needs neither",
                ));
            }
        }
    }
    Ok(())
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
