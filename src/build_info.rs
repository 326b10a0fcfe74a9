//! What this binary is: its version, the commit it was built from and the
//! compiler that built it (`build.rs` finds the last two). `pwreset
//! --version` prints them, and the `pwreset_build_info` gauge carries them.

/// The crate's version, such as `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit built (12 hex digits), or `unknown` outside a Git checkout
/// without `PWRESET_COMMIT`.
pub const COMMIT: &str = env!("PWRESET_COMMIT");

/// The compiler's version, such as `1.95.0`.
pub const RUSTC: &str = env!("PWRESET_RUSTC");

/// `pwreset --version`'s text after the name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PWRESET_COMMIT"),
    ", rustc ",
    env!("PWRESET_RUSTC"),
    ")"
);
