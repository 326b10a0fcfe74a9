//! `/api/customer_password_resets`: create, list, retrieve, update (which
//! completes a reset with `customer_password` and `_reset_password_token`),
//! delete, and the reset's customer.

use std::borrow::Cow;

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use serde_json::{Value, json};

use super::{
    Api, ApiError, Called, Data, document, forbidden,
    input::{attributes, merchant, only, pointer, text},
    query::Params,
    resources::{self, CustomerResource, RESETS, ResetResource, ResetView},
};
use crate::{
    domain::{PublicId, RawPassword, ResetToken, Role},
    service::{
        password_resets::{
            self, NewReset, ResetColumns, ResetColumns::Brief, ResetRow, Started, WithCustomers,
        },
        search::{Criterion, Predicate, Search},
    },
};

/// What a list or a retrieve may include and show.
const INCLUDES: &[&str] = &["customer"];

/// `POST /api/customer_password_resets`: `201` with the reset and its token
/// for an integration key; `202` for a sales-channel key, the same for every
/// email (the request is queued).
pub(super) async fn create(
    State(api): State<Api>,
    Called(caller): Called,
    Data(data): Data,
) -> Result<Response, ApiError> {
    if data.contains_key("id") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "ids are chosen by the server",
        )
        .at("/data/id"));
    }
    let attributes = attributes(&data)?;
    only(
        &attributes,
        &[
            "customer_email",
            "reference",
            "reference_origin",
            "metadata",
            "redirect_url",
            "locale",
            "captcha_token",
            "delivery",
        ],
    )?;
    let customer_email = text(&attributes, "customer_email")?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EMAIL",
            "customer_email is required",
        )
        .at(pointer("customer_email"))
    })?;
    let delivery = text(&attributes, "delivery")?
        .map(|d| d.parse())
        .transpose()
        .map_err(|_| {
            ApiError::bad_member(
                &pointer("delivery"),
                "delivery is link, code or link_and_code",
            )
        })?;
    let new = NewReset {
        customer_email: customer_email.clone(),
        merchant: merchant(&attributes)?,
        redirect_url: text(&attributes, "redirect_url")?,
        locale: text(&attributes, "locale")?,
        captcha_token: text(&attributes, "captcha_token")?,
        delivery,
    };
    let now = api.state.clock.now();
    match api.state.resets().start(&caller, new).await? {
        Started::Reset {
            reset, token, code, ..
        } => {
            let row = reset::Shown::from(*reset);
            let customer_id = customer_of(&api, &row).await?;
            let view = ResetView {
                row: &row,
                customer_id: customer_id.as_deref(),
                token: Some(token.expose()),
                code: code.as_ref().map(|c| c.expose()),
                role: Role::Integration,
                now,
            };
            let resource = resources::reset(&api.base, &view, &Params::default());
            let location = resource["links"]["self"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut response = document(StatusCode::CREATED, &json!({ "data": resource }));
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Started::Queued => {
            // The same for every email: nothing says whether it has an account.
            let body = json!({
                "data": {
                    "id": PublicId::generate("rqs").into_string(),
                    "type": RESETS,
                    "attributes": { "customer_email": customer_email, "reset_password_token": null },
                },
                "meta": { "queued": true },
            });
            Ok(document(StatusCode::ACCEPTED, &body))
        }
    }
}

use crate::entity::customer_password_reset as reset;

/// The public id of `row`'s customer.
async fn customer_of(api: &Api, row: &reset::Shown) -> Result<Option<String>, ApiError> {
    let found = find(api, row.mode, &row.public_id, Brief, WithCustomers::Brief).await?;
    Ok(found.and_then(|(_, c)| resources::customer_id(&c).map(str::to_owned)))
}

/// The reset of `mode` with public id `id`, read with the columns `resets`,
/// with its customer as `with` says.
async fn find(
    api: &Api,
    mode: crate::domain::Mode,
    id: &str,
    resets: ResetColumns,
    with: WithCustomers,
) -> Result<Option<ResetRow>, ApiError> {
    // No id holds a NUL; PostgreSQL would refuse to compare with one.
    if id.contains('\0') {
        return Ok(None);
    }
    let search = Search {
        criteria: vec![Criterion {
            parameter: "id".into(),
            attribute: "id".into(),
            predicate: Predicate::Eq,
            value: id.to_owned(),
        }],
        page: 1,
        size: 1,
        ..Search::default()
    };
    let found = password_resets::search(&api.state.reader, mode, &search, resets, with).await?;
    Ok(found.rows.into_iter().next())
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no reset has the id {id}"),
    )
}

