//! `GET /api/openapi.json`: an OpenAPI 3.1 document of the facade, built
//! from the lists the facade itself serves from: each type's attributes
//! ([`TYPES`]), each list's filterable and sortable attributes (the service's
//! `SEARCHABLE`), the predicates, the page bounds and the error codes.

use axum::{extract::State, http::StatusCode, response::Response};
use serde_json::{Map, Value, json};
use strum::VariantArray;

use super::{
    Api, MEDIA_TYPE, document,
    query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE},
    resources::{CUSTOMERS, Member, RESETS, Shape, TYPES},
};
use crate::{
    domain::{Delivery, ErrorCode},
    service::{
        customers,
        password_resets::SEARCHABLE,
        search::{Attribute, Kind, Predicate},
    },
};

/// The document, built from those lists for each request (no key needed).
pub(super) async fn serve(State(api): State<Api>) -> Response {
    let mut response = document(StatusCode::OK, &spec(&api.base));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn shape(member: &Member) -> Value {
    let base = match member.shape {
        Shape::Text => json!({ "type": "string" }),
        Shape::Time => json!({ "type": "string", "format": "date-time" }),
        Shape::Object => json!({ "type": "object" }),
        Shape::Bool => json!({ "type": "boolean" }),
    };
    let mut schema = if member.nullable {
        let kind = base["type"].clone();
        let mut nullable = base;
        nullable["type"] = json!([kind, "null"]);
        nullable
    } else {
        base
    };
    if member.integration_only {
        schema["description"] = json!("shown to integration keys only");
    }
    schema
}

/// The schema of a resource of `kind`.
fn resource(kind: &str, members: &[Member], relationships: &[&str]) -> Value {
    let properties: Map<String, Value> = members
        .iter()
        .map(|m| (m.name.to_owned(), shape(m)))
        .collect();
    let relationship = json!({
        "type": "object",
        "properties": {
            "links": { "type": "object", "properties": { "related": { "type": "string" } } },
            "data": { "type": ["object", "null"], "properties": {
                "type": { "type": "string" }, "id": { "type": "string" } } },
        },
    });
    let relationships: Map<String, Value> = relationships
        .iter()
        .map(|r| ((*r).to_owned(), relationship.clone()))
        .collect();
    json!({
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": { "type": "string" },
            "type": { "const": kind },
            "links": { "type": "object", "properties": { "self": { "type": "string" } } },
            "attributes": { "type": "object", "properties": properties },
            "relationships": { "type": "object", "properties": relationships },
            "meta": { "type": "object", "properties": { "mode": { "enum": ["test", "live"] } } },
        },
    })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

/// The filter parameters of a list over `attributes`.
fn filters<C>(attributes: &[Attribute<C>]) -> Vec<Value> {
    let mut parameters = Vec::new();
    for attribute in attributes {
        for predicate in Predicate::VARIANTS {
            if predicate.text_only() && attribute.kind != Kind::Text {
                continue;
            }
            let name = format!("filter[q][{}_{}]", attribute.name, predicate.as_str());
            let description = format!("{} {}", attribute.name, predicate.as_str());
            parameters.push(query(&name, &description, json!({ "type": "string" })));
        }
    }
    parameters
}

/// The parameters of a list of `kind` over `attributes`.
fn list_parameters<C>(kind: &str, attributes: &[Attribute<C>], include: bool) -> Vec<Value> {
    let sortable: Vec<&str> = attributes.iter().map(|a| a.name).collect();
    let mut parameters = vec![
        query(
            "page[number]",
            "the page, from 1",
            json!({ "type": "integer", "minimum": 1 }),
        ),
        query(
            "page[size]",
            "rows a page holds",
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE }),
        ),
        query(
            "sort",
            &format!(
                "comma-separated, `-` for descending: {}",
                sortable.join(", ")
            ),
            json!({ "type": "string" }),
        ),
    ];
    parameters.extend(fields_parameters(kind, include));
    parameters.extend(filters(attributes));
    parameters
}

