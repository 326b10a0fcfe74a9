//! The audit trail in GraphQL (integration keys only).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    access::{self, INTEGRATION},
    connection::{DateTimeRange, connection, page_complexity},
    error::to_graphql,
};
use crate::{
    domain::{AuditAction, AuditOutcome},
    entity::reset_audit_event,
    service::{
        audit::{self, AuditFilter},
        pagination::PageArgs,
    },
};

/// One attempt to create or complete a password reset. Never holds a token or password.
#[derive(Debug, Clone, SimpleObject)]
pub struct PasswordResetAuditEvent {
    /// Opaque id (`aud_…`).
    pub id: ID,
    /// What was attempted.
    pub action: AuditAction,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why it was refused: a `UserErrorCode`, or `TOO_MANY_REQUESTS`.
    pub reason: Option<String>,
    /// The id of the API key used.
    pub key_id: ID,
    /// The client's IP address (see `TRUSTED_PROXIES`).
    pub client_ip: Option<String>,
    /// The customer's id, when known.
    pub customer_id: Option<ID>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl From<reset_audit_event::Model> for PasswordResetAuditEvent {
    fn from(m: reset_audit_event::Model) -> Self {
        Self {
            id: ID(m.public_id),
            action: m.action,
            outcome: m.outcome,
            reason: m.reason,
            key_id: ID(m.key_id),
            client_ip: m.client_ip,
            customer_id: m.customer_id.map(ID),
            created_at: m.created_at,
        }
    }
}

/// Which audit entries to list; every criterion given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct PasswordResetAuditEventFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only these outcomes.
    pub outcome: Option<Vec<AuditOutcome>>,
    /// Only this customer's attempts.
    pub customer_id: Option<ID>,
    /// Only this API key's attempts.
    pub key_id: Option<ID>,
    /// Only attempts from this IP address.
    pub client_ip: Option<String>,
    /// Only attempts in this time range.
    pub created_at: Option<DateTimeRange>,
}

/// Audit queries (integration keys only).
#[derive(Default)]
pub struct AuditQuery;

/// Audit queries (integration keys only).
#[Object]
impl AuditQuery {
    /// Every attempt to create or complete a reset in the key's mode, newest
    /// first. Entries are kept for `AUDIT_RETENTION_DAYS`.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn password_reset_audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Which entries to list.")] filter: Option<PasswordResetAuditEventFilter>,
    ) -> async_graphql::Result<PasswordResetAuditEventConnection> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let f = filter.unwrap_or_default();
        let filter = AuditFilter {
            action: f.action,
            outcomes: f.outcome,
            customer_id: f.customer_id.map(|id| id.0),
            key_id: f.key_id.map(|id| id.0),
            client_ip: f.client_ip,
            created_at: f.created_at.map(Into::into),
        };
        let page = audit::list(
            &state.reader,
            principal.mode,
            filter,
            PageArgs::new(first, after, last, before),
        )
        .await
        .map_err(to_graphql)?;
        Ok(PasswordResetAuditEventConnection::new(
            page,
            PasswordResetAuditEvent::from,
        ))
    }
}

connection!(
    PasswordResetAuditEventConnection,
    PasswordResetAuditEventEdge,
    PasswordResetAuditEvent,
    reset_audit_event::Entity,
    "password reset audit events"
);
