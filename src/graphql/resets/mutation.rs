//! The reset mutations. Each returns a payload `{ <object>, userErrors }`:
//! refused input is data (`userErrors`), never a GraphQL error, and changes
//! nothing.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};

use super::CustomerPasswordReset;
use crate::{
    domain::RawPassword,
    graphql::{
        Secret,
        access::{self, ANY_ROLE, INTEGRATION},
        error::{UserError, payload},
    },
    service::password_resets::{self, Change, MerchantInput, NewReset, Started},
};

/// The back office's fields of a reset, in a create and in an update.
/// Integration keys only: a sales-channel key that sets one gets
/// `FIELD_NOT_ALLOWED`. In an update, a field omitted is kept.
#[derive(Debug, InputObject)]
pub struct MerchantFieldsInput {
    /// The merchant's own reference, at most 255 characters; in an update, null
    /// clears it and omitting it keeps it. Integration keys only: a
    /// sales-channel key gets `FIELD_NOT_ALLOWED`.
    pub reference: MaybeUndefined<String>,
    /// Where the reference comes from, at most 255 characters; in an update,
    /// null clears it and omitting it keeps it. Integration keys only: a
    /// sales-channel key gets `FIELD_NOT_ALLOWED`.
    pub reference_origin: MaybeUndefined<String>,
    /// Free-form data: a JSON object of at most 16 KiB; in an update, it
    /// replaces the old object, and omitting it keeps it. Integration keys
    /// only: a sales-channel key gets `FIELD_NOT_ALLOWED`.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl From<MerchantFieldsInput> for MerchantInput {
    fn from(input: MerchantFieldsInput) -> Self {
        Self {
            reference: change(input.reference),
            reference_origin: change(input.reference_origin),
            metadata: input.metadata.map_or(Change::Keep, |m| Change::Set(m.0)),
        }
    }
}

/// A request to reset a customer's password.
#[derive(Debug, InputObject)]
pub struct CreateCustomerPasswordResetInput {
    /// The customer's email address, in any letter case.
    pub customer_email: String,
    /// The merchant's fields (integration keys only).
    #[graphql(flatten)]
    pub merchant: MerchantFieldsInput,
    /// The page the reset email's link opens, with the token added as its
    /// `token` query parameter; the mode's `RESET_URL` when omitted. Its
    /// origin must be one of the server's `RESET_URL_ALLOWED_ORIGINS`, else
    /// `REDIRECT_URL_NOT_ALLOWED`.
    pub redirect_url: Option<String>,
    /// The language of the reset email, such as `de` or `de-CH` (English when
    /// omitted or when there are no templates for it); `INVALID_LOCALE` when
    /// it is not a language tag.
    pub locale: Option<String>,
    /// The bot challenge's token (Turnstile, hCaptcha or reCAPTCHA), when the
    /// server challenges storefront creates: `CAPTCHA_REQUIRED` without it,
    /// `CAPTCHA_FAILED` when the provider refuses it. Integration keys are
    /// never challenged.
    pub captcha_token: Option<String>,
    /// How the reset reaches the customer: a link, a one-time code, or both;
    /// the mode's `RESET_DELIVERY` (`LINK` unless set) when omitted.
    pub delivery: Option<crate::domain::Delivery>,
}

/// What completes a reset: the token from the link, or the customer's email
/// and the one-time code from the email, with the password they chose
/// (Commerce Layer's write-only `_reset_password_token` and
/// `customer_password`). Give the token, or the email and the code, not
/// both: `TOKEN_OR_CODE_REQUIRED` otherwise.
#[derive(Debug, InputObject)]
pub struct CompleteCustomerPasswordResetInput {
    /// The token from the reset link. It alone identifies the reset.
    #[graphql(secret)]
    pub reset_password_token: Option<Secret>,
    /// The customer's email address, in any letter case, with `code`.
    pub customer_email: Option<String>,
    /// The one-time code from the reset email, with `customerEmail`; spaces
    /// and dashes between its digits are ignored. Every code that does not
    /// complete a reset (wrong, expired, used up, or no reset for the
    /// email) is `TOKEN_INVALID`; each reset takes 5 wrong codes by default
    /// (`RESET_CODE_MAX_ATTEMPTS`), and the last voids it.
    #[graphql(secret)]
    pub code: Option<Secret>,
    /// The new password, 8 to 256 characters.
    #[graphql(secret)]
    pub customer_password: Secret,
}