fn fields_parameters(kind: &str, include: bool) -> Vec<Value> {
    let mut parameters = Vec::new();
    for (name, _, _) in TYPES {
        if *name == kind || include {
            let parameter = format!("fields[{name}]");
            let description = format!("the {name} fields to show, comma-separated");
            parameters.push(query(&parameter, &description, json!({ "type": "string" })));
        }
    }
    if include {
        let schema = json!({ "type": "string", "enum": ["customer"] });
        parameters.push(query("include", "relationships to include", schema));
    }
    parameters
}

fn content(schema: &str) -> Value {
    json!({ MEDIA_TYPE: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } })
}

fn answer(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": content(schema) })
}

/// The error answers every operation may give.
fn errors(codes: &[u16]) -> Map<String, Value> {
    codes
        .iter()
        .map(|code| {
            let reason = StatusCode::from_u16(*code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error");
            (code.to_string(), answer(reason, "Errors"))
        })
        .collect()
}

fn operation(summary: &str, parameters: Vec<Value>, ok: (u16, Value), failures: &[u16]) -> Value {
    let mut responses = errors(failures);
    responses.insert(ok.0.to_string(), ok.1);
    json!({ "summary": summary, "parameters": parameters, "responses": responses })
}

fn id_parameter() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } })
}

fn body(schema: &str) -> Value {
    json!({ "required": true, "content": content(schema) })
}

