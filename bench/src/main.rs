//! `cargo run --release -p bench`: seeds a realistic data set through the
//! project's migrations, starts the release server in a child process on
//! 127.0.0.1, drives it over HTTP at a fixed concurrency for a fixed time, and
//! prints, for each workload, requests/s, p50/p99 latency, errors (a response
//! with GraphQL `errors` counts as one), the server's RSS, and the ratio to the
//! ceiling of the work measured in the same run on the same machine.
//!
//! Every run is bounded in time, binds only to 127.0.0.1, and stops the
//! server it started.

mod ceiling;
mod external;
mod least;
mod load;
mod server;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use clap::Parser;
use pwreset::service::password::cores;
use rand::seq::IndexedRandom;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{
    ceiling::{Run, against_ceiling, one_hash, parallel_hashes, statements_of},
    least::Work,
    load::{Call, load, ms, row, row_against},
    server::{Server, serve, settle},
};

/// The same allocator as the `pwreset` binary, for the server under test.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The benchmark's options.
#[derive(Debug, Clone, Parser)]
#[command(about = "Benchmark the pwreset server end to end")]
struct Args {
    /// Database: a PostgreSQL URL (a database named `pwreset_bench` is created
    /// there, replacing any earlier one, and dropped at the end), or none for a
    /// fresh SQLite file.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Seconds each workload runs.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Concurrent clients (and pgbench clients for the ceilings).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Reach PostgreSQL over TLS (`sslmode=require`), from the server and
    /// from the ceilings' client alike; plain TCP (`sslmode=disable`) when
    /// not given, as most drivers and pgbench on a local network do.
    #[arg(long)]
    tls: bool,
    /// Also drive workloads 1 and 2 with `wrk`, an external load generator
    /// (Debian package `wrk`), each on a row of its own.
    #[arg(long)]
    wrk: bool,
    /// Customers to seed.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Resets to seed.
    #[arg(long, default_value_t = 100_000)]
    resets: usize,
    /// Workloads 1 and 2 alternate with their raw-SQL ceilings in this many
    /// slices each; workload 4's ceiling is timed just before and after it.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Which workloads to run (1 to 7, comma-separated); all by default.
    /// Workload 5 needs workload 1's rate, so it runs 1 too.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=7))]
    workloads: Vec<u8>,
    /// Print the server's process id and wait this many seconds before the
    /// first workload, so a profiler can attach (`perf record -p PID`).
    #[arg(long, default_value_t = 0)]
    attach_secs: u64,
    /// Internal: run the server on this database URL (the child process).
    #[arg(long, hide = true)]
    serve: Option<String>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Some(url) = args.serve.clone() {
        runtime.block_on(serve(url));
        return;
    }
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let duration = Duration::from_secs(args.duration_secs);
    let scratch = std::env::temp_dir().join(format!("pwreset-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");
    // On PostgreSQL, a database of its own, dropped at the end of the run.
    let mut admin = None;
    let url = match &args.database_url {
        Some(pg) if pg.starts_with("postgres") => {
            let admin = admin.insert(pwreset::connect(pg).await.expect("PostgreSQL answers"));
            admin
                .execute_unprepared("DROP DATABASE IF EXISTS pwreset_bench")
                .await
                .expect("drop");
            admin
                .execute_unprepared("CREATE DATABASE pwreset_bench")
                .await
                .expect("create");
            let (base, _) = pg.rsplit_once('/').expect("a database in the URL");
            let sslmode = if args.tls { "require" } else { "disable" };
            format!("{base}/pwreset_bench?sslmode={sslmode}")
        }
        _ => format!("sqlite://{}?mode=rwc", scratch.join("bench.db").display()),
    };
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    // Start-up to ready on a fresh SQLite file, migrations included.
    let fresh = format!("sqlite://{}?mode=rwc", scratch.join("fresh.db").display());
    let (server, startup) = Server::start(&fresh).await;
    server.stop().await;

    let db = pwreset::connect(&url).await.expect("the database opens");
    pwreset::migrate(&db).await.expect("migrations run");
    let seeding = Instant::now();
    let seed = Arc::new(bench::seed(&db, args.customers, args.resets).await);
    let seeded_in = seeding.elapsed();
    // Fresh tables have no statistics until autovacuum gets to them: without
    // these, the first workload's plans (the server's and the ceilings')
    // depend on when it did.
    if backend == "PostgreSQL" {
        db.execute_unprepared("VACUUM ANALYZE")
            .await
            .expect("VACUUM ANALYZE");
    }
    let (server, _) = Server::start(&url).await;
    let idle_rss = server.rss_kib();

    println!("\n## pwreset benchmark on {backend}");
    println!(
        "{} customers and {} resets seeded in {:.1} s; {} clients, {} s per workload; {} cores; start-up to ready on a fresh SQLite file: {} ms; idle server RSS {:.1} MiB\n",
        args.customers,
        args.resets,
        seeded_in.as_secs_f64(),
        args.concurrency,
        args.duration_secs,
        cores(),
        ms(startup),
        idle_rss as f64 / 1024.0
    );
    if args.attach_secs > 0 {
        eprintln!(
            "server pid {}: waiting {} s for a profiler to attach",
            server.target().pid.unwrap_or(0),
            args.attach_secs
        );
        tokio::time::sleep(Duration::from_secs(args.attach_secs)).await;
    }
    let wants = |n: u8| args.workloads.is_empty() || args.workloads.contains(&n);
    let wrk = args.wrk && {
        let found = external::available();
        if !found {
            eprintln!("--wrk: wrk is not on the PATH (apt-get install wrk); its rows are left out");
        }
        found
    };
    println!(
        "The server and the ceilings reach the database the same way: {}.\n",
        bench::transport(&db).await
    );
    println!(
        "| workload | req/s | p50 ms | p99 ms | errors | server RSS MiB (peak) | server CPU ms/req | PostgreSQL CPU ms/req | ratio to ceiling | ratio to own SQL replayed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");

    // 1. List 50 resets newest first, each with its customer's email.
    let list = bench::LIST;
    let mut w1_rps = 0.0;
    if wants(1) || wants(5) {
        let own = statements_of(&url, &seed.integration, list).await;
        let target = server.target();
        let run = Run {
            target: &target,
            key: &seed.integration,
            concurrency: args.concurrency,
            duration,
            rounds: args.rounds,
            url: &url,
        };
        let (w1, ceilings) = against_ceiling(
            &run,
            (Work::one(least::LIST), Work::replay(&own)),
            move || Some(json!({ "query": list })),
        )
        .await;
        row_against("1. list 50 resets with customers", &w1, ceilings);
        w1_rps = w1.rps();
        if wrk {
            let body = json!({ "query": list }).to_string();
            let f = external::wrk(
                &target,
                &seed.integration,
                &[body],
                args.concurrency,
                duration,
            )
            .await;
            external::row("1w. the same, driven by wrk", &f, Some(&ceilings));
        }
    }

    // 2. One reset by id.
    if wants(2) {
        let ids = seed.reset_ids.clone();
        let by_id = "query($id: ID!) { customerPasswordReset(id: $id) { id status customerEmail expiresAt } }";
        let sample = format!(
            "{{ customerPasswordReset(id: \"{}\") {{ id status customerEmail expiresAt }} }}",
            seed.reset_ids[0]
        );
        let own = statements_of(&url, &seed.integration, &sample).await;
        let least_work = Work::ById(Arc::new(seed.reset_ids.clone()));
        let target = server.target();
        let run = Run {
            target: &target,
            key: &seed.integration,
            concurrency: args.concurrency,
            duration,
            rounds: args.rounds,
            url: &url,
        };
        let (w2, ceilings) = against_ceiling(
            &run,
            (
                least_work,
                Work::replay_by_id(&own, &seed.reset_ids[0], seed.reset_ids.clone()),
            ),
            move || {
                let id = ids.choose(&mut rand::rng()).cloned()?;
                Some(json!({ "query": by_id, "variables": { "id": id } }))
            },
        )
        .await;
        row_against("2. one reset by id", &w2, ceilings);
        if wrk {
            let bodies: Vec<String> = seed
                .reset_ids
                .sample(&mut rand::rng(), 1000)
                .map(|id| json!({ "query": by_id, "variables": { "id": id } }).to_string())
                .collect();
            let f = external::wrk(
                &target,
                &seed.integration,
                &bodies,
                args.concurrency,
                duration,
            )
            .await;
            external::row("2w. the same, driven by wrk", &f, Some(&ceilings));
        }
    }

    // 6. The same reads over the JSON:API facade, beside GraphQL's at the
    // same page size (JSON:API pages hold at most 25).
    if wants(6) {
        let json_api = "/api/customer_password_resets?page[size]=25&sort=-created_at&include=customer\
                        &fields[customer_password_resets]=customer_email,status,created_at,customer\
                        &fields[customers]=email";
        let graphql = "{ customerPasswordResets(first: 25) { nodes { id customerEmail status createdAt customer { id email } } } }";
        let calls = [
            (
                "6a. JSON:API list 25 with customers",
                Call::Get(json_api.into()),
            ),
            (
                "6b. GraphQL list 25 with customers",
                Call::Graphql(json!({ "query": graphql })),
            ),
        ];
        for (name, call) in calls {
            let f = load(
                server.target(),
                &seed.integration,
                args.concurrency,
                duration,
                None,
                move || Some(call.clone()),
            )
            .await;
            row(name, &f, None);
        }
    }

    // 7. One reset by id over the JSON:API facade (compare with 2).
    if wants(7) {
        let ids = seed.reset_ids.clone();
        let f = load(
            server.target(),
            &seed.integration,
            args.concurrency,
            duration,
            None,
            move || {
                let id = ids.choose(&mut rand::rng()).cloned()?;
                Some(Call::Get(format!("/api/customer_password_resets/{id}")))
            },
        )
        .await;
        row("7. JSON:API one reset by id", &f, None);
    }

    // 3. Storefront creates, known and unknown emails, timed apart. Known
    // emails come from the customers without a token kept for workload 4, so
    // the resets they create do not supersede those tokens.
    if wants(3) {
        let first_free = args.customers / 2;
        let create = "mutation($e: String!) { createCustomerPasswordReset(input: { customerEmail: $e }) { userErrors { code } } }";
        for (name, known) in [
            ("3a. create, known emails", true),
            ("3b. create, unknown emails", false),
        ] {
            let emails = seed.emails[first_free..].to_vec();
            let counter = Arc::new(AtomicU64::new(0));
            let f = load(
                server.target(),
                &seed.sales_channel,
                args.concurrency,
                duration,
                None,
                move || {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let email = if known {
                        emails[n as usize % emails.len()].clone()
                    } else {
                        format!("nobody{n}@example.net")
                    };
                    Some(json!({ "query": create, "variables": { "e": email } }))
                },
            )
            .await;
            row(name, &f, None);
            settle(&db).await;
        }
    }

    // 4. Completes: Argon2 bound. Ceiling: cores / one hash.
    if wants(4) || wants(5) {
        // Timed just before workload 4 and again just after it (see below).
        let before = one_hash().await;
        let mut one_hash_time = before;
        let mut ceiling4 = cores() as f64 / one_hash_time.as_secs_f64();
        // What the cores really give when they all hash at once, with no server:
        // the gap to the ceiling is the hardware's (shared caches and memory
        // bandwidth, or vCPUs that share a physical core), not the server's.
        let parallel = parallel_hashes().await;
        let complete = "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }";
        if wants(4) {
            let tokens = seed.clone();
            let w4 = load(
                server.target(),
                &seed.sales_channel,
                args.concurrency,
                duration,
                None,
                move || {
                    let token = tokens.tokens.lock().expect("lock").pop()?;
                    Some(json!({ "query": complete, "variables": { "t": token } }))
                },
            )
            .await;
            one_hash_time = (before + one_hash().await) / 2;
            ceiling4 = cores() as f64 / one_hash_time.as_secs_f64();
            row("4. complete (Argon2id, m=19 MiB)", &w4, Some(ceiling4));
        }

        // 5. The list at a steady rate, alone and while completes saturate hashing.
        let mut p99_ratio = None;
        if wants(5) {
            let rate = (w1_rps / 4.0).clamp(5.0, 200.0);
            let list_alone = load(
                server.target(),
                &seed.integration,
                8,
                duration,
                Some(rate),
                move || Some(json!({ "query": list })),
            )
            .await;
            let tokens = seed.clone();
            let hashing = {
                let target = server.target();
                let key = seed.sales_channel.clone();
                let concurrency = args.concurrency;
                tokio::spawn(async move {
                    load(target, &key, concurrency, duration, None, move || {
                        let token = tokens.tokens.lock().expect("lock").pop()?;
                        Some(json!({ "query": complete, "variables": { "t": token } }))
                    })
                    .await
                })
            };
            let list_mixed = load(
                server.target(),
                &seed.integration,
                8,
                duration,
                Some(rate),
                move || Some(json!({ "query": list })),
            )
            .await;
            let mixed_hashing = hashing.await.expect("the hashing load");
            row(&format!("5a. list at {rate:.0}/s alone"), &list_alone, None);
            row(
                &format!("5b. list at {rate:.0}/s while hashing"),
                &list_mixed,
                None,
            );
            row(
                "5c. the completes meanwhile",
                &mixed_hashing,
                Some(ceiling4),
            );
            p99_ratio = Some(
                list_mixed.percentile(0.99).as_secs_f64()
                    / list_alone.percentile(0.99).as_secs_f64().max(1e-9),
            );
        }
        println!(
            "\nOne Argon2id hash: {} ms, so a ceiling of {:.0}/s on {} cores; the {} cores hashing at once, without the server: {:.0}/s ({:.0} % of that ceiling).",
            ms(one_hash_time),
            ceiling4,
            cores(),
            cores(),
            parallel,
            100.0 * parallel / ceiling4,
        );
        if let Some(ratio) = p99_ratio {
            println!("List p99 while hashing / alone: {ratio:.2}x");
        }
    }

    server.stop().await;
    drop(db);
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(admin) = admin {
        // Every connection to it is closed or closing; FORCE ends the stragglers.
        admin
            .execute_unprepared("DROP DATABASE IF EXISTS pwreset_bench WITH (FORCE)")
            .await
            .expect("the benchmark database is dropped");
    }
}
