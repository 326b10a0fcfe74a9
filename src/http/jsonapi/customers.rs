//! `/api/customers` (integration keys), and the paging links every list
//! carries.

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{Value, json};

use super::{
    Api, ApiError, Called, document,
    query::Params,
    resources::{self, CUSTOMERS},
};
use crate::service::{
    customers,
    search::{Criterion, Predicate, Search},
};

/// A list's document: its `data`, `meta.record_count` and
/// `meta.page_count`, and `links` to the first, previous, next and last
/// pages, each keeping the request's other parameters.
pub(super) fn page(
    api: &Api,
    kind: &str,
    raw: Option<&str>,
    params: &Params,
    total: u64,
    data: Vec<Value>,
) -> Value {
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
    json!({
        "data": data,
        "meta": { "record_count": total, "page_count": pages },
        "links": links,
    })
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
    let data = found
        .rows
        .iter()
        .map(|c| resources::customer(&api.base, c, &params))
        .collect();
    let body = page(&api, CUSTOMERS, raw.as_deref(), &params, found.total, data);
    Ok(document(StatusCode::OK, &body))
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
