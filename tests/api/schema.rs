//! The schema: the committed SDL, documentation, and GraphQL null propagation.

use serde_json::json;

use crate::helpers::{TestApp, error_codes};

#[test]
fn the_committed_schema_graphql_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("print-schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed, pwreset::graphql::sdl());
    assert!(
        committed == printed,
        "schema.graphql is out of date: regenerate it with `cargo run -- print-schema > schema.graphql` and commit it"
    );
}

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_documented() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "{ __schema { types { name description
                fields { name description args { name description } }
                inputFields { name description }
                enumValues { name description } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let documented = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    for ty in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        let builtin =
            name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name);
        if builtin {
            continue;
        }
        if !documented(ty) {
            missing.push(name.to_owned());
        }
        for list in ["fields", "inputFields", "enumValues"] {
            for member in ty[list].as_array().into_iter().flatten() {
                if !documented(member) {
                    missing.push(format!("{name}.{}", member["name"]));
                }
                for arg in member["args"].as_array().into_iter().flatten() {
                    if !documented(arg) {
                        missing.push(format!("{name}.{}({})", member["name"], arg["name"]));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// async-graphql 7.1.0 to 7.2.1 drop a failing non-null field from its object
/// instead of nulling the parent, against the GraphQL spec. This fails if an
/// upgrade brings that back.
#[tokio::test]
async fn a_failing_non_null_field_nulls_its_nullable_parent() {
    let app = TestApp::spawn().await;
    let customer = app.create_customer("ada@example.com", None).await;
    // `passwordResets` is non-null and fails (page too large), so `customer`,
    // the nearest nullable parent, must become null; its sibling stays.
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customer(id: $id) { email passwordResets(first: 1000) { totalCount } } customers { totalCount } }",
            json!({ "id": customer }),
        )
        .await;
    assert_eq!(body["data"]["customer"], json!(null), "{body}");
    assert_eq!(body["data"]["customers"]["totalCount"], 1);
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert_eq!(
        body["errors"][0]["path"],
        json!(["customer", "passwordResets"])
    );
}
