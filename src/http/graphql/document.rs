//! What the endpoint reads in a parsed document before executing it: where a
//! parse error is, how many aliases it uses. (Which operation would run, and
//! whether it is a mutation, `graphql::operation` decides.)

use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
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
