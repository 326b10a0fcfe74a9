//! `/api/customers` (integration keys), and the paging links every list
//! carries.

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Value, json};

use super::{
    Api, ApiError, Called, document,
    query::Params,
    resources::{self, CUSTOMERS, CustomerResource},
};
use crate::service::{
    customers,
    search::{Criterion, Predicate, Search},
};

/// A list's document: its `data` (and `included`, when given),
/// `meta.record_count` and `meta.page_count`, and `links` to the first,
/// previous, next and last pages, each keeping the request's other
/// parameters.
pub(super) fn page<D: Serialize, I: Serialize>(
    api: &Api,
    kind: &str,
    raw: Option<&str>,
    params: &Params,
    total: u64,
    data: D,
    included: Option<I>,
) -> Response {
    let size = params.search.size.max(1);
    let pages = total.div_ceil(size).max(1);
    let kept: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(name, _)| name != "page[number]")
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
    let link = |number: u64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&kept);
        query.append_pair("page[number]", &number.to_string());
        format!("{}/api/{kind}?{}", api.base, query.finish())
    };
    let number = params.search.page;
    let mut links = json!({ "first": link(1), "last": link(pages) });
    if number > 1 {
        links["prev"] = json!(link((number - 1).min(pages)));
    }
    if number < pages {
        links["next"] = json!(link(number + 1));
    }
    let page = Page {
        data,
        included,
        links,
        meta: json!({ "record_count": total, "page_count": pages }),
    };
    document(StatusCode::OK, &page)
}

/// A list's document, written straight to JSON, keys by name (as a JSON
/// object value writes them).
struct Page<D, I> {
    data: D,
    included: Option<I>,
    links: Value,
    meta: Value,
}

impl<D: Serialize, I: Serialize> Serialize for Page<D, I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("data", &self.data)?;
        if let Some(included) = &self.included {
            map.serialize_entry("included", included)?;
        }
        map.serialize_entry("links", &self.links)?;
        map.serialize_entry("meta", &self.meta)?;
        map.end()
    }
}

/// `GET /api/customers`: Commerce Layer's filters, sorts and numbered pages.
pub(super) async fn list(
    State(api): State<Api>,
    called: Called,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let params = Params::parse(raw.as_deref(), true)?;
    params.check(&[])?;
    let found = customers::search(&api.state.reader, principal.mode, &params.search).await?;
    let data: Vec<_> = found
        .rows
        .iter()
        .map(|row| CustomerResource {
            base: &api.base,
            row,
            params: &params,
        })
        .collect();
    let none: Option<()> = None;
    Ok(page(
        &api,
        CUSTOMERS,
        raw.as_deref(),
        &params,
        found.total,
        data,
        none,
    ))
}

/// `GET /api/customers/{id}`.
pub(super) async fn retrieve(
    State(api): State<Api>,
    called: Called,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let params = Params::parse(raw.as_deref(), false)?;
    params.check(&[])?;
    let not_found = || {
        let detail = format!("no customer has the id {id}");
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", detail)
    };
    // No id holds a NUL; PostgreSQL would refuse to compare with one.
    if id.contains('\0') {
        return Err(not_found());
    }
    let search = Search {
        criteria: vec![Criterion {
            parameter: "id".into(),
            attribute: "id".into(),
            predicate: Predicate::Eq,
            value: id.clone(),
        }],
        page: 1,
        size: 1,
        ..Search::default()
    };
    let found = customers::search(&api.state.reader, principal.mode, &search).await?;
    let customer = found.rows.first().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no customer has the id {id}"),
        )
    })?;
    let body = json!({ "data": resources::customer(&api.base, customer, &params) });
    Ok(document(StatusCode::OK, &body))
}
