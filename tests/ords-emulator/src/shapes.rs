//! The JSON bodies of the handler source types.
//!
//! * `json/collection` (Collection Query):
//!   `{"items":[…],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[self,describedby,first(,prev)(,next)]}`,
//!   members in that order; `count` is the rows on this page; zero rows is a 200 with
//!   `"items":[]`.
//! * `json/item` (Collection Query Item): the first row's columns, flat, plus
//!   `"links":[{"rel":"collection","href":…}]` (the item URI without its last
//!   segment); no row is `None`, which the caller turns into a 404.
//! * `plsql/block`: one top-level member per OUT parameter, named exactly as declared.
//!
//! Bodies are compact, as ORDS sends them. Links are absolute, built from `Host`.

use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;

use crate::license::{Cell, Record, Render, Row};
use crate::model::{Handler, OutParameter, Route};
use crate::route::parse_form;
use crate::seed::SourceType;

/// ORDS caps a client's `?limit=`.
const MAX_LIMIT: usize = 10_000;

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

#[derive(Serialize)]
struct Collection {
    items: Vec<Row>,
    #[serde(rename = "hasMore")]
    has_more: bool,
    limit: usize,
    offset: usize,
    count: usize,
    links: Vec<Link>,
}

/// The parts of the request URL the links are made of.
pub(crate) struct RequestUrl {
    /// `http://host:port`
    origin: String,
    /// `/ords/page`
    schema_root: String,
    /// `/ords/page/customers/validation/1`
    path: String,
    query: Vec<(String, String)>,
    raw_query: Option<String>,
}

impl RequestUrl {
    pub fn new(context_root: &str, alias: &str, parts: &Parts) -> RequestUrl {
        let text = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
        };
        let host = text(header::HOST)
            .or(parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let scheme = text(header::HeaderName::from_static("x-forwarded-proto")).unwrap_or("http");
        let raw_query = parts.uri.query().map(str::to_owned);
        RequestUrl {
            origin: format!("{scheme}://{host}"),
            schema_root: format!("{context_root}/{alias}"),
            path: parts.uri.path().to_owned(),
            query: raw_query.as_deref().map(parse_form).unwrap_or_default(),
            raw_query,
        }
    }

    fn param(&self, name: &str) -> Option<usize> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.trim().parse().ok())
    }

    fn href(&self, query: Option<String>) -> String {
        match query {
            Some(q) => format!("{}{}?{q}", self.origin, self.path),
            None => format!("{}{}", self.origin, self.path),
        }
    }
}

/// The body for `rows`, or `None` for a `json/item` without a row.
pub(crate) fn render(
    url: &RequestUrl,
    route: &Route<'_>,
    handler: &Handler,
    rows: &[Record],
    per_page: u32,
    render: Render,
) -> Option<String> {
    let json = match handler.source_type {
        SourceType::Item => {
            let first = rows.first()?;
            let mut row = Row::select(first, &handler.columns, render);
            let parent = match url.path.rfind('/') {
                Some(i) => &url.path[..=i],
                None => url.path.as_str(),
            };
            let link = Row::link("collection", format!("{}{parent}", url.origin));
            row.push("links", Cell::Rows(vec![link]));
            serde_json::to_string(&row)
        }
        SourceType::Collection => {
            serde_json::to_string(&collection(url, route, handler, rows, per_page, render))
        }
        SourceType::PlsqlBlock => {
            let mut out = Row::default();
            for p in &handler.parameters {
                match p {
                    OutParameter::Column { name, column } => {
                        out.push(
                            name.clone(),
                            rows.first()
                                .map_or(Cell::Value(Value::Null), |r| column.cell(r, render)),
                        );
                    }
                    OutParameter::Value { name, value } => {
                        out.push(name.clone(), Cell::Value(value.clone()))
                    }
                    OutParameter::ResultSet { name } => {
                        let set: Vec<Row> = rows
                            .iter()
                            .map(|r| Row::select(r, &handler.columns, render))
                            .collect();
                        out.push(name.clone(), Cell::Rows(set));
                    }
                }
            }
            serde_json::to_string(&out)
        }
    };
    json.ok()
}

fn collection(
    url: &RequestUrl,
    route: &Route<'_>,
    handler: &Handler,
    rows: &[Record],
    per_page: u32,
    render: Render,
) -> Collection {
    let explicit_limit = url.param("limit").map(|l| l.min(MAX_LIMIT));
    let offset = url.param("offset").unwrap_or(0);
    // `items_per_page = 0` switches paging off: everything, reported as limit 0.
    let limit = explicit_limit.unwrap_or(per_page as usize);
    let (page, has_more): (Vec<&Record>, bool) = if limit == 0 {
        (rows.iter().skip(offset).collect(), false)
    } else {
        (
            rows.iter().skip(offset).take(limit).collect(),
            rows.len() > offset.saturating_add(limit),
        )
    };
    let with_offset = |o: usize| match explicit_limit {
        Some(l) => format!("limit={l}&offset={o}"),
        None => format!("offset={o}"),
    };
    let mut links = vec![
        Link {
            rel: "self",
            href: url.href(url.raw_query.clone()),
        },
        Link {
            rel: "describedby",
            href: format!(
                "{}{}/metadata-catalog/{}{}",
                url.origin,
                url.schema_root,
                route.module.base_path,
                route.template.pattern.metadata_path()
            ),
        },
        Link {
            rel: "first",
            href: url.href(explicit_limit.map(|l| format!("limit={l}"))),
        },
    ];
    if offset > 0 && limit > 0 {
        links.push(Link {
            rel: "prev",
            href: url.href(Some(with_offset(offset.saturating_sub(limit)))),
        });
    }
    if has_more {
        links.push(Link {
            rel: "next",
            href: url.href(Some(with_offset(offset + limit))),
        });
    }
    let items: Vec<Row> = page
        .iter()
        .map(|r| Row::select(r, &handler.columns, render))
        .collect();
    Collection {
        count: items.len(),
        items,
        has_more,
        limit,
        offset,
        links,
    }
}
