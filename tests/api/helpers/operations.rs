//! One helper per operation a test sends, and readers of what comes back.

use serde_json::{Value, json};

use super::{CREATE_RESET, CREATE_WEBHOOK, TestApp, start_time};
use pwreset::service::api_keys;

impl TestApp {
    /// The GraphQL endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// POSTs `body` as JSON with `key` as bearer; the raw response.
    pub async fn post(&self, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(self.url()).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    /// Runs a GraphQL operation; asserts HTTP 200 and returns the JSON body.
    pub async fn gql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self
            .post(key, &json!({ "query": query, "variables": variables }))
            .await;
        assert_eq!(
            response.status(),
            200,
            "GraphQL answered with HTTP {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Every row of every table of the database, as text: to look for what
    /// must never be stored.
    pub async fn dump_database(&self) -> String {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let backend = self.db.get_database_backend();
        let list = match backend {
            DbBackend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
            _ => {
                "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()"
            }
        };
        let tables: Vec<String> = self
            .db
            .query_all_raw(Statement::from_string(backend, list))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "t").unwrap())
            .collect();
        let mut dump = String::new();
        for table in tables {
            let rows = match backend {
                DbBackend::Sqlite => {
                    let info = format!("SELECT name FROM pragma_table_info('{table}')");
                    let columns: Vec<String> = self
                        .db
                        .query_all_raw(Statement::from_string(backend, info))
                        .await
                        .unwrap()
                        .iter()
                        .map(|row| row.try_get::<String>("", "name").unwrap())
                        .map(|c| format!("quote(\"{c}\")"))
                        .collect();
                    format!(
                        "SELECT {} AS r FROM \"{table}\"",
                        columns.join(" || '|' || ")
                    )
                }
                _ => format!("SELECT row_to_json(t)::text AS r FROM \"{table}\" t"),
            };
            for row in self
                .db
                .query_all_raw(Statement::from_string(backend, rows))
                .await
                .unwrap()
            {
                dump.push_str(&row.try_get::<String>("", "r").unwrap_or_default());
                dump.push('\n');
            }
        }
        dump
    }

    /// How many resets of test mode there are, as an integration sees them.
    pub async fn count_resets(&self) -> u64 {
        let body = self
            .gql(
                Some(&self.integration),
                "{ customerPasswordResets { totalCount } }",
                json!({}),
            )
            .await;
        body["data"]["customerPasswordResets"]["totalCount"]
            .as_u64()
            .expect("a count")
    }

    /// The server's metrics, as the admin listener serves them.
    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.admin_addr);
        let response = self.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Creates a test-mode customer (with `password` if given); returns its id.
    pub async fn create_customer(&self, email: &str, password: Option<&str>) -> String {
        let body = self
            .gql(
                Some(&self.integration),
                "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        assert_eq!(
            body["data"]["createCustomer"]["userErrors"],
            json!([]),
            "{body}"
        );
        body["data"]["createCustomer"]["customer"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Starts a reset with the test-mode integration key; returns `(id, token)`.
    pub async fn create_reset(&self, email: &str) -> (String, String) {
        self.create_reset_with(&self.integration, email).await
    }

    /// Starts a reset with an integration `key`; returns `(id, token)`.
    pub async fn create_reset_with(&self, key: &str, email: &str) -> (String, String) {
        let body = self.create_reset_raw(key, email).await;
        let payload = &body["data"]["createCustomerPasswordReset"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let reset = &payload["customerPasswordReset"];
        (
            reset["id"].as_str().unwrap().to_owned(),
            reset["resetPasswordToken"].as_str().unwrap().to_owned(),
        )
    }

    /// `createCustomerPasswordReset` with `key`; the whole response body,
    /// asserting HTTP 200.
    pub async fn create_reset_raw(&self, key: &str, email: &str) -> Value {
        let (status, _, body) = self.try_create_reset(key, email).await;
        assert_eq!(status, 200, "GraphQL answered with HTTP {status}: {body}");
        body
    }

    /// `createCustomerPasswordReset` with `key`, whatever the answer: the
    /// HTTP status, the `Retry-After` header and the body.
    pub async fn try_create_reset(&self, key: &str, email: &str) -> (u16, Option<String>, Value) {
        let body = json!({ "query": CREATE_RESET, "variables": { "email": email } });
        let response = self.post(Some(key), &body).await;
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, retry, response.json().await.unwrap())
    }

    /// Subscribes `url` to `topic` (the Commerce Layer name, such as
    /// `customers.create`) with the test-mode integration key; returns (id, secret).
    pub async fn subscribe(
        &self,
        topic: &str,
        url: &str,
        include_customer: bool,
    ) -> (String, String) {
        let body = self
            .gql(
                Some(&self.integration),
                CREATE_WEBHOOK,
                json!({ "input": { "topic": topic_enum(topic), "callbackUrl": url, "includeCustomer": include_customer } }),
            )
            .await;
        let payload = &body["data"]["createWebhook"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let hook = &payload["webhook"];
        (
            hook["id"].as_str().unwrap().to_owned(),
            hook["sharedSecret"].as_str().unwrap().to_owned(),
        )
    }

    /// `completeCustomerPasswordReset` with `key`; the payload.
    pub async fn complete(&self, key: &str, token: &str, password: &str) -> Value {
        let body = self
            .gql(
                Some(key),
                "mutation($input: CompleteCustomerPasswordResetInput!) { completeCustomerPasswordReset(input: $input) {
                    customerPasswordReset { id status resetPasswordAt }
                    userErrors { field message code } } }",
                json!({ "input": { "resetPasswordToken": token, "customerPassword": password } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"]["completeCustomerPasswordReset"].clone()
    }

    /// The reset with `id` as the test-mode integration key sees it.
    pub async fn reset(&self, id: &str) -> Value {
        let body = self
            .gql(
                Some(&self.integration),
                "query($id: ID!) { customerPasswordReset(id: $id) {
                    id status resetPasswordToken resetPasswordAt expiresAt createdAt updatedAt reference referenceOrigin metadata mode
                    customer { id email hasPassword } } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"]["customerPasswordReset"].clone()
    }

    /// The stored password digest of the customer with `email` (test mode).
    pub async fn password_digest(&self, email: &str) -> Option<String> {
        use pwreset::entity::customer;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        customer::Entity::find()
            .filter(customer::Column::EmailKey.eq(email.to_lowercase()))
            .filter(customer::Column::Mode.eq("test"))
            .one(&self.db)
            .await
            .unwrap()
            .and_then(|c| c.password_digest)
    }

    /// The principal a key stands for.
    pub async fn principal(&self, key: &str) -> pwreset::domain::Principal {
        let secret = pwreset::domain::ApiKeySecret::from_client(key);
        api_keys::authenticate(&self.db, &self.db, &secret, start_time())
            .await
            .unwrap()
            .unwrap()
    }

    /// The number of test-mode customers.
    pub async fn customer_count(&self) -> u64 {
        let body = self
            .gql(
                Some(&self.integration),
                "{ customers { totalCount } }",
                json!({}),
            )
            .await;
        body["data"]["customers"]["totalCount"].as_u64().unwrap()
    }
}

/// The `code`s of a payload's `userErrors`.
pub fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The `extensions.code` of each GraphQL error in a response body.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The `WebhookTopic` value of a Commerce Layer topic name:
/// `customers.create` is `CUSTOMERS_CREATE`.
pub fn topic_enum(name: &str) -> String {
    name.to_uppercase().replace('.', "_")
}