/// One reset and, when asked, its customer, as a document.
fn one(api: &Api, row: &ResetRow, role: Role, params: &Params) -> Value {
    let view = ResetView {
        row: &row.0,
        customer_id: resources::customer_id(&row.1),
        token: None,
        code: None,
        role,
        now: api.state.clock.now(),
    };
    let mut body = json!({ "data": resources::reset(&api.base, &view, params) });
    if params.includes("customer") {
        // A brief customer was read only for `fields[customers]` a brief
        // read answers (`resources::customer_columns`).
        let customer = match &row.1 {
            Some(password_resets::ListedCustomer::Shown(c)) => Some(c.clone()),
            Some(password_resets::ListedCustomer::Brief(c)) => {
                Some(c.clone().into_shown(row.0.mode))
            }
            None => None,
        };
        if let Some(customer) = customer {
            body["included"] = json!([resources::customer(&api.base, &customer, params)]);
        }
    }
    body
}

/// `GET /api/customer_password_resets/{id}` (integration keys).
pub(super) async fn retrieve(
    State(api): State<Api>,
    called: Called,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let params = Params::parse(raw.as_deref(), false)?;
    params.check(INCLUDES)?;
    // As Commerce Layer's: the customer's linkage only when it is included.
    let with = if params.includes("customer") {
        resources::customer_columns(&params)
    } else {
        WithCustomers::No
    };
    let columns = resources::reset_columns(&params);
    let row = find(&api, principal.mode, &id, columns, with)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(document(
        StatusCode::OK,
        &one(&api, &row, Role::Integration, &params),
    ))
}

