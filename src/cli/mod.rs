//! The binary's commands: parsing the command line and the environment with
//! their checks, logging, opening the database, then serving or running an
//! admin command. `main.rs` only calls [`main`].

mod admin;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use sea_orm::DatabaseConnection;
use tracing_subscriber::EnvFilter;

use crate::{
    config::{self, Cli, Command, Config, ConfigCommand, LogFormat},
    database,
};

/// What a command's failure says.
pub(crate) type BoxError = Box<dyn std::error::Error>;

/// Exit code of a configuration that cannot be used (as clap's usage errors).
const BAD_CONFIGURATION: u8 = 2;

/// Runs the command the command line names; returns the process's exit code.
pub async fn main() -> ExitCode {
    // `--help` never prints a variable's value: some hold passwords.
    let command = Cli::command().mut_args(|arg| arg.hide_env_values(true));
    let matches = command.clone().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logs(cli.config.log_format);
    let environment = config::unknown_settings(
        &known_variables(&command),
        variables().iter().map(String::as_str),
    );
    let sources = cli.config.resolve_files(&matches);
    let redactor = cli.config.redactor();
    if let Some(Command::Config(ConfigCommand::Check { connect })) = &cli.command {
        let (sources, mut problems) = match sources {
            Ok(sources) => (sources, environment),
            Err(files) => (config::Sources::default(), [environment, files].concat()),
        };
        problems = config::check(
            &cli.config,
            &sources,
            &matches,
            &command,
            std::mem::take(&mut problems),
            *connect,
        )
        .await;
        return if problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(BAD_CONFIGURATION)
        };
    }
    let problems = match sources {
        Ok(_) => environment,
        Err(files) => [environment, files].concat(),
    };
    if !problems.is_empty() {
        for problem in problems {
            report(cli.config.log_format, &redactor.redact(&problem));
        }
        return ExitCode::from(BAD_CONFIGURATION);
    }
    match run(cli.command.take().unwrap_or(Command::Serve), &cli.config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(cli.config.log_format, &redactor.redact(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: &Config) -> Result<(), BoxError> {
    match command {
        Command::Serve => serve::serve(config).await,
        Command::PrintSchema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            open(config, Migrations::Run).await?;
            println!("the database schema is current");
            Ok(())
        }
        Command::ApiKey(command) => admin::api_key(config, command).await,
        Command::Backup { path } => admin::backup(config, &path).await,
        Command::Healthcheck { url } => admin::healthcheck(config, url).await,
        Command::Config(_) => Ok(()), // handled before: it reports, never fails
    }
}

/// Logs to stderr, one JSON object per line under `LOG_FORMAT=json`, in
/// colour only on a terminal. `RUST_LOG` filters; by default `info`, with
/// the migration library's per-migration lines left out (they are summed
/// up in one line).
fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
}

/// Says `message` as a failure: `error: …` on stderr, or a JSON log line.
fn report(format: LogFormat, message: &str) {
    match format {
        LogFormat::Human => eprintln!("error: {message}"),
        LogFormat::Json => tracing::error!("{message}"),
    }
}

/// The names of the process's environment variables.
fn variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect()
}

/// Every environment variable a setting of `command` (or of its
/// subcommands) reads.
fn known_variables(command: &clap::Command) -> Vec<String> {
    let mut known: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .filter_map(|env| env.to_str().map(str::to_owned))
        .collect();
    for sub in command.get_subcommands() {
        known.extend(known_variables(sub));
    }
    known.sort();
    known.dedup();
    known
}

/// What opening the database does with a schema behind this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migrations {
    /// Applies the pending migrations.
    Run,
    /// Refuses to go on: `pwreset migrate` first.
    Require,
    /// Leaves the schema as it is (a backup copies it as it is).
    Leave,
}

/// Opens the database `config` names, and brings its schema up to date or
/// checks it as `migrations` says: one line for what was applied (each
/// migration's name at debug level).
pub(crate) async fn open(
    config: &Config,
    migrations: Migrations,
) -> Result<DatabaseConnection, BoxError> {
    let db = database::open(&config.database_url, config.db_acquire_timeout)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))?;
    if migrations == Migrations::Leave {
        return Ok(db);
    }
    let pending = database::pending_migrations(&db)
        .await
        .map_err(|e| format!("cannot read the schema's version: {e}"))?;
    if pending.is_empty() {
        return Ok(db);
    }
    if migrations == Migrations::Require {
        return Err(format!(
            "the database schema is behind this server ({} migrations pending: {}); run `pwreset migrate` first",
            pending.len(),
            pending.join(", ")
        )
        .into());
    }
    for name in &pending {
        tracing::debug!(migration = %name, "applying");
    }
    database::migrate(&db)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    tracing::info!(
        count = pending.len(),
        "applied {} migrations",
        pending.len()
    );
    Ok(db)
}
