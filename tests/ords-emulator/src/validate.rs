//! Seed validation: every cross-reference and value checked once, at load, with an
//! error that names the offending field (`privileges[0].roles[1]: unknown role "x"`),
//! so a bad seed fails at start-up instead of answering requests wrongly.

use std::collections::HashSet;

use crate::license::{self, Column, EXPIRY_STRATEGIES, LICENSE_STATUSES};
use crate::route::RoutePattern;
use crate::seats::Procedure;
use crate::seed::{invalid, HandlerSeed, Seed, SeedError, SourceType};

const GRANT_TYPES: [&str; 3] = ["client_credentials", "authorization_code", "implicit"];

impl Seed {
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
            if l.max_machines.is_some_and(|m| m < 0) {
                return Err(invalid(
                    format!("licenses[{i}].max_machines"),
                    "violates the CHECK constraint: NULL or at least 0",
                ));
            }
            if l.key_serial
                .is_some_and(|n| !(0..=license::KEY_SERIAL_LIMIT).contains(&n))
            {
                return Err(invalid(
                    format!("licenses[{i}].key_serial"),
                    format!(
                        "violates the CHECK constraint: NULL or a whole number from 0 to {}",
                        license::KEY_SERIAL_LIMIT
                    ),
                ));
            }
            if let Some(list) = l.entitlements.as_deref().filter(|s| !s.is_empty()) {
                if !license::entitlements_are_valid(list) {
                    return Err(invalid(
                        format!("licenses[{i}].entitlements"),
                        format!("{list:?} violates the CHECK constraint: {ENTITLEMENTS_RULE}"),
                    ));
                }
            }
            if let Some(s) = l.expiry_strategy.as_deref().filter(|s| !s.is_empty()) {
                if !EXPIRY_STRATEGIES.contains(&s) {
                    return Err(invalid(
                        format!("licenses[{i}].expiry_strategy"),
                        format!("{s:?} violates the CHECK constraint: NULL or one of {EXPIRY_STRATEGIES:?}"),
                    ));
                }
            }
            if let Some(m) = l.license_model.as_deref() {
                if !license::LICENSE_MODELS.contains(&m) {
                    return Err(invalid(
                        format!("licenses[{i}].license_model"),
                        format!(
                            "{m:?} violates the CHECK constraint: one of {:?}",
                            license::LICENSE_MODELS
                        ),
                    ));
                }
            }
            if l.max_borrow_days
                .is_some_and(|d| !(0..=license::MAX_DAYS).contains(&d))
            {
                return Err(invalid(
                    format!("licenses[{i}].max_borrow_days"),
                    format!(
                        "violates the CHECK constraint: a whole number from 0 to {}",
                        license::MAX_DAYS
                    ),
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
        let mut products = HashSet::new();
        for (i, p) in self.products.iter().enumerate() {
            if !products.insert(p.product.as_str()) {
                return Err(invalid(
                    format!("products[{i}].product"),
                    format!("duplicate primary key {:?}", p.product),
                ));
            }
            if p.trial_days
                .is_some_and(|d| !(1..=license::MAX_DAYS).contains(&d))
            {
                return Err(invalid(
                    format!("products[{i}].trial_days"),
                    format!(
                        "violates the CHECK constraint: NULL or a whole number from 1 to {}",
                        license::MAX_DAYS
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What the `entitlements` CHECK constraint demands, for error messages.
pub(crate) const ENTITLEMENTS_RULE: &str =
    "NULL or comma-separated names matching [a-z0-9][a-z0-9._-]{0,63}, at most 512 characters";

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
    if let Some(call) = &h.call {
        let Some(procedure) = Procedure::from_call(call) else {
            return Err(invalid(
                format!("{field}.call"),
                format!(
                    "{call:?} is not one of {:?}",
                    Procedure::ALL.map(Procedure::call)
                ),
            ));
        };
        if h.source_type != SourceType::PlsqlBlock {
            return Err(invalid(
                format!("{field}.source_type"),
                "a handler with `call` is a plsql/block",
            ));
        }
        if !h.method.eq_ignore_ascii_case(procedure.method()) {
            return Err(invalid(
                format!("{field}.method"),
                format!("{} is called with {}", procedure.call(), procedure.method()),
            ));
        }
        if procedure.binds_id() && !pattern.params().any(|p| p == "id") {
            return Err(invalid(
                format!("{field}.call"),
                "the template must bind :id",
            ));
        }
    }
    if h.source_type == SourceType::PlsqlBlock && h.parameters.is_empty() && h.call.is_none() {
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
