//! A request's query parameters, as Commerce Layer's API takes them:
//! `page[number]`, `page[size]` (10 by default, at most 25), `sort`
//! (`-created_at,reference`), `filter[q][ATTRIBUTE_PREDICATE]`, `include`
//! and `fields[TYPE]`. Anything else is a `400` naming it.

use std::collections::BTreeMap;

use super::{ApiError, resources::TYPES};
use crate::service::search::{Criterion, Search};

/// Rows a page holds unless `page[size]` says otherwise.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 10;
/// The most `page[size]` may ask for.
pub(crate) const MAX_PAGE_SIZE: u64 = 25;

/// What a request's query asks for.
#[derive(Debug, Default)]
pub(crate) struct Params {
    /// Filters, sorts and the page.
    pub search: Search,
    /// `include`: relationship names.
    pub include: Vec<String>,
    /// `fields[TYPE]`: the attributes and relationships to show, by type.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Params {
    /// Reads `raw` (the query string); `list` says whether paging, sorting
    /// and filtering are allowed (a collection) or not (one resource).
    pub(crate) fn parse(raw: Option<&str>, list: bool) -> Result<Self, ApiError> {
        let mut params = Params {
            search: Search {
                page: 1,
                size: DEFAULT_PAGE_SIZE,
                count: list,
                ..Search::default()
            },
            ..Params::default()
        };
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let (name, value) = (name.as_ref(), value.as_ref());
            let number = |max: u64| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_parameter(
                            name,
                            format!("{name} must be a number from 1 to {max}"),
                        )
                    })
            };
            if name == "include" {
                params.include = split(value);
            } else if let Some(kind) = name
                .strip_prefix("fields[")
                .and_then(|r| r.strip_suffix(']'))
            {
                params.fields.insert(kind.to_owned(), split(value));
            } else if !list {
                return Err(ApiError::bad_parameter(
                    name,
                    format!("{name} is not a parameter of a single resource"),
                ));
            } else if name == "page[number]" {
                params.search.page = number(u64::MAX / MAX_PAGE_SIZE)?;
            } else if name == "page[size]" {
                params.search.size = number(MAX_PAGE_SIZE)?;
            } else if name == "sort" {
                params.search.sort = split(value)
                    .into_iter()
                    .map(|key| match key.strip_prefix('-') {
                        Some(key) => (key.to_owned(), true),
                        None => (key, false),
                    })
                    .collect();
            } else if let Some(rest) = name
                .strip_prefix("filter[q][")
                .and_then(|r| r.strip_suffix(']'))
            {
                let criterion = Criterion::parse(name, rest, value).ok_or_else(|| {
                    ApiError::bad_parameter(
                        name,
                        format!(
                            "{rest} names no attribute and predicate (such as customer_email_eq)"
                        ),
                    )
                })?;
                params.search.criteria.push(criterion);
            } else {
                return Err(ApiError::bad_parameter(
                    name,
                    format!("{name} is not a parameter this API knows"),
                ));
            }
        }
        Ok(params)
    }

    /// Refuses an `include` other than `allowed`, and `fields` for types or
    /// members [`TYPES`] does not list.
    pub(crate) fn check(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for name in &self.include {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::bad_parameter(
                    "include",
                    format!("{name} cannot be included"),
                ));
            }
        }
        for (kind, members) in &self.fields {
            let parameter = format!("fields[{kind}]");
            let (_, attributes, relationships) =
                TYPES.iter().find(|(k, _, _)| k == kind).ok_or_else(|| {
                    ApiError::bad_parameter(&parameter, format!("{kind} is not a type here"))
                })?;
            let known =
                |m: &str| attributes.iter().any(|a| a.name == m) || relationships.contains(&m);
            if let Some(unknown) = members.iter().find(|m| !known(m)) {
                return Err(ApiError::bad_parameter(
                    &parameter,
                    format!("{kind} has no field {unknown}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether `name` of `kind` is to be shown (every member is, without `fields[kind]`).
    pub(crate) fn shows(&self, kind: &str, name: &str) -> bool {
        self.fields
            .get(kind)
            .is_none_or(|members| members.iter().any(|m| m == name))
    }

    /// Whether `include` names `relationship`.
    pub(crate) fn includes(&self, relationship: &str) -> bool {
        self.include.iter().any(|i| i == relationship)
    }
}

fn split(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