/// The whole document, with `base` as its server.
pub(crate) fn spec(base: &str) -> Value {
    let mut schemas = Map::new();
    for (kind, members, relationships) in TYPES {
        let name = if *kind == RESETS {
            "CustomerPasswordReset"
        } else {
            "Customer"
        };
        schemas.insert(name.into(), resource(kind, members, relationships));
    }
    let text = json!({ "type": "string" });
    let nullable_text = json!({ "type": ["string", "null"] });
    let deliveries: Vec<&str> = Delivery::VARIANTS.iter().map(|d| d.as_str()).collect();
    schemas.insert("CustomerPasswordResetCreate".into(), json!({
        "type": "object", "required": ["data"],
        "properties": { "data": { "type": "object", "required": ["type", "attributes"], "properties": {
            "type": { "const": RESETS },
            "attributes": { "type": "object", "required": ["customer_email"], "additionalProperties": false, "properties": {
                "customer_email": text, "reference": nullable_text, "reference_origin": nullable_text,
                "metadata": { "type": ["object", "null"] }, "redirect_url": text, "locale": text,
                "captcha_token": text, "delivery": { "enum": deliveries },
            } },
        } } },
    }));
    schemas.insert("CustomerPasswordResetUpdate".into(), json!({
        "type": "object", "required": ["data"],
        "properties": { "data": { "type": "object", "required": ["type", "id", "attributes"], "properties": {
            "type": { "const": RESETS }, "id": text,
            "attributes": { "type": "object", "additionalProperties": false, "properties": {
                "customer_password": text, "_reset_password_token": text,
                "reference": nullable_text, "reference_origin": nullable_text,
                "metadata": { "type": ["object", "null"] },
            } },
        } } },
    }));
    let list_meta = json!({ "type": "object", "properties": {
        "record_count": { "type": "integer" }, "page_count": { "type": "integer" } } });
    let list_links = json!({ "type": "object", "properties": {
        "first": text, "prev": text, "next": text, "last": text } });
    for (name, item) in [("CustomerPasswordReset", true), ("Customer", false)] {
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        let included =
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/Customer" } });
        let mut one =
            json!({ "type": "object", "required": ["data"], "properties": { "data": reference } });
        let mut many = json!({ "type": "object", "required": ["data", "meta", "links"], "properties": {
            "data": { "type": "array", "items": reference }, "meta": list_meta, "links": list_links } });
        if item {
            one["properties"]["included"] = included.clone();
            many["properties"]["included"] = included;
        }
        schemas.insert(format!("{name}Document"), one);
        schemas.insert(format!("{name}List"), many);
    }
    schemas.insert("Accepted".into(), json!({ "type": "object", "properties": {
        "data": { "type": "object", "properties": { "id": text, "type": { "const": RESETS },
            "attributes": { "type": "object", "properties": { "customer_email": text, "reset_password_token": { "type": "null" } } } } },
        "meta": { "type": "object", "properties": { "queued": { "type": "boolean" } } } } }));
    let codes: Vec<&str> = ErrorCode::VARIANTS.iter().map(|c| c.as_str()).collect();
    schemas.insert("Errors".into(), json!({ "type": "object", "required": ["errors"], "properties": {
        "errors": { "type": "array", "items": { "type": "object", "required": ["status", "code", "title"], "properties": {
            "title": text, "detail": text, "status": text,
            "code": { "type": "string", "description": format!("this server's machine code; for 422 one of {}", codes.join(", ")) },
            "source": { "type": "object", "properties": { "pointer": text, "parameter": text } },
            "meta": { "type": "object" },
        } } } } }));

    let single = |kind: &str, include: bool| {
        let mut parameters = vec![id_parameter()];
        parameters.extend(fields_parameters(kind, include));
        parameters
    };
    let resets = format!("/api/{RESETS}");
    let mut create = operation(
        "Start a password reset (integration: 201 with the token once; storefront: 202, the same for every email)",
        vec![],
        (201, answer("Created", "CustomerPasswordResetDocument")),
        &[400, 401, 403, 406, 409, 415, 422, 429],
    );
    create["requestBody"] = body("CustomerPasswordResetCreate");
    create["responses"]["202"] = answer("Accepted: queued", "Accepted");
    let mut update = operation(
        "Complete it (customer_password and _reset_password_token), or change the merchant's fields (integration)",
        vec![id_parameter()],
        (200, answer("OK", "CustomerPasswordResetDocument")),
        &[400, 401, 403, 404, 406, 409, 415, 422, 429],
    );
    update["requestBody"] = body("CustomerPasswordResetUpdate");
    let mut delete = operation(
        "Delete it (integration)",
        vec![id_parameter()],
        (204, json!({ "description": "Deleted" })),
        &[401, 403, 404],
    );
    delete["responses"]["204"] = json!({ "description": "Deleted" });
    let paths = json!({
        resets.clone(): {
            "get": operation("List resets (integration)", list_parameters(RESETS, &SEARCHABLE, true),
                (200, answer("OK", "CustomerPasswordResetList")), &[400, 401, 403, 406]),
            "post": create,
        },
        format!("{resets}/{{id}}"): {
            "get": operation("Retrieve a reset (integration)", single(RESETS, true),
                (200, answer("OK", "CustomerPasswordResetDocument")), &[400, 401, 403, 404, 406]),
            "patch": update,
            "delete": delete,
        },
        format!("{resets}/{{id}}/customer"): {
            "get": operation("The reset's customer (integration)", single(CUSTOMERS, false),
                (200, answer("OK", "CustomerDocument")), &[400, 401, 403, 404, 406]),
        },
        format!("/api/{CUSTOMERS}"): {
            "get": operation("List customers (integration)", list_parameters(CUSTOMERS, &customers::SEARCHABLE, false),
                (200, answer("OK", "CustomerList")), &[400, 401, 403, 406]),
        },
        format!("/api/{CUSTOMERS}/{{id}}"): {
            "get": operation("Retrieve a customer (integration)", single(CUSTOMERS, false),
                (200, answer("OK", "CustomerDocument")), &[400, 401, 403, 404, 406]),
        },
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "pwreset: Commerce Layer's JSON:API for customer password resets",
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "servers": [{ "url": base }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas,
        },
    })
}
