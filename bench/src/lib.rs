//! What the end-to-end benchmark (`src/main.rs`) and the in-process criterion
//! benchmark (`benches/`) share: the server's settings, a seeded data set,
//! and a GraphQL request as the HTTP layer would build it.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use pwreset::{
    AppState, HttpSettings,
    config::Config,
    domain::{ApiKeySecret, Auth, ClientIp, Mode, Principal, PublicId, ResetToken, Role},
    entity::{customer, customer_password_reset as reset},
    graphql::{self, GraphqlSettings},
    metrics::Metrics,
    service::{
        api_keys,
        password::PasswordHasher,
        rate_limits::{Limit, RateLimits},
        webhooks::WebhookSettings,
    },
};
use rand::RngExt;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, Set};
use serde_json::json;

/// Workload 1: 50 resets newest first, each with its customer's email.
pub const LIST: &str = "{ customerPasswordResets(first: 50) { nodes { id customerEmail status createdAt customer { email } } } }";

/// HTTP settings of the server under test: the defaults, with a complexity
/// budget that admits the workloads.
pub fn http_settings() -> HttpSettings {
    HttpSettings {
        graphql: GraphqlSettings {
            max_complexity: 100_000,
            ..GraphqlSettings::default()
        },
        ..HttpSettings::default()
    }
}

/// The server's state on `db` and its `reader` ([`pwreset::connect_reader`]):
/// the defaults, with rate limits raised so that the workloads measure the
/// work and not the rate limiter, and test mode's emails written to the log
/// (what `cargo run` has).
pub fn state(
    db: DatabaseConnection,
    reader: pwreset::Reader,
    webhooks: WebhookSettings,
) -> AppState {
    let lots = Limit::per(u32::MAX / 2, 3_600);
    let config = Config {
        webhooks,
        rate_limits: RateLimits {
            create_per_email: lots,
            create_per_email_total: lots,
            create_per_key: lots,
            create_per_ip: lots,
            complete_per_ip: lots,
            complete_per_key: lots,
            ..RateLimits::default()
        },
        ..Config::defaults()
    };
    AppState::builder(config)
        .sealer(pwreset::service::sealing::TokenSealer::ephemeral())
        .build(db, reader)
        .expect("the default settings build a state")
}

/// The principal of the API key `key`.
///
/// # Panics
/// If the key is unknown: the benchmark made it.
pub async fn principal(db: &DatabaseConnection, key: &str) -> Principal {
    api_keys::authenticate(db, db, &ApiKeySecret::from_client(key), Utc::now())
        .await
        .expect("the key look-up")
        .expect("a valid key")
}

/// A GraphQL request for `query` with the data the HTTP layer attaches.
pub fn request(query: &str, principal: Principal, state: &AppState) -> async_graphql::Request {
    graphql::prepare(
        async_graphql::Request::new(query),
        state,
        Auth::Key(principal),
        ClientIp(None),
    )
}

/// Everything the workloads need from the seeded data.
pub struct Seed {
    pub integration: String,
    pub sales_channel: String,
    pub reset_ids: Vec<String>,
    pub emails: Vec<String>,
    /// Tokens of pending resets, one per customer, for completes.
    pub tokens: Mutex<Vec<String>>,
}

