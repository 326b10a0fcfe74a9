//! Which operation of a document runs: decided here only, for execution,
//! for the unsent-variable rule, and for the HTTP layer (a mutation over
//! `GET`, the name that labels metrics).

use async_graphql::{
    Positioned,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};
use async_graphql_value::Name;

/// The operation that runs when a request names `name` (or none): the named
/// one, or the only one; with its name, when it has one. `None` when the
/// name matches nothing, or the document has several operations and no name
/// was given (execution then refuses the request).
pub fn selected<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a Positioned<OperationDefinition>)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some((None, op)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get_key_value(name).map(|(n, op)| (Some(n), op))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(n, op)| (Some(n), op))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether the operation that would run is a mutation. When none would
/// (several operations, no name), whether any of them is one: a request that
/// might mutate is treated as one.
pub fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    match selected(document, name) {
        Some((_, op)) => op.node.ty == OperationType::Mutation,
        None => {
            name.is_none()
                && document
                    .operations
                    .iter()
                    .any(|(_, op)| op.node.ty == OperationType::Mutation)
        }
    }
}
