//! Linking changes: a relink moves the roles from the old Discord account to the new one; an
//! unlink takes back what we granted (and only that). Both are the same diff with another
//! desired state, so they obey every rule of [`super::diff`].

use std::collections::BTreeSet;

use twilight_model::id::marker::RoleMarker;
use twilight_model::id::Id;

use super::desired::Desired;
use super::diff::{converge, Ledger, Plan};

/// The old account loses what we granted it.
pub fn unlink(actual: Option<&BTreeSet<Id<RoleMarker>>>, ledger: &Ledger) -> Plan {
    converge(&Desired::none(), actual, ledger)
}

/// Plans for a relink: `(new account, old account)`. Run the new account's plan first, so the
/// customer is never left with neither. A kick or "untouched" desired state applies to the new
/// account only; the old one is simply no longer the customer's.
pub fn relink(
    desired: &Desired,
    new_actual: Option<&BTreeSet<Id<RoleMarker>>>,
    new_ledger: &Ledger,
    old_actual: Option<&BTreeSet<Id<RoleMarker>>>,
    old_ledger: &Ledger,
) -> (Plan, Plan) {
    (
        converge(desired, new_actual, new_ledger),
        unlink(old_actual, old_ledger),
    )
}
