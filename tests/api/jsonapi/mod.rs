//! Commerce Layer's JSON:API at `/api`: the same resources, keys, rows and
//! rules as GraphQL, with JSON:API's media types, status codes and errors.

mod lists;

use pwreset::HttpSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp};

/// The base every link starts with in these tests.
const BASE: &str = "https://api.shop.example";
const MEDIA: &str = "application/vnd.api+json";

async fn app() -> TestApp {
    TestApp::spawn_with(Options::with_http(HttpSettings {
        public_base_url: BASE.into(),
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..HttpSettings::default()
    }))
    .await
}

/// A request to `path` with `key`, a JSON:API body when given; the status,
/// the headers and the body (`null` when empty).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .client
        .request(method, format!("http://{}{path}", app.addr))
        .header("accept", MEDIA);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.header("content-type", MEDIA).body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !text.is_empty() {
        assert_eq!(headers["content-type"], MEDIA, "{text}");
    }
    (status, headers, body)
}

fn new_reset(attributes: Value) -> Value {
    json!({ "data": { "type": "customer_password_resets", "attributes": attributes } })
}

/// The first error's code and pointer.
fn error(body: &Value) -> (String, String) {
    let e = &body["errors"][0];
    (
        e["code"].as_str().unwrap_or_default().to_owned(),
        e["source"]["pointer"]
            .as_str()
            .or(e["source"]["parameter"].as_str())
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn an_integration_creates_retrieves_updates_completes_and_deletes_as_graphql_does() {
    let app = app().await;
    let customer = app.create_customer("ada@example.com", None).await;
    let key = Some(app.integration.as_str());
    let (status, headers, created) = call(
        &app,
        Method::POST,
        "/api/customer_password_resets",
        key,
        Some(new_reset(
            json!({ "customer_email": "ada@example.com", "reference": "ord-1" }),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let data = &created["data"];
    let id = data["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cpr_"));
    let link = format!("{BASE}/api/customer_password_resets/{id}");
    assert_eq!(headers["location"], link.as_str());
    assert_eq!(
        data["links"]["self"], link,
        "from PUBLIC_BASE_URL, not Host"
    );
    assert_eq!(data["attributes"]["reference"], "ord-1");
    assert_eq!(data["attributes"]["status"], "pending");
    assert_eq!(data["relationships"]["customer"]["data"]["id"], customer);
    let token = data["attributes"]["reset_password_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // GraphQL sees the same row; the token is never shown again.
    assert_eq!(app.reset(&id).await["reference"], "ord-1");
    let path = format!("/api/customer_password_resets/{id}");
    let (status, _, shown) = call(
        &app,
        Method::GET,
        &format!("{path}?include=customer"),
        key,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown["data"]["attributes"]["reset_password_token"],
        Value::Null
    );
    assert_eq!(shown["included"][0]["type"], "customers");
    assert_eq!(
        shown["included"][0]["attributes"]["email"],
        "ada@example.com"
    );
    let (_, _, related) = call(&app, Method::GET, &format!("{path}/customer"), key, None).await;
    assert_eq!(related["data"]["id"], customer);
    let (_, _, by_id) = call(
        &app,
        Method::GET,
        &format!("/api/customers/{customer}"),
        key,
        None,
    )
    .await;
    assert_eq!(by_id["data"]["attributes"]["has_password"], false);

    let update = |attributes: Value| json!({ "data": { "type": "customer_password_resets", "id": id, "attributes": attributes } });
    let (status, _, changed) = call(
        &app,
        Method::PATCH,
        &path,
        key,
        Some(update(json!({ "reference": null, "metadata": { "a": 1 } }))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["attributes"]["reference"], Value::Null);
    assert_eq!(changed["data"]["attributes"]["metadata"], json!({ "a": 1 }));

    // A refused password: 422 with our code, pointing at the attribute.
    let complete = |password: &str| {
        update(json!({ "customer_password": password, "_reset_password_token": token }))
    };
    let (status, _, refused) = call(&app, Method::PATCH, &path, key, Some(complete("short"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error(&refused),
        (
            "PASSWORD_TOO_SHORT".into(),
            "/data/attributes/customer_password".into()
        )
    );
    assert_eq!(refused["errors"][0]["meta"]["code"], "PASSWORD_TOO_SHORT");
    let sc = Some(app.sales_channel.as_str());
    let (status, _, done) = call(
        &app,
        Method::PATCH,
        &path,
        sc,
        Some(complete("a brand new password")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["data"]["attributes"]["status"], "completed");
    assert!(
        done["data"]["attributes"].get("reference").is_none(),
        "merchant fields: integrations only"
    );
    assert_eq!(app.reset(&id).await["status"], "COMPLETED");
    let (status, _, again) = call(
        &app,
        Method::PATCH,
        &path,
        sc,
        Some(complete("another new password")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&again).0, "TOKEN_ALREADY_USED");

    let (status, _, body) = call(&app, Method::DELETE, &path, key, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _, gone) = call(&app, Method::GET, &path, key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&gone).0, "NOT_FOUND");
}

#[tokio::test]
async fn a_storefront_create_is_accepted_alike_for_every_email_and_never_shows_a_token() {
    let app = app().await;
    app.create_customer("ada@example.com", None).await;
    let sc = Some(app.sales_channel.as_str());
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let (status, _, mut body) = call(
            &app,
            Method::POST,
            "/api/customer_password_resets",
            sc,
            Some(new_reset(json!({ "customer_email": email }))),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(
            body["data"]["attributes"]["reset_password_token"],
            Value::Null
        );
        // Apart from the generated id and the email given, the same bytes.
        body["data"]["id"] = Value::Null;
        body["data"]["attributes"]["customer_email"] = Value::Null;
        answers.push(body.to_string());
    }
    assert_eq!(answers[0], answers[1]);
    app.run_jobs().await;
    assert_eq!(
        app.count_resets().await,
        1,
        "the known email's reset, made by the queue"
    );

    // A storefront may not set the merchant's fields, read, list or delete.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/customer_password_resets",
        sc,
        Some(new_reset(
            json!({ "customer_email": "ada@example.com", "reference": "x" }),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error(&body),
        (
            "FIELD_NOT_ALLOWED".into(),
            "/data/attributes/reference".into()
        )
    );
    for path in ["/api/customer_password_resets", "/api/customers"] {
        let (status, _, body) = call(&app, Method::GET, path, sc, None).await;
        assert_eq!(
            (status, error(&body).0),
            (StatusCode::FORBIDDEN, "FORBIDDEN".into())
        );
    }
    let (_, id) = app.create_reset("ada@example.com").await;
    let path = format!("/api/customer_password_resets/{id}");
    let body = json!({ "data": { "type": "customer_password_resets", "id": id, "attributes": { "reference": "x" } } });
    let (status, _, _) = call(&app, Method::PATCH, &path, sc, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn media_types_keys_and_documents_are_checked_as_json_api_says() {
    let app = app().await;
    app.create_customer("ada@example.com", None).await;
    let url = format!("http://{}/api/customer_password_resets", app.addr);
    let body = new_reset(json!({ "customer_email": "ada@example.com" })).to_string();
    let send = |content_type: &'static str, accept: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&app.integration)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body.clone())
            .send()
    };
    for (content_type, accept, expected) in [
        ("application/json", MEDIA, 415),
        ("application/vnd.api+json; charset=utf-8", MEDIA, 415),
        (MEDIA, "application/vnd.api+json; charset=utf-8", 406),
        (
            MEDIA,
            "application/vnd.api+json; charset=utf-8, application/vnd.api+json; ext=\"https://x.example/e\"",
            201,
        ),
        (
            "application/vnd.api+json; profile=\"https://x.example/p\"",
            "*/*",
            201,
        ),
    ] {
        let response = send(content_type, accept).await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            expected,
            "{content_type} / {accept}"
        );
    }

    let path = "/api/customer_password_resets";
    let (status, _, body) = call(&app, Method::GET, path, None, None).await;
    assert_eq!(
        (status, error(&body).0),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into())
    );
    let (status, _, _) = call(&app, Method::GET, path, Some("pwr_test_int_nope"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let key = Some(app.integration.as_str());
    for (document, code, pointer) in [
        (
            json!({ "data": { "type": "customers", "attributes": {} } }),
            409,
            "/data/type",
        ),
        (json!({ "data": [] }), 400, "/data"),
        (
            new_reset(json!({ "customer_email": "ada@example.com", "colour": "red" })),
            400,
            "/data/attributes/colour",
        ),
        (
            new_reset(json!({ "customer_email": "ada@example.com", "status": "completed" })),
            400,
            "/data/attributes/status",
        ),
        (
            new_reset(json!({ "customer_email": 7 })),
            400,
            "/data/attributes/customer_email",
        ),
        (
            new_reset(json!({ "customer_email": "not an email" })),
            422,
            "/data/attributes/customer_email",
        ),
        (
            json!({ "data": { "type": "customer_password_resets", "id": "cpr_x", "attributes": {} } }),
            403,
            "/data/id",
        ),
    ] {
        let (status, _, body) = call(&app, Method::POST, path, key, Some(document.clone())).await;
        assert_eq!(status.as_u16(), code, "{document} → {body}");
        assert_eq!(error(&body).1, pointer, "{body}");
    }
    let (status, _, _) = call(&app, Method::GET, "/api/nothing_here", key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, id) = app.create_reset("ada@example.com").await;
    let patch = |id: &str| json!({ "data": { "type": "customer_password_resets", "id": id, "attributes": { "reference": "r" } } });
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &format!("{path}/{id}"),
        key,
        Some(patch("cpr_other")),
    )
    .await;
    assert_eq!(
        (status, error(&body).1),
        (StatusCode::CONFLICT, "/data/id".into())
    );
    let missing = "cpr_00000000000000000000000000";
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &format!("{path}/{missing}"),
        key,
        Some(patch(missing)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A token that belongs to another reset than the URL's completes nothing.
    let (_, token) = {
        app.create_customer("bea@example.com", None).await;
        app.create_reset("bea@example.com").await
    };
    let wrong = json!({ "data": { "type": "customer_password_resets", "id": id, "attributes": {
        "customer_password": "a brand new password", "_reset_password_token": token } } });
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &format!("{path}/{id}"),
        key,
        Some(wrong),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error(&body),
        (
            "TOKEN_INVALID".into(),
            "/data/attributes/_reset_password_token".into()
        )
    );
    assert!(app.password_digest("bea@example.com").await.is_none());
}

#[tokio::test]
async fn past_a_limit_the_answer_is_429_with_retry_after() {
    let app = TestApp::spawn_with(Options {
        rate_limits: pwreset::service::rate_limits::RateLimits {
            create_per_ip: pwreset::service::rate_limits::Limit::per(2, 3_600),
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let sc = Some(app.sales_channel.as_str());
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            call(
                &app,
                Method::POST,
                "/api/customer_password_resets",
                sc,
                Some(new_reset(json!({ "customer_email": "ada@example.com" }))),
            )
            .await,
        );
    }
    let (status, headers, body) = last.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(error(&body).0, "TOO_MANY_REQUESTS");
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_api_answers() {
    let app = app().await;
    let response = app
        .client
        .get(format!("http://{}/api/openapi.json", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let spec: Value = response.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["servers"][0]["url"], BASE);

    // The attributes it names are the ones a created reset carries.
    app.create_customer("ada@example.com", None).await;
    let (_, _, created) = call(
        &app,
        Method::POST,
        "/api/customer_password_resets",
        Some(&app.integration),
        Some(new_reset(json!({ "customer_email": "ada@example.com" }))),
    )
    .await;
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let documented = &spec["components"]["schemas"]["CustomerPasswordReset"]["properties"]["attributes"]
        ["properties"];
    assert_eq!(keys(documented), keys(&created["data"]["attributes"]));

    // Every filter it lists is one the API takes.
    let parameters = spec["paths"]["/api/customer_password_resets"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let filters: Vec<&str> = parameters
        .iter()
        .filter_map(|p| p["name"].as_str())
        .filter(|n| n.starts_with("filter[q]["))
        .collect();
    assert!(filters.len() > 60, "{}", filters.len());
    for filter in filters {
        let value = if filter.contains("null") {
            "true"
        } else if filter.contains("_at_") {
            "2026-01-01T00:00:00Z"
        } else {
            "x"
        };
        let path = format!("/api/customer_password_resets?{filter}={value}");
        let (status, _, body) = call(&app, Method::GET, &path, Some(&app.integration), None).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
    }
}

#[tokio::test]
async fn no_input_gets_a_500() {
    let app = app().await;
    app.create_customer("ada@example.com", None).await;
    let (_, id) = app.create_reset("ada@example.com").await;
    let key = Some(app.integration.as_str());
    let url = |path: &str| format!("http://{}{path}", app.addr);
    let resets = "/api/customer_password_resets";
    for body in [
        "",
        "null",
        "[]",
        "{\"data\":null}",
        "{\"data\":{\"type\":7}}",
        "{\"data\":{\"type\":\"customer_password_resets\",\"attributes\":[]}}",
        "{\"data\":{\"type\":\"customer_password_resets\",\"attributes\":{\"customer_email\":\"a@b.co\",\"metadata\":\"x\"}}}",
        "{\"data\":{\"type\":\"customer_password_resets\",\"attributes\":{\"customer_email\":\"a@b.co\",\"delivery\":\"pigeon\"}}}",
        "{\"data\":{\"type\":\"customer_password_resets\",\"attributes\":{\"customer_email\":\"a@b.co\",\"reference\":{}}}}",
        "{\"data\":{\"type\":\"customer_password_resets\",\"attributes\":{\"customer_email\":\"\\u0000'; DROP TABLE x;--@b.co\"}}}",
    ] {
        for (method, path) in [
            (Method::POST, resets.to_owned()),
            (Method::PATCH, format!("{resets}/{id}")),
        ] {
            let response = app
                .client
                .request(method.clone(), url(&path))
                .bearer_auth(&app.integration)
                .header("content-type", MEDIA)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(status.is_client_error(), "{method} {body}: {status} {text}");
            assert!(!text.contains("SELECT") && !text.contains("sqlx"), "{text}");
        }
    }
    for query in [
        "page[number]=99999999999999999999",
        "page[number]=18446744073709551615",
        "page[number]=737869762948382064",
        "filter[q][created_at_in]=,,,",
        "filter[q][customer_email_cont]=%25_%5C",
        "filter[q][id_in]=",
        "filter[q][_eq]=x",
        "filter[q][reference_null]=maybe",
        "sort=-",
        "sort=,,",
        "fields[]=x",
        "include=",
        "filter[q][customer_email_eq]=%00",
    ] {
        let (status, _, body) =
            call(&app, Method::GET, &format!("{resets}?{query}"), key, None).await;
        assert!(status.as_u16() < 500, "{query}: {status} {body}");
    }
    for path in [
        format!("{resets}/'%20OR%201=1"),
        format!("{resets}/{}", "x".repeat(5000)),
        format!("{resets}/%00/customer"),
        "/api/customers/cus_nope".to_owned(),
        "/api/customers/%00".to_owned(),
    ] {
        let (status, _, _) = call(&app, Method::GET, &path, key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
