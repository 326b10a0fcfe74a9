//! Build information for `pwreset --version` and the `pwreset_build_info`
//! gauge: the commit (`git rev-parse`, or `PWRESET_COMMIT` where the source
//! is not a Git checkout) and the compiler's version.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PWRESET_COMMIT");
    // A new commit, a checkout or a fetch changes one of these.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("PWRESET_COMMIT")
        .ok()
        .or_else(|| output("git", &["rev-parse", "--short=12", "HEAD"]).filter(|c| !c.is_empty()));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc =
        output(&rustc, &["--version"]).and_then(|v| v.split_whitespace().nth(1).map(str::to_owned));
    println!(
        "cargo:rustc-env=PWRESET_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
    println!(
        "cargo:rustc-env=PWRESET_RUSTC={}",
        rustc.unwrap_or_else(|| "unknown".into())
    );
}

/// What `program args` prints, trimmed; `None` when it cannot run or fails.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