/// `GET /api/customer_password_resets/{id}/customer` (integration keys).
pub(super) async fn customer(
    State(api): State<Api>,
    called: Called,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let params = Params::parse(raw.as_deref(), false)?;
    params.check(&[])?;
    let row = find(&api, principal.mode, &id, Brief, WithCustomers::Shown)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let data = match &row.1 {
        Some(password_resets::ListedCustomer::Shown(c)) => {
            resources::customer(&api.base, c, &params)
        }
        _ => Value::Null,
    };
    Ok(document(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /api/customer_password_resets` (integration keys): Commerce Layer's
/// filters, sorts and numbered pages.
pub(super) async fn list(
    State(api): State<Api>,
    called: Called,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let params = Params::parse(raw.as_deref(), true)?;
    params.check(INCLUDES)?;
    // As Commerce Layer's: the customer's linkage only when it is included.
    let with = if params.includes("customer") {
        resources::customer_columns(&params)
    } else {
        WithCustomers::No
    };
    let columns = resources::reset_columns(&params);
    let found = password_resets::search(
        &api.state.reader,
        principal.mode,
        &params.search,
        columns,
        with,
    )
    .await?;
    let now = api.state.clock.now();
    let data: Vec<ResetResource> = found
        .rows
        .iter()
        .map(|(row, customer)| ResetResource {
            base: &api.base,
            view: ResetView {
                row,
                customer_id: resources::customer_id(customer),
                token: None,
                code: None,
                role: Role::Integration,
                now,
            },
            params: &params,
        })
        .collect();
    // Each customer once, in the order the page first shows it.
    let included = params.includes("customer").then(|| {
        let mut seen = std::collections::HashSet::new();
        found
            .rows
            .iter()
            .filter_map(|(row, customer)| match customer {
                Some(password_resets::ListedCustomer::Shown(c)) => Some(Cow::Borrowed(c)),
                // Brief only for `fields[customers]` a brief read answers.
                Some(password_resets::ListedCustomer::Brief(c)) => {
                    Some(Cow::Owned(c.clone().into_shown(row.mode)))
                }
                None => None,
            })
            .filter(|c| seen.insert(c.public_id.clone()))
            .collect::<Vec<_>>()
    });
    let included = included.as_ref().map(|customers| {
        customers
            .iter()
            .map(|row| CustomerResource {
                base: &api.base,
                row,
                params: &params,
            })
            .collect::<Vec<_>>()
    });
    let (kind, raw) = (RESETS, raw.as_deref());
    Ok(super::customers::page(
        &api,
        kind,
        raw,
        &params,
        found.total,
        data,
        included,
    ))
}

/// `PATCH /api/customer_password_resets/{id}`: `customer_password` with
/// `_reset_password_token` completes the reset (any key); `reference`,
/// `reference_origin` and `metadata` change it (integration keys).
pub(super) async fn update(
    State(api): State<Api>,
    called: Called,
    Path(id): Path<String>,
    Data(data): Data,
) -> Result<Response, ApiError> {
    match data.get("id").and_then(Value::as_str) {
        Some(given) if given == id => {}
        Some(_) => {
            let detail = "the document's id is not the one in the URL";
            return Err(ApiError::new(StatusCode::CONFLICT, "CONFLICT", detail).at("/data/id"));
        }
        None => {
            return Err(ApiError::bad_member(
                "/data/id",
                "the resource needs its id",
            ));
        }
    }
    let attributes = attributes(&data)?;
    let caller = &called.0;
    let mode = caller.principal.mode;
    let now = api.state.clock.now();
    let completing = ["customer_password", "_reset_password_token"]
        .iter()
        .any(|k| attributes.contains_key(*k));
    let row = if completing {
        only(&attributes, &["customer_password", "_reset_password_token"])?;
        let required = |name: &str| {
            text(&attributes, name)?.ok_or_else(|| {
                let detail = "customer_password and _reset_password_token go together";
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "TOKEN_INVALID", detail)
                    .at(pointer(name))
            })
        };
        let token = ResetToken::from_client(required("_reset_password_token")?);
        let password = RawPassword::new(required("customer_password")?);
        // The token names the reset; it must be the one in the URL.
        let owner = password_resets::reset_id_of_token(&api.state.reader, mode, &token).await?;
        if owner.as_ref().is_some_and(|owner| *owner != id) {
            let detail = "is not valid";
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "TOKEN_INVALID", detail)
                    .at(pointer("_reset_password_token")),
            );
        }
        api.state.resets().complete(caller, token, password).await?
    } else {
        if caller.principal.role != Role::Integration {
            return Err(forbidden());
        }
        only(&attributes, &["reference", "reference_origin", "metadata"])?;
        let changes = merchant(&attributes)?;
        password_resets::update(&api.state.db, mode, &id, changes, now).await?
    };
    let row: ResetRow = (reset::Shown::from(row), None);
    let customer_id = customer_of(&api, &row.0).await?;
    let view = ResetView {
        row: &row.0,
        customer_id: customer_id.as_deref(),
        token: None,
        code: None,
        role: caller.principal.role,
        now: api.state.clock.now(),
    };
    let resource = resources::reset(&api.base, &view, &Params::default());
    Ok(document(StatusCode::OK, &json!({ "data": resource })))
}

/// `DELETE /api/customer_password_resets/{id}` (integration keys): `204`.
pub(super) async fn delete(
    State(api): State<Api>,
    called: Called,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = called.integration()?;
    let now = api.state.clock.now();
    password_resets::delete(&api.state.db, principal.mode, &id, now).await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
