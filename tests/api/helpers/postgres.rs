//! A PostgreSQL cluster of one test's own, from the machine's PostgreSQL
//! binaries, that the test may stop and start: the shared one is never
//! stopped. Data and socket live in a temporary folder, removed at the end.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// A private PostgreSQL cluster on 127.0.0.1 and a port of its own.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// A new cluster, started; `None` (with a line saying so) on a machine
    /// without PostgreSQL's server binaries.
    pub async fn start() -> Option<Self> {
        let Some(bin) = binaries() else {
            eprintln!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir()
            .join("pwreset-tests")
            .join(format!("pg-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Self { bin, dir, port };
        let data = cluster.dir.join("data");
        cluster.own(&cluster.dir);
        cluster
            .run(format!(
                "{} -D {} -A trust -U postgres --no-sync",
                cluster.bin.join("initdb").display(),
                data.display()
            ))
            .await;
        cluster.start_again().await;
        Some(cluster)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it at once (`pg_ctl stop -m immediate`); returns when it is down.
    pub async fn stop(&self) {
        self.pg_ctl("-m immediate stop").await;
    }

    /// Starts it; returns once it accepts connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.pg_ctl(&format!("-o '{options}' -l {} start", log.display()))
            .await;
    }

    async fn pg_ctl(&self, args: &str) {
        let data = self.dir.join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        self.run(format!(
            "{} -D {} -w {args}",
            pg_ctl.display(),
            data.display()
        ))
        .await;
    }

    /// Runs `command` as the `postgres` user when this is root (PostgreSQL
    /// refuses to run as root), as this user otherwise; it must succeed.
    async fn run(&self, command: String) {
        let output = tokio::task::spawn_blocking(move || shell(&command).output().unwrap())
            .await
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }

    /// Gives `path` to the `postgres` user when this is root.
    fn own(&self, path: &Path) {
        if nix_is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let stop = format!(
            "{} -D {} -m immediate stop",
            self.bin.join("pg_ctl").display(),
            data.display()
        );
        let _ = shell(&stop).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `command` for a shell, as the `postgres` user when this is root.
fn shell(command: &str) -> Command {
    let mut shell = if nix_is_root() {
        let mut su = Command::new("su");
        su.args(["postgres", "-s", "/bin/sh", "-c"]);
        su
    } else {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c");
        sh
    };
    shell.arg(command);
    shell
}

/// The newest `/usr/lib/postgresql/N/bin` holding `initdb` and `pg_ctl`.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Whether this process runs as root.
fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}
