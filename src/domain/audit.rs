//! What the audit trail records of an attempt: what was tried and how it
//! ended. Both are stored by their snake-case names (`no_customer`).

named! {
    /// What was attempted.
    #[derive(async_graphql::Enum)]
    #[strum(serialize_all = "snake_case")]
    pub enum AuditAction {
        /// `createCustomerPasswordReset`.
        Create,
        /// `completeCustomerPasswordReset`.
        Complete,
    }
}

named! {
    /// How an attempt ended.
    #[derive(async_graphql::Enum)]
    #[strum(serialize_all = "snake_case")]
    pub enum AuditOutcome {
        /// A storefront request was answered and queued (the same for every email;
        /// it becomes `CREATED` or `NO_CUSTOMER` once processed).
        Accepted,
        /// A reset was created.
        Created,
        /// No customer has the email; nothing was created.
        NoCustomer,
        /// The password was reset.
        Completed,
        /// The input was refused; `reason` says why.
        Rejected,
        /// A rate limit refused it (or, with reason `QUEUE_FULL`, a full queue shed it).
        RateLimited,
        /// A storefront request made before the customer's password last changed:
        /// no reset was created for it (reason `PASSWORD_CHANGED`).
        Superseded,
    }
}
