//! A request on its way in and out of the schema: the data resolvers read,
//! variables the client declared but did not send, and a code on every error.

use std::collections::HashSet;

use async_graphql::{
    ErrorExtensions, Pos, Positioned, Request, Response, ServerError,
    dataloader::DataLoader,
    parser::{
        parse_query,
        types::{
            DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection,
            SelectionSet,
        },
    },
};

use async_graphql_value::{Name, Value};

use super::{
    ErrorCode,
    loaders::{CustomerLoader, PasswordDigestLoader, ResetEmailLoader},
};
use crate::{
    domain::{Auth, ClientIp},
    state::AppState,
};

/// `request` with what its resolvers read: the caller's `auth` and address,
/// and fresh customer, password-digest and reset-email DataLoaders over `state`'s read pool
/// (nothing is cached across requests). A variable the operation declares as nullable, with no
/// default, and the client did not send, is treated as the GraphQL
/// specification says: the argument or input field it stands for is *not
/// provided* (so an update keeps that field), not `null` (which would clear
/// it). async-graphql 7.0 passes `null`; clients such as Apollo drop
/// `undefined` variables all the time.
pub fn prepare(mut request: Request, state: &AppState, auth: Auth, ip: ClientIp) -> Request {
    omit_unsent_variables(&mut request);
    let customers = DataLoader::new(CustomerLoader::new(state.reader.clone()), tokio::spawn);
    let emails = DataLoader::new(ResetEmailLoader::new(state.reader.clone()), tokio::spawn);
    let digests = DataLoader::new(
        PasswordDigestLoader::new(state.reader.clone()),
        tokio::spawn,
    );
    request
        .data(auth)
        .data(ip)
        .data(customers)
        .data(emails)
        .data(digests)
}

/// The operation `request` runs: the named one, or the only one.
fn selected<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Removes every argument and input field whose value is a nullable
/// variable the client did not send and that has no default.
fn omit_unsent_variables(request: &mut Request) {
    let name = request.operation_name.clone();
    let sent: HashSet<String> = request.variables.keys().map(|k| k.to_string()).collect();
    let Ok(document) = request.parsed_query() else {
        return; // refused later, with the parse error
    };
    let Some(operation) = selected(document, name.as_deref()) else {
        return;
    };
    let unsent: HashSet<Name> = operation
        .node
        .variable_definitions
        .iter()
        .map(|d| &d.node)
        .filter(|d| d.var_type.node.nullable && d.default_value.is_none())
        .filter(|d| !sent.contains(d.name.node.as_str()))
        .map(|d| d.name.node.clone())
        .collect();
    if unsent.is_empty() {
        return;
    }
    let mut document = document.clone();
    match &mut document.operations {
        DocumentOperations::Single(operation) => {
            omit_in_set(&mut operation.node.selection_set.node, &unsent)
        }
        DocumentOperations::Multiple(operations) => {
            for operation in operations.values_mut() {
                omit_in_set(&mut operation.node.selection_set.node, &unsent);
            }
        }
    }
    for fragment in document.fragments.values_mut() {
        omit_in_set(&mut fragment.node.selection_set.node, &unsent);
    }
    // A definition nothing uses any more goes too (unused variables are an error).
    let still_used = used_variables(&document);
    let operations: Vec<&mut Positioned<OperationDefinition>> = match &mut document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values_mut().collect(),
    };
    for operation in operations {
        operation.node.variable_definitions.retain(|d| {
            !unsent.contains(&d.node.name.node) || still_used.contains(&d.node.name.node)
        });
    }
    request.set_parsed_query(document);
}

/// Every variable the document's selections use.
fn used_variables(document: &ExecutableDocument) -> HashSet<Name> {
    fn in_value(value: &Value, found: &mut HashSet<Name>) {
        match value {
            Value::Variable(name) => {
                found.insert(name.clone());
            }
            Value::List(items) => items.iter().for_each(|v| in_value(v, found)),
            Value::Object(fields) => fields.values().for_each(|v| in_value(v, found)),
            _ => {}
        }
    }
    fn in_set(set: &SelectionSet, found: &mut HashSet<Name>) {
        for item in &set.items {
            let directives = match &item.node {
                Selection::Field(field) => {
                    for (_, value) in &field.node.arguments {
                        in_value(&value.node, found);
                    }
                    in_set(&field.node.selection_set.node, found);
                    &field.node.directives
                }
                Selection::InlineFragment(fragment) => {
                    in_set(&fragment.node.selection_set.node, found);
                    &fragment.node.directives
                }
                Selection::FragmentSpread(spread) => &spread.node.directives,
            };
            for directive in directives {
                for (_, value) in &directive.node.arguments {
                    in_value(&value.node, found);
                }
            }
        }
    }
    let mut found = HashSet::new();
    for (_, operation) in document.operations.iter() {
        in_set(&operation.node.selection_set.node, &mut found);
    }
    for fragment in document.fragments.values() {
        in_set(&fragment.node.selection_set.node, &mut found);
    }
    found
}