/// Changes to a reset's merchant fields.
#[derive(Debug, InputObject)]
pub struct UpdateCustomerPasswordResetInput {
    /// The reset's id.
    pub id: ID,
    /// The changes; a field omitted is kept.
    #[graphql(flatten)]
    pub merchant: MerchantFieldsInput,
}

/// The reset to delete.
#[derive(Debug, InputObject)]
pub struct DeleteCustomerPasswordResetInput {
    /// The reset's id.
    pub id: ID,
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

/// Writes of resets.
#[derive(Default)]
pub struct ResetMutation;

/// Writes of resets.
#[Object]
impl ResetMutation {
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
            merchant: input.merchant.into(),
            redirect_url: input.redirect_url,
            locale: input.locale,
            captcha_token: input.captcha_token,
            delivery: input.delivery,
        };
        let caller = access::caller(ctx, principal);
        let result = state.resets().start(&caller, new).await;
        let (started, user_errors) = payload(result)?;
        let reset = match started {
            Some(Started::Reset {
                reset, token, code, ..
            }) => {
                let mut reset = CustomerPasswordReset::new((*reset).into(), now);
                reset.reset_password_token = Some(token.expose().to_owned());
                reset.reset_password_code = code.map(|c| c.expose().to_owned());
                Some(reset)
            }
            Some(Started::Queued) | None => None,
        };
        Ok(CreateCustomerPasswordResetPayload {
            customer_password_reset: reset,
            user_errors,
        })
    }

    /// Sets the customer's new password with the token they received
    /// (Commerce Layer's `_reset_password_token` and `customer_password`), or
    /// with their email and the one-time code. The token alone identifies
    /// the reset and works once; a code works once, for its own shorter
    /// time, and a reset takes a few wrong codes before it is voided. On
    /// success every other pending reset of the customer stops working.
    /// Never logs the customer in.
    async fn complete_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token, or the email and code, and the new password.")]
        input: CompleteCustomerPasswordResetInput,
    ) -> async_graphql::Result<CompleteCustomerPasswordResetPayload> {
        let principal = access::require(ctx, ANY_ROLE)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let password = RawPassword::from(input.customer_password);
        let caller = access::caller(ctx, principal);
        let resets = state.resets();
        let result = match (input.reset_password_token, input.customer_email, input.code) {
            (Some(token), None, None) => resets.complete(&caller, token.into(), password).await,
            (None, Some(email), Some(code)) => {
                let code = code.into();
                resets
                    .complete_with_code(&caller, &email, code, password)
                    .await
            }
            _ => Err(password_resets::token_or_code_required()),
        };
        let (reset, user_errors) = payload(result)?;
        Ok(CompleteCustomerPasswordResetPayload {
            customer_password_reset: reset.map(|r| CustomerPasswordReset::new(r.into(), now)),
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
        let changes = input.merchant.into();
        let result =
            password_resets::update(&state.db, principal.mode, &input.id, changes, now).await;
        let (reset, user_errors) = payload(result)?;
        Ok(UpdateCustomerPasswordResetPayload {
            customer_password_reset: reset.map(|r| CustomerPasswordReset::new(r.into(), now)),
            user_errors,
        })
    }

    /// Deletes a reset; its token stops working. Integration keys only.
    async fn delete_customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset.")] input: DeleteCustomerPasswordResetInput,
    ) -> async_graphql::Result<DeleteCustomerPasswordResetPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let result = password_resets::delete(&state.db, principal.mode, &input.id, now).await;
        let (deleted, user_errors) = payload(result)?;
        Ok(DeleteCustomerPasswordResetPayload {
            deleted_customer_password_reset_id: deleted.map(ID),
            user_errors,
        })
    }
}

/// An optional input field as a change: omitted keeps, null clears, a value sets.
fn change<T>(field: MaybeUndefined<T>) -> Change<T> {
    match field {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}
