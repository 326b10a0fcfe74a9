//! Mutations. Each returns a payload `{ <object>, userErrors }`: refused input
//! is data (`userErrors`), never a GraphQL error, and changes nothing.

use async_graphql::{Context, ID, MaybeUndefined, Object, SimpleObject};

use super::{
    access::{self, ANY_ROLE, INTEGRATION},
    error::{UserError, payload},
    types::{
        CompleteCustomerPasswordResetInput, CreateCustomerInput, CreateCustomerPasswordResetInput,
        Customer, CustomerPasswordReset, UpdateCustomerPasswordResetInput,
    },
};
use crate::{
    domain::{ResetToken, Role},
    service::{
        ErrorCode,
        customers::{self, NewCustomer},
        password_resets::{self, Created, NewReset, ResetChanges},
    },
};

/// Writes of resets and customers.
#[derive(Default)]
pub struct CoreMutation;

/// The result of `createCustomer`.
#[derive(SimpleObject)]
pub struct CreateCustomerPayload {
    /// The new customer; null when the input was refused.
    pub customer: Option<Customer>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `createCustomerPasswordReset`.
#[derive(SimpleObject)]
pub struct CreateCustomerPasswordResetPayload {
    /// The new reset, with its `resetPasswordToken`, for integration keys.
    /// Always null for sales-channel keys, whether or not the email belongs to
    /// a customer: the token reaches the customer out of band.
    pub customer_password_reset: Option<CustomerPasswordReset>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `completeCustomerPasswordReset`.
#[derive(SimpleObject)]
pub struct CompleteCustomerPasswordResetPayload {
    /// The completed reset; null when the token or password was refused.
    pub customer_password_reset: Option<CustomerPasswordReset>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `updateCustomerPasswordReset`.
#[derive(SimpleObject)]
pub struct UpdateCustomerPasswordResetPayload {
    /// The updated reset; null when the input was refused.
    pub customer_password_reset: Option<CustomerPasswordReset>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteCustomerPasswordReset`.
#[derive(SimpleObject)]
pub struct DeleteCustomerPasswordResetPayload {
    /// The id of the deleted reset; null when nothing was deleted.
    pub deleted_customer_password_reset_id: Option<ID>,
    /// Why nothing was deleted; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The root of every write. Refused input comes back in `userErrors`.
#[Object]
impl CoreMutation {
    /// Creates a customer, with a password or as a guest. Integration keys only.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new customer.")] input: CreateCustomerInput,
    ) -> async_graphql::Result<CreateCustomerPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let new = NewCustomer {
            email: input.email,
            password: input.password,
            reference: input.reference,
            metadata: input.metadata.map(|m| m.0),
        };
        let result = customers::create(
            &state.db,
            &state.hasher,
            principal.mode,
            new,
            state.clock.now(),
        )
        .await;
        let (customer, user_errors) = payload(result)?;
        Ok(CreateCustomerPayload {
            customer: customer.map(Customer::from),
            user_errors,
        })
    }

    /// Starts a password reset for the customer with `customerEmail`: a new
    /// single-use token, valid for 6 hours by default, that replaces the
    /// customer's older pending resets.
    ///
    /// Integration keys get the reset with its token (once) and
    /// `CUSTOMER_NOT_FOUND` for an unknown email. Sales-channel keys get the same
    /// empty payload whether or not the email has an account: the request is
    /// queued, the reset created within a second, and its token sent to the
    /// `customer_password_resets.create` webhook. Rate limited per email, key and
    /// client IP (`TOO_MANY_REQUESTS` with `retryAfter`).
    async fn create_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose password to reset.")] input: CreateCustomerPasswordResetInput,
    ) -> async_graphql::Result<CreateCustomerPasswordResetPayload> {
        let principal = access::require(ctx, ANY_ROLE)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let new = NewReset {
            customer_email: input.customer_email,
            reference: input.reference,
            reference_origin: input.reference_origin,
            metadata: input.metadata.map(|m| m.0),
        };
        let caller = access::caller(ctx, principal);
        let result = match principal.role {
            Role::Integration => {
                password_resets::create(
                    &state.db,
                    &caller,
                    &state.rate_limits,
                    new,
                    state.reset_token_ttl,
                    now,
                )
                .await
            }
            // Queued: the same work whatever the email (see `password_resets::request`).
            Role::SalesChannel => {
                password_resets::request(&state.db, &caller, &state.rate_limits, new, now)
                    .await
                    .map(|()| Created::NoSuchCustomer)
            }
        };
        let (created, user_errors) = payload(result)?;
        if let Some(Created::Reset { .. }) = &created {
            state.metrics.reset_created();
        }
        let mut user_errors = user_errors;
        let reset = match (created, principal.role) {
            (Some(Created::Reset { reset, token }), Role::Integration) => {
                let mut reset = CustomerPasswordReset::new(*reset, now);
                reset.reset_password_token = Some(token.expose().to_owned());
                Some(reset)
            }
            (Some(Created::NoSuchCustomer), Role::Integration) => {
                let error = crate::service::UserError::new(
                    &["input", "customerEmail"],
                    ErrorCode::CustomerNotFound,
                    "no customer has this email",
                );
                user_errors.push(error.into());
                None
            }
            _ => None,
        };
        record_rejections(state, &user_errors);
        Ok(CreateCustomerPasswordResetPayload {
            customer_password_reset: reset,
            user_errors,
        })
    }

    /// Sets the customer's new password with the token they received
    /// (Commerce Layer's `_reset_password_token` and `customer_password`). The
    /// token alone identifies the reset and works once. On success every other
    /// pending reset of the customer stops working. Never logs the customer in.
    async fn complete_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token and the new password.")]
        input: CompleteCustomerPasswordResetInput,
    ) -> async_graphql::Result<CompleteCustomerPasswordResetPayload> {
        let principal = access::require(ctx, ANY_ROLE)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let token = ResetToken::from_client(input.reset_password_token);
        let caller = access::caller(ctx, principal);
        let result = password_resets::complete(
            &state.db,
            &state.hasher,
            &caller,
            &state.rate_limits,
            token,
            input.customer_password,
            now,
        )
        .await;
        let (reset, user_errors) = payload(result)?;
        record_rejections(state, &user_errors);
        if reset.is_some() {
            state.metrics.reset_completed();
        }
        Ok(CompleteCustomerPasswordResetPayload {
            customer_password_reset: reset.map(|r| CustomerPasswordReset::new(r, now)),
            user_errors,
        })
    }

    /// Changes a reset's reference or metadata. Integration keys only.
    async fn update_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset and its changes.")] input: UpdateCustomerPasswordResetInput,
    ) -> async_graphql::Result<UpdateCustomerPasswordResetPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let changes = ResetChanges {
            reference: change(input.reference),
            reference_origin: change(input.reference_origin),
            metadata: input.metadata.map(|m| m.0),
        };
        let result =
            password_resets::update(&state.db, principal.mode, &input.id, changes, now).await;
        let (reset, user_errors) = payload(result)?;
        Ok(UpdateCustomerPasswordResetPayload {
            customer_password_reset: reset.map(|r| CustomerPasswordReset::new(r, now)),
            user_errors,
        })
    }

    /// Deletes a reset; its token stops working. Integration keys only.
    async fn delete_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset's id.")] id: ID,
    ) -> async_graphql::Result<DeleteCustomerPasswordResetPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let (deleted, user_errors) = payload(
            password_resets::delete(&state.db, principal.mode, &id, state.clock.now()).await,
        )?;
        Ok(DeleteCustomerPasswordResetPayload {
            deleted_customer_password_reset_id: deleted.map(ID),
            user_errors,
        })
    }
}

/// An optional input field as a change: omitted keeps, null clears, a value sets.
fn change<T>(field: MaybeUndefined<T>) -> Option<Option<T>> {
    match field {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Counts each refused create or complete by its code.
fn record_rejections(state: &crate::state::AppState, errors: &[UserError]) {
    for error in errors {
        if let async_graphql::Value::Enum(name) = async_graphql::InputType::to_value(&error.code) {
            state.metrics.reset_rejected(name.as_str());
        }
    }
}