fn omit_in_set(set: &mut SelectionSet, unsent: &HashSet<Name>) {
    for item in &mut set.items {
        match &mut item.node {
            Selection::Field(field) => omit_in_field(&mut field.node, unsent),
            Selection::InlineFragment(fragment) => {
                omit_in_set(&mut fragment.node.selection_set.node, unsent)
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn omit_in_field(field: &mut Field, unsent: &HashSet<Name>) {
    field
        .arguments
        .retain(|(_, value)| !is_unsent(&value.node, unsent));
    for (_, value) in &mut field.arguments {
        omit_in_value(&mut value.node, unsent);
    }
    omit_in_set(&mut field.selection_set.node, unsent);
}

fn is_unsent(value: &Value, unsent: &HashSet<Name>) -> bool {
    matches!(value, Value::Variable(name) if unsent.contains(name))
}

fn omit_in_value(value: &mut Value, unsent: &HashSet<Name>) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, v| !is_unsent(v, unsent));
            for v in fields.values_mut() {
                omit_in_value(v, unsent);
            }
        }
        Value::List(items) => {
            for v in items {
                omit_in_value(v, unsent);
            }
        }
        _ => {}
    }
}

/// Gives every request error of `response` (one that stopped the request
/// before any field ran) an `extensions.code`: `BAD_USER_INPUT` when it is
/// about a variable's value, `GRAPHQL_VALIDATION_FAILED` otherwise. `query`
/// is the document the response answers.
pub fn give_codes(response: &mut Response, query: &str) {
    let untagged = |e: &ServerError| {
        e.path.is_empty()
            && e.extensions
                .as_ref()
                .is_none_or(|x| x.get("code").is_none())
    };
    if !response.errors.iter().any(untagged) {
        return;
    }
    let about_variables = parse_query(query)
        .map(|document| variable_positions(&document))
        .unwrap_or_default();
    for error in response.errors.iter_mut().filter(|e| untagged(e)) {
        let on_variable = error.locations.iter().any(|p| about_variables.contains(p))
            || error.message.starts_with("Variable ");
        let code = if on_variable {
            ErrorCode::BadUserInput
        } else {
            ErrorCode::GraphqlValidationFailed
        };
        let tagged = async_graphql::Error::new(error.message.clone())
            .extend_with(|_, e| e.set("code", code.as_str()));
        error.extensions = tagged.extensions;
    }
}

/// Where a request error about a variable's value is reported: the variable
/// definitions, and every argument (and its field) whose value uses a variable.
fn variable_positions(document: &ExecutableDocument) -> HashSet<Pos> {
    fn uses_variable(value: &Value) -> bool {
        match value {
            Value::Variable(_) => true,
            Value::List(items) => items.iter().any(uses_variable),
            Value::Object(fields) => fields.values().any(uses_variable),
            _ => false,
        }
    }
    fn walk(set: &SelectionSet, found: &mut HashSet<Pos>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        if uses_variable(&value.node) {
                            found.extend([name.pos, value.pos, field.pos, field.node.name.pos]);
                        }
                    }
                    walk(&field.node.selection_set.node, found);
                }
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, found)
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut found = HashSet::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            found.extend([definition.pos, definition.node.name.pos]);
        }
        walk(&operation.node.selection_set.node, &mut found);
    }
    for fragment in document.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut found);
    }
    found
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        EmptyMutation, EmptySubscription, InputObject, MaybeUndefined, Object, Schema, Variables,
    };

    /// An input whose field tells whether it was given.
    #[derive(InputObject)]
    struct Change {
        reference: MaybeUndefined<String>,
    }

    struct Query;

    #[Object]
    impl Query {
        async fn seen(&self, change: Change) -> &'static str {
            match change.reference {
                MaybeUndefined::Undefined => "undefined",
                MaybeUndefined::Null => "null",
                MaybeUndefined::Value(_) => "value",
            }
        }
    }

    async fn seen(request: async_graphql::Request) -> String {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        schema.execute(request).await.data.to_string()
    }

    const QUERY: &str = "query($ref: String) { seen(change: { reference: $ref }) }";

    #[tokio::test]
    async fn async_graphql_still_turns_an_unsent_variable_into_null() {
        // Pinned: when an upgrade fixes this upstream, this test fails, and
        // `omit_unsent_variables` can go.
        let request = async_graphql::Request::new(QUERY);
        assert_eq!(seen(request).await, r#"{seen: "null"}"#);
    }

    #[tokio::test]
    async fn an_unsent_variable_leaves_its_field_unprovided_and_null_still_clears() {
        let mut request = async_graphql::Request::new(QUERY);
        super::omit_unsent_variables(&mut request);
        assert_eq!(seen(request).await, r#"{seen: "undefined"}"#);

        let sent_null = Variables::from_json(serde_json::json!({ "ref": null }));
        let mut request = async_graphql::Request::new(QUERY).variables(sent_null);
        super::omit_unsent_variables(&mut request);
        assert_eq!(seen(request).await, r#"{seen: "null"}"#);
    }
}
