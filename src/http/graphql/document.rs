//! What the endpoint reads in a parsed document before executing it: which
//! operation would run, whether it is a mutation, how many aliases it uses.

use async_graphql::{
    Request, ServerError,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};

/// A parse error's message with its position.
pub(super) fn located(error: &ServerError) -> String {
    match error.locations.first() {
        Some(pos) => format!(
            "{} (line {}, column {})",
            error.message, pos.line, pos.column
        ),
        None => error.message.clone(),
    }
}

/// The name of the document's only operation, when it has exactly one and
/// names it.
pub(super) fn single_operation_name(request: &mut Request) -> Option<String> {
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string())
        }
        DocumentOperations::Multiple(_) => None,
    }
}

/// Whether the operation that would run is a mutation. Unknown or ambiguous
/// operations are left to execution, which refuses them.
pub(super) fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    let ty = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        // Several operations and no name: if any is a mutation, refuse over GET.
        (DocumentOperations::Multiple(ops), None) => ops
            .values()
            .any(|op| op.node.ty == OperationType::Mutation)
            .then_some(OperationType::Mutation),
    };
    ty == Some(OperationType::Mutation)
}

/// How many aliases the document uses, in operations and fragments.
pub(super) fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum();
    operations + fragments
}
