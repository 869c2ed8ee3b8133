//! Role sync (issue 14): desired roles per tenant, guild and tier; the convergence diff with its
//! ledger; lapse rules; what the bot cannot manage; audit reasons; relink/unlink; the drift
//! pass. See the crate docs for how the runtime drives these.

pub mod desired;
pub mod diff;
pub mod lapse;
pub mod link;
pub mod manage;
pub mod outcome;
pub mod reason;
pub mod reconcile;

pub use desired::{desired_for, Desired, TierId, TierRoleMap};
pub use diff::{converge, Ledger, Plan, RoleChange};
pub use lapse::{
    evaluate, EndCause, Entitlement, Evaluation, LapseAction, LapseSettings, Standing,
};
pub use link::{relink, unlink};
pub use manage::{kick_problem, role_options, role_problem, screen, RoleOption, Screened};
pub use outcome::{record_outcome, ChangeResult, Made};
pub use reason::{audit_reason, ChangeReason};
pub use reconcile::{calls, Linked, MemberPlan, Reconciliation, RoleCall};
