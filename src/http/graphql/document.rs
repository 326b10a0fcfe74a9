//! What the endpoint reads in a parsed document before executing it: where a
//! parse error is, how many aliases it uses. (Which operation would run, and
//! whether it is a mutation, `graphql::operation` decides.)

use async_graphql::{
    Name, ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::Value;

/// The schema's input fields and arguments that carry a secret: a persisted
/// document must not hold one written out (it would be stored as text).
pub(super) const SECRET_INPUTS: &[&str] = &[
    "resetPasswordToken",
    "code",
    "customerPassword",
    "password",
    "sharedSecret",
];

/// The first secret input (see [`SECRET_INPUTS`]) the document writes a
/// literal into, rather than a variable; `None` when there is none.
pub(super) fn secret_literal(document: &ExecutableDocument) -> Option<&'static str> {
    fn in_value(name: &Name, value: &Value) -> Option<&'static str> {
        let secret = SECRET_INPUTS.iter().find(|s| **s == name.as_str());
        match (secret, value) {
            (_, Value::Variable(_)) => None,
            (Some(secret), _) => Some(secret),
            (None, Value::Object(fields)) => fields.iter().find_map(|(k, v)| in_value(k, v)),
            (None, Value::List(items)) => items.iter().find_map(|v| in_value(name, v)),
            (None, _) => None,
        }
    }
    fn walk(set: &SelectionSet) -> Option<&'static str> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find_map(|(name, value)| in_value(&name.node, &value.node))
                .or_else(|| walk(&field.node.selection_set.node)),
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    let mut operations = document.operations.iter();
    operations
        .find_map(|(_, op)| walk(&op.node.selection_set.node))
        .or_else(|| {
            let mut fragments = document.fragments.values();
            fragments.find_map(|f| walk(&f.node.selection_set.node))
        })
}

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
