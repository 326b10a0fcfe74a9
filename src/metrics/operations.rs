//! Which GraphQL operation names become metric labels: clients choose names,
//! and every label costs memory, so only names the server knows take one.

use std::{collections::HashSet, sync::Mutex};

/// Most distinct operation names labelled besides the reserved ones.
const MAX_OPERATION_LABELS: usize = 100;

/// The names that took a label so far, and the ones the operator listed.
#[derive(Debug, Default)]
pub(super) struct OperationNames {
    /// Names that took a label, within `MAX_OPERATION_LABELS`.
    seen: Mutex<HashSet<String>>,
    /// Names the operator listed (`METRICS_OPERATION_NAMES`): always labelled.
    reserved: Mutex<HashSet<String>>,
}

impl OperationNames {
    /// Gives `names` a label of their own, outside the budget.
    pub(super) fn reserve(&self, names: &[String]) {
        let mut reserved = self.reserved.lock().unwrap_or_else(|e| e.into_inner());
        reserved.extend(names.iter().cloned());
    }

    /// The label for `name`: itself when reserved or within the budget,
    /// `anonymous` without a name, `other` past the budget.
    pub(super) fn label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "anonymous".into();
        };
        let reserved = self.reserved.lock().unwrap_or_else(|e| e.into_inner());
        if reserved.contains(name) {
            return name.to_owned();
        }
        drop(reserved);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(name) {
            return name.to_owned();
        }
        if seen.len() < MAX_OPERATION_LABELS && name.len() <= 64 {
            seen.insert(name.to_owned());
            return name.to_owned();
        }
        "other".into()
    }
}
