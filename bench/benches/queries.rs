//! `cargo bench -p bench`: the list query of workload 1, and one reset by id,
//! executed in-process on a seeded SQLite file — schema, resolvers, SeaORM,
//! SQLite and JSON serialisation, without HTTP or a load generator — so that a
//! regression in the server's own work shows without their noise.

use criterion::{Criterion, criterion_group, criterion_main};
use pwreset::{graphql::build_schema, service::webhooks::WebhookSettings};

/// The allocator of the `pwreset` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let scratch = std::env::temp_dir().join(format!("pwreset-criterion-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");
    let url = format!("sqlite://{}?mode=rwc", scratch.join("bench.db").display());
    let (state, schema, principal, reset_id) = runtime.block_on(async {
        let db = pwreset::connect(&url).await.expect("the database opens");
        pwreset::migrate(&db).await.expect("migrations run");
        let reader = pwreset::connect_reader(&url, &db)
            .await
            .expect("the database opens for reading");
        let seed = bench::seed(&db, 1_000, 10_000).await;
        let principal = bench::principal(&db, &seed.integration).await;
        let state = bench::state(db.clone(), reader, WebhookSettings::default());
        let schema = build_schema(state.clone(), &bench::http_settings().graphql);
        (
            state,
            schema,
            principal,
            seed.reset_ids[seed.reset_ids.len() / 2].clone(),
        )
    });
    let by_id = format!(
        "{{ customerPasswordReset(id: \"{reset_id}\") {{ id status customerEmail expiresAt }} }}"
    );
    for (name, query) in [
        ("list 50 resets with customers", bench::LIST),
        ("one reset by id", by_id.as_str()),
    ] {
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = schema
                    .execute(bench::request(query, principal.clone(), &state))
                    .await;
                assert!(response.errors.is_empty(), "{:?}", response.errors);
                serde_json::to_vec(&response).expect("JSON")
            })
        });
    }
    drop(state);
    let _ = std::fs::remove_dir_all(&scratch);
}

criterion_group!(benches, queries);
criterion_main!(benches);
