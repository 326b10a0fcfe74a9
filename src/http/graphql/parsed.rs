//! Parsed documents kept by query text, so that a query a client sends again
//! is not parsed again. Bounded in entries and in bytes of query text; when
//! full, an arbitrary entry makes room (a flood of distinct queries costs the
//! others their place, never memory). Documents with a mutation are never
//! kept: their text may carry a token or a password written inline.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Request, ServerError,
    parser::types::{ExecutableDocument, OperationType},
};

/// Queries longer than this are parsed every time: they are rare, and would
/// crowd out the many short ones.
const MAX_QUERY_BYTES: usize = 8 * 1024;
/// At most this many documents are kept.
const MAX_ENTRIES: usize = 256;
/// At most this many bytes of query text are kept (the parsed documents take
/// a few times more).
const MAX_TOTAL_BYTES: usize = 256 * 1024;

/// The cache; cloning shares it.
#[derive(Clone, Default)]
pub(super) struct ParsedDocuments {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    by_query: HashMap<Arc<str>, Arc<ExecutableDocument>>,
    bytes: usize,
}

impl ParsedDocuments {
    /// Parses `request`'s query, or takes the document parsed for the same
    /// text before, and hands it to the request.
    ///
    /// # Errors
    /// The parse error, as [`Request::parsed_query`] gives it.
    pub(super) fn parse<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        if request.query.len() > MAX_QUERY_BYTES {
            return request.parsed_query();
        }
        let kept = self.lock().by_query.get(request.query.as_str()).cloned();
        if let Some(document) = kept {
            request.set_parsed_query(ExecutableDocument::clone(&document));
            return request.parsed_query();
        }
        let parsed = request.parsed_query()?;
        let has_mutation = parsed
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation);
        if !has_mutation {
            let document = Arc::new(parsed.clone());
            self.keep(Arc::from(request.query.as_str()), document);
        }
        request.parsed_query()
    }

    fn keep(&self, query: Arc<str>, document: Arc<ExecutableDocument>) {
        let mut entries = self.lock();
        while entries.by_query.len() >= MAX_ENTRIES || entries.bytes + query.len() > MAX_TOTAL_BYTES
        {
            let Some(evicted) = entries.by_query.keys().next().cloned() else {
                break;
            };
            entries.by_query.remove(&evicted);
            entries.bytes -= evicted.len();
        }
        let len = query.len();
        if entries.by_query.insert(query, document).is_none() {
            entries.bytes += len;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many documents are kept, and the bytes of their query text.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.by_query.len(), entries.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_sent_again_gets_the_document_kept_for_it() {
        let cache = ParsedDocuments::default();
        let mut first = Request::new("{ a b }");
        let parsed = format!("{:?}", cache.parse(&mut first).unwrap());
        assert_eq!(cache.size(), (1, 7));
        let mut again = Request::new("{ a b }");
        assert_eq!(format!("{:?}", cache.parse(&mut again).unwrap()), parsed);
        assert_eq!(cache.size(), (1, 7));
    }

    #[test]
    fn documents_with_a_mutation_are_not_kept() {
        let cache = ParsedDocuments::default();
        let text = r#"query Q { a } mutation M { complete(token: "t", password: "p") }"#;
        let mut request = Request::new(text);
        assert!(cache.parse(&mut request).is_ok());
        assert_eq!(cache.size(), (0, 0));
    }

    #[test]
    fn parse_errors_are_given_and_not_kept() {
        let cache = ParsedDocuments::default();
        let mut bad = Request::new("{ a ");
        assert!(cache.parse(&mut bad).is_err());
        assert_eq!(cache.size(), (0, 0));
    }

    #[test]
    fn the_cache_stays_within_its_bounds() {
        let cache = ParsedDocuments::default();
        for n in 0..MAX_ENTRIES * 3 {
            let mut request = Request::new(format!("{{ f{n} }}"));
            cache.parse(&mut request).unwrap();
        }
        assert_eq!(cache.size().0, MAX_ENTRIES);
        let long = format!("{{ {} }}", "a".repeat(MAX_QUERY_BYTES / 2));
        for n in 0..(MAX_TOTAL_BYTES / long.len()) * 2 {
            let mut request = Request::new(format!("{long} # {n}"));
            cache.parse(&mut request).unwrap();
        }
        assert!(cache.size().1 <= MAX_TOTAL_BYTES, "{:?}", cache.size());
        let mut huge = Request::new(format!("{{ {} }}", "a".repeat(MAX_QUERY_BYTES)));
        cache.parse(&mut huge).unwrap();
        assert!(cache.size().1 <= MAX_TOTAL_BYTES);
    }
}
