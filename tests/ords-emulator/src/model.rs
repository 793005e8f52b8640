//! The seed compiled into the shape requests are answered from.
//!
//! The immutable part (schemas, modules, templates, privileges) lives here; clients,
//! tokens and license rows change at run time and live in [`crate::state`].

use serde_json::Value;

use crate::license::Column;
use crate::route::{self, RoutePattern};
use crate::seats::Procedure;
use crate::seed::{Seed, SourceType};

/// A REST-enabled schema with its objects.
#[derive(Debug)]
pub(crate) struct Schema {
    pub alias: String,
    pub modules: Vec<Module>,
    pub privileges: Vec<Privilege>,
}

#[derive(Debug)]
pub(crate) struct Module {
    /// Without a leading slash, with a trailing one: `customers/`.
    pub base_path: String,
    pub items_per_page: Option<u32>,
    pub templates: Vec<Template>,
}

#[derive(Debug)]
pub(crate) struct Template {
    pub pattern: RoutePattern,
    pub raw: String,
    pub handlers: Vec<Handler>,
}

#[derive(Debug)]
pub(crate) struct Handler {
    pub method: String,
    pub source_type: SourceType,
    pub columns: Vec<Column>,
    pub filter: Option<(Column, String)>,
    pub items_per_page: Option<u32>,
    pub parameters: Vec<OutParameter>,
    /// A seat handler: the `license_seats` function its PL/SQL block calls.
    pub call: Option<Procedure>,
}

#[derive(Debug)]
pub(crate) enum OutParameter {
    Column { name: String, column: Column },
    Value { name: String, value: Value },
    ResultSet { name: String },
}

/// A privilege with modules turned into patterns: protecting module `customers`
/// (base path `customers/`) is protecting `/customers/*`.
#[derive(Debug)]
pub(crate) struct Privilege {
    pub roles: Vec<String>,
    pub patterns: Vec<String>,
}

/// What a request path under an alias resolved to.
pub(crate) struct Route<'a> {
    pub module: &'a Module,
    pub template: &'a Template,
    pub binds: Vec<(String, String)>,
}

impl Schema {
    /// Finds the template for `path` (relative to the alias, no leading slash). The
    /// longest base path wins, then the template with the most literal segments.
    pub fn route(&self, path: &str) -> Option<Route<'_>> {
        let mut best: Option<(usize, usize, Route<'_>)> = None;
        for module in &self.modules {
            let Some(rest) = path.strip_prefix(&module.base_path) else {
                continue;
            };
            for template in &module.templates {
                if let Some(binds) = template.pattern.matches(rest) {
                    let rank = (module.base_path.len(), template.pattern.literal_count());
                    if best.as_ref().is_none_or(|(a, b, _)| rank > (*a, *b)) {
                        best = Some((
                            rank.0,
                            rank.1,
                            Route {
                                module,
                                template,
                                binds,
                            },
                        ));
                    }
                }
            }
        }
        best.map(|(_, _, r)| r)
    }

    /// The roles demanded for `path` (with a leading slash), or `None` when no
    /// privilege covers it and it is public. The most specific pattern decides.
    pub fn required_roles(&self, path: &str) -> Option<&[String]> {
        let mut best: Option<(usize, &Privilege)> = None;
        for privilege in &self.privileges {
            for pattern in &privilege.patterns {
                if route::wildcard_matches(pattern, path) {
                    let s = route::specificity(pattern);
                    if best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, privilege));
                    }
                }
            }
        }
        best.map(|(_, p)| p.roles.as_slice())
    }
}

/// Builds the schemas from a validated seed.
pub(crate) fn compile(seed: &Seed) -> Vec<Schema> {
    let mut schemas: Vec<Schema> = seed
        .schemas
        .iter()
        .map(|s| Schema {
            alias: s.alias.clone(),
            modules: Vec::new(),
            privileges: Vec::new(),
        })
        .collect();
    let index = |schema: Option<&str>| -> usize {
        let alias = seed.schema_of("", schema).unwrap_or_default();
        schemas_position(seed, &alias)
    };
    for m in &seed.modules {
        let i = index(m.schema.as_deref());
        let base_path = format!("{}/", m.base_path.trim_matches('/'));
        let templates = m
            .templates
            .iter()
            .filter_map(|t| {
                let pattern = RoutePattern::parse(&t.pattern).ok()?;
                let handlers = t
                    .handlers
                    .iter()
                    .map(|h| compile_handler(h, &pattern))
                    .collect();
                Some(Template {
                    pattern,
                    raw: t.pattern.clone(),
                    handlers,
                })
            })
            .collect();
        schemas[i].modules.push(Module {
            base_path,
            items_per_page: m.items_per_page,
            templates,
        });
    }
    for p in &seed.privileges {
        let i = index(p.schema.as_deref());
        let alias = &seed.schemas[i].alias;
        let mut patterns: Vec<String> = p
            .patterns
            .iter()
            .map(|pat| {
                if pat.starts_with('/') {
                    pat.clone()
                } else {
                    format!("/{pat}")
                }
            })
            .collect();
        for name in &p.modules {
            let module = seed.modules.iter().find(|m| {
                &m.name == name
                    && seed.schema_of("", m.schema.as_deref()).ok().as_ref() == Some(alias)
            });
            if let Some(m) = module {
                patterns.push(format!("/{}/*", m.base_path.trim_matches('/')));
            }
        }
        schemas[i].privileges.push(Privilege {
            roles: p.roles.clone(),
            patterns,
        });
    }
    schemas
}

fn schemas_position(seed: &Seed, alias: &str) -> usize {
    seed.schemas
        .iter()
        .position(|s| s.alias == alias)
        .unwrap_or(0)
}

fn compile_handler(h: &crate::seed::HandlerSeed, pattern: &RoutePattern) -> Handler {
    let columns = match &h.columns {
        Some(cs) => cs.iter().filter_map(|c| Column::parse(c)).collect(),
        None => Column::ALL.to_vec(),
    };
    let filter = h.filter_column.as_deref().and_then(Column::parse).map(|c| {
        let bind = h
            .bind
            .clone()
            .or_else(|| pattern.params().next().map(str::to_owned))
            .unwrap_or_default();
        (c, bind)
    });
    let parameters = h
        .parameters
        .iter()
        .map(|p| match (&p.column, &p.value) {
            _ if p.param_type == "RESULTSET" => OutParameter::ResultSet {
                name: p.name.clone(),
            },
            (Some(c), _) => OutParameter::Column {
                name: p.name.clone(),
                column: Column::parse(c).unwrap_or(Column::CustomerId),
            },
            (None, v) => OutParameter::Value {
                name: p.name.clone(),
                value: v.clone().unwrap_or(Value::Null),
            },
        })
        .collect();
    Handler {
        method: h.method.to_ascii_uppercase(),
        source_type: h.source_type,
        columns,
        filter,
        items_per_page: h.items_per_page,
        parameters,
        call: h.call.as_deref().and_then(Procedure::from_call),
    }
}
