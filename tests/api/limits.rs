//! Protecting the server: depth, complexity, aliases, introspection,
//! suggestions, and the request timeout.

use serde_json::{Value, json};

use pwreset::{
    domain::{Caller, Mode},
    graphql::GraphqlSettings,
    service::{
        customers::{self, NewCustomer},
        password::PasswordHasher,
        password_resets::{self, NewReset, ResetColumns, ResetStatus, Started},
    },
};

use crate::helpers::{Options, TestApp, error_codes, start_time};

/// Asserts that `query` is refused as a request error whose message mentions `why`.
async fn assert_refused(app: &TestApp, query: &str, why: &str) {
    let (status, body) = status_and_body(app, query).await;
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(message.contains(why), "{body}");
}

/// `query` as a client asking for `application/graphql-response+json`, which
/// gets request errors as 4xx: the status and the body.
async fn status_and_body(app: &TestApp, query: &str) -> (u16, Value) {
    status_and_body_with(app, query, json!({})).await
}

/// `status_and_body` with `variables`.
async fn status_and_body_with(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url())
        .bearer_auth(&app.integration)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn queries_over_the_depth_complexity_or_alias_limits_are_refused() {
    let app = TestApp::spawn().await;
    // Complexity: 100 customers times 100 resets each is far over the default.
    let heavy = "{ customers(first: 100) { nodes { passwordResets(first: 100) { nodes { id customerEmail status } } } } }";
    assert_refused(&app, heavy, "complex").await;
    // The same shape with small pages passes: `first` is what counts.
    let light = "{ customers(first: 5) { nodes { passwordResets(first: 5) { nodes { id customerEmail status } } } } }";
    assert_eq!(status_and_body(&app, light).await.0, 200);

    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    assert_refused(&app, &format!("{{ {aliases} }}"), "aliases").await;
    let fine: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
    assert_eq!(status_and_body(&app, &format!("{{ {fine} }}")).await.0, 200);

    let shallow = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        graphql: GraphqlSettings {
            max_depth: 3,
            ..Default::default()
        },
        ..Default::default()
    }))
    .await;
    let deep = "{ customers { nodes { passwordResets { nodes { id } } } } }";
    assert_refused(&shallow, deep, "nested").await;
}

#[tokio::test]
async fn every_graphql_example_in_the_docs_passes_the_default_limits() {
    let app = TestApp::spawn().await;
    let docs = crate::helpers::docs();
    let blocks = docs.blocks("graphql");
    assert!(blocks.len() >= 7, "the docs show their GraphQL examples");
    // What the TypeScript example's operations declare (unused ones are ignored).
    let variables =
        json!({ "email": "ada@example.com", "token": "t", "password": "a brand new passphrase" });
    for block in blocks {
        let (status, body) = status_and_body_with(&app, block, variables.clone()).await;
        assert_eq!(status, 200, "{block}: {body}");
        assert!(body.get("data").is_some(), "{block}: {body}");
    }
}

#[tokio::test]
async fn graphiqls_introspection_query_passes_the_default_limits() {
    let app = TestApp::spawn().await;
    // The shape GraphiQL sends: `ofType` nested seven levels deep.
    let type_ref = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let query = format!(
        "query IntrospectionQuery {{ __schema {{ queryType {{ name }} mutationType {{ name }} types {{ kind name description
            fields(includeDeprecated: true) {{ name description args {{ name description type {{ {type_ref} }} defaultValue }}
              type {{ {type_ref} }} isDeprecated deprecationReason }}
            inputFields {{ name description type {{ {type_ref} }} defaultValue }}
            interfaces {{ {type_ref} }} enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
            possibleTypes {{ {type_ref} }} }}
          directives {{ name description locations args {{ name description type {{ {type_ref} }} defaultValue }} }} }} }}"
    );
    let (status, body) = status_and_body(&app, &query).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 20);
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_turned_off() {
    let open = TestApp::spawn().await;
    let (_, body) = status_and_body(&open, "{ customerz { totalCount } }").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );

    let closed = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        graphql: GraphqlSettings {
            introspection: false,
            field_suggestions: false,
            ..Default::default()
        },
        ..Default::default()
    }))
    .await;
    let (_, body) = status_and_body(&closed, "{ customerz { totalCount } }").await;
    assert!(
        !body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );
    let (_, body) = status_and_body(&closed, "{ __schema { types { name } } }").await;
    assert_eq!(
        body["data"]["__schema"],
        Value::Null,
        "the schema stays hidden: {body}"
    );
    assert!(!body.to_string().contains("CustomerPasswordReset"));
    // Ordinary queries still work.
    let (status, _) = status_and_body(&closed, "{ customers { totalCount } }").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_stopped_with_a_clean_503() {
    let app = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        request_timeout: std::time::Duration::from_millis(1),
        ..Default::default()
    }))
    .await;
    // Set up through the services: every request to this server times out.
    let (id, token) = seed_reset(&app).await;
    // Hashing a password alone takes far longer than a millisecond.
    let response = app
        .post(
            Some(&app.sales_channel),
            &json!({
                "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a new password\" }) { userErrors { code } } }",
                "variables": { "t": token }
            }),
        )
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["TIMEOUT"]);
    let reset = password_resets::get(&app.db, Mode::Test, &id, ResetColumns::Shown)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        password_resets::status(&reset, start_time()),
        ResetStatus::Pending,
        "the stopped request changed nothing"
    );
}

async fn seed_reset(app: &TestApp) -> (String, String) {
    let hasher =
        PasswordHasher::owasp_minimum(std::sync::Arc::new(pwreset::metrics::Metrics::new()));
    let new = NewCustomer {
        email: "ada@example.com".into(),
        ..Default::default()
    };
    let metrics = pwreset::metrics::Metrics::new();
    let screening = customers::Screening {
        breached: None,
        metrics: &metrics,
    };
    customers::create(&app.db, &hasher, screening, Mode::Test, new, start_time())
        .await
        .unwrap();
    let new = NewReset {
        customer_email: "ada@example.com".into(),
        ..Default::default()
    };
    let caller = Caller {
        principal: app.principal(&app.integration).await,
        client_ip: None,
    };
    let created = app.state.resets().start(&caller, new);
    match created.await.unwrap() {
        Started::Reset { reset, token, .. } => (reset.public_id, token.expose().to_owned()),
        Started::Queued => unreachable!("an integration key creates at once"),
    }
}
