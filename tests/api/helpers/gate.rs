//! Watching the server's SQL: the text of every statement while recording,
//! and a gate that holds the server inside a chosen statement.

use std::sync::Arc;

/// SQL statements recorded by [`super::TestApp::record_sql`].
pub type SqlLog = Arc<std::sync::Mutex<Option<Vec<String>>>>;

/// What an armed gate waits for, whom it tells, and what releases it.
type Armed = (
    String,
    std::sync::mpsc::Sender<()>,
    std::sync::mpsc::Receiver<()>,
);

/// Stops the server, once, right after it runs a statement containing a chosen
/// text, until the test lets it go: a request held in flight without sleeping.
#[derive(Default)]
pub struct Gate {
    armed: std::sync::Mutex<Option<Armed>>,
}

impl Gate {
    /// Arms the gate for the next statement containing `sql`. Returns a receiver
    /// that fires when a request is held, and a sender that releases it.
    pub fn arm(&self, sql: &str) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        *self.armed.lock().unwrap() = Some((sql.to_owned(), held_tx, release_rx));
        (held_rx, release_tx)
    }

    pub(super) fn pass(&self, sql: &str) {
        let taken = {
            let mut armed = self.armed.lock().unwrap();
            match armed.as_ref() {
                Some((pattern, _, _)) if sql.contains(pattern.as_str()) => armed.take(),
                _ => None,
            }
        };
        if let Some((_, held, release)) = taken {
            let _ = held.send(());
            let wait = || {
                let _ = release.recv_timeout(std::time::Duration::from_secs(30));
            };
            // Held on a runtime worker: hand the worker's other tasks to another
            // thread first, so the rest of the server keeps running meanwhile.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
                _ => wait(),
            }
        }
    }
}