/// Seeds `customers` customers and `resets` resets (half the customers with
/// one pending reset whose token is kept, the rest completed, invalidated or
/// expired), and one key of each role, through the server's own tables.
///
/// # Panics
/// If the database refuses a row.
pub async fn seed(db: &DatabaseConnection, customers: usize, resets: usize) -> Seed {
    let now = Utc::now();
    let (_, integration) = api_keys::create(db, Role::Integration, Mode::Test, "bench", now)
        .await
        .expect("a key");
    let (_, sales_channel) = api_keys::create(db, Role::SalesChannel, Mode::Test, "bench", now)
        .await
        .expect("a key");
    let digest = {
        let hasher = PasswordHasher::owasp_minimum(Arc::new(Metrics::new()));
        let policy = pwreset::domain::PasswordPolicy::default();
        hasher
            .hash(
                pwreset::domain::Password::parse("a seeded passphrase".into(), &policy, None)
                    .expect("valid"),
            )
            .await
            .expect("hashed")
    };
    let mut emails = Vec::with_capacity(customers);
    for chunk in (0..customers).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|i| {
            let email = format!("customer{i}@example.com");
            emails.push(email.clone());
            customer::ActiveModel {
                public_id: Set(PublicId::generate("cus").into_string()),
                mode: Set(Mode::Test),
                email_key: Set(email.clone()),
                email: Set(email),
                password_digest: Set(Some(digest.clone())),
                reference: Set(None),
                password_changed_at: Set(Some(now)),
                metadata: Set(json!({})),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        });
        customer::Entity::insert_many(rows.collect::<Vec<_>>())
            .exec(db)
            .await
            .expect("customers inserted");
    }
    // In insertion order, so that `emails[i]` and `keys[i]` are one customer.
    let keys: Vec<(i64, String)> = customer::Entity::find()
        .order_by_asc(customer::Column::Id)
        .all(db)
        .await
        .expect("customers")
        .into_iter()
        .map(|c| (c.id, c.email))
        .collect();
    let mut rng = rand::rng();
    let mut reset_ids = Vec::with_capacity(resets);
    let mut tokens = Vec::new();
    let pending_customers = customers / 2;
    let mut rows = Vec::with_capacity(500);
    for i in 0..resets {
        // The first reset of each of half the customers stays pending, with a
        // token the benchmark knows; the rest are completed, expired or invalidated.
        let (customer_id, email) = if i < pending_customers {
            keys[i].clone()
        } else {
            keys[rng.random_range(0..keys.len())].clone()
        };
        let created = now - chrono::Duration::seconds((resets - i) as i64);
        let token = ResetToken::generate();
        let (reset_at, invalidated_at, expires_at) = if i < pending_customers {
            tokens.push(token.expose().to_owned());
            (None, None, now + chrono::Duration::hours(6))
        } else {
            match i % 3 {
                0 => (Some(created), None, created + chrono::Duration::hours(6)),
                1 => (None, Some(created), created + chrono::Duration::hours(6)),
                // Expired, and closed at its expiry, as the server closes an
                // expired reset (a customer has at most one open reset).
                _ => (None, Some(created), created),
            }
        };
        let public_id = PublicId::generate("cpr").into_string();
        reset_ids.push(public_id.clone());
        rows.push(reset::ActiveModel {
            public_id: Set(public_id),
            mode: Set(Mode::Test),
            customer_id: Set(customer_id),
            customer_email: Set(email),
            token_digest: Set(token.digest()),
            expires_at: Set(expires_at),
            reset_password_at: Set(reset_at),
            invalidated_at: Set(invalidated_at),
            reference: Set((i % 4 == 0).then(|| format!("order-{i}"))),
            reference_origin: Set(None),
            metadata: Set(json!({})),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        });
        if rows.len() == 500 {
            reset::Entity::insert_many(std::mem::take(&mut rows))
                .exec(db)
                .await
                .expect("resets inserted");
        }
    }
    if !rows.is_empty() {
        reset::Entity::insert_many(rows)
            .exec(db)
            .await
            .expect("resets inserted");
    }
    Seed {
        integration: integration.expose().to_owned(),
        sales_channel: sales_channel.expose().to_owned(),
        reset_ids,
        emails,
        tokens: Mutex::new(tokens),
    }
}

/// How `db` reaches the database, as the server does (the same URL and
/// driver): `SQLite file (in-process)`, or whether PostgreSQL's connection
/// is TLS (the benchmark's `--tls`).
///
/// # Panics
/// If PostgreSQL does not answer.
pub async fn transport(db: &DatabaseConnection) -> String {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return "an SQLite file, in-process".into();
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls",
        ))
        .await
        .expect("PostgreSQL answers")
        .expect("a row");
    let tls: bool = row.try_get("", "tls").expect("a boolean");
    if tls {
        "PostgreSQL over TLS (sslmode=require on both sides: --tls)".into()
    } else {
        "PostgreSQL over plain TCP (sslmode=disable on both sides; --tls for TLS)".into()
    }
}
