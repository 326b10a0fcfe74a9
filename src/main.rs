//! `pwreset`: the server and its admin commands (see [`pwreset::cli`]).

use std::process::ExitCode;

/// mimalloc instead of the system allocator: under concurrent load glibc's
/// malloc spent a fifth of the server's time in allocation and contended
/// arena locks (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    pwreset::cli::main().await
}
