//! Purchase policies: which Sell.app variant (preferred) or product grants which tier for how
//! many days.
//!
//! Several durations of one product are several variants, each with its own policy. A
//! product-wide policy (no variant) is only the fallback for variants that have none, so a
//! 30-day and a 90-day variant can never share (or overwrite) one duration.

use crate::ids::{ProductId, TierKey, VariantId};
use relay_core::validate::{FieldError, Problems};
use serde::{Deserialize, Serialize};

/// Longest duration a policy may grant (ten years): bounds date arithmetic and typos.
pub const MAX_DURATION_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: String,
    pub product_id: ProductId,
    /// `None`: every variant of the product without a policy of its own.
    pub variant_id: Option<VariantId>,
    pub tier: TierKey,
    pub duration_days: u32,
    pub enabled: bool,
    /// A trial option: the once-per-customer rule applies even if the invoice total is missing
    /// or not zero (a zero total is a trial regardless of this flag).
    #[serde(default)]
    pub trial: bool,
}

/// What an order's product/variant resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution<'a> {
    Matched(&'a Policy),
    Disabled(&'a Policy),
    NoPolicy,
}

/// A tenant's policies, validated as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// Every problem, named by field (`policies[1].variant_id: ...`).
    pub fn new(policies: Vec<Policy>) -> Result<PolicySet, Vec<FieldError>> {
        let mut p = Problems::new();
        for (i, pol) in policies.iter().enumerate() {
            let at = |f: &str| format!("policies[{i}].{f}");
            if pol.id.trim().is_empty() {
                p.push(at("id"), "must not be empty");
            }
            if !(1..=MAX_DURATION_DAYS).contains(&pol.duration_days) {
                p.push(
                    at("duration_days"),
                    format!("must be between 1 and {MAX_DURATION_DAYS}"),
                );
            }
            for (j, other) in policies[..i].iter().enumerate() {
                if other.id == pol.id {
                    p.push(at("id"), format!("duplicates policies[{j}]"));
                }
                match (&pol.variant_id, &other.variant_id) {
                    (Some(a), Some(b)) if a == b => p.push(
                        at("variant_id"),
                        format!("variant {a} already has policy {} (policies[{j}])", other.id),
                    ),
                    (None, None) if pol.product_id == other.product_id => p.push(
                        at("variant_id"),
                        format!(
                            "product {} already has a product-wide policy {} (policies[{j}]); give each variant its own",
                            pol.product_id, other.id
                        ),
                    ),
                    _ => {}
                }
            }
        }
        p.into_result(PolicySet { policies })
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn get(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    /// The variant's own policy, else the product-wide one. A disabled match is reported as
    /// such (it does not fall through to the product-wide policy: disabling a variant's policy
    /// must stop that variant from granting).
    pub fn resolve(
        &self,
        product: Option<&ProductId>,
        variant: Option<&VariantId>,
    ) -> Resolution<'_> {
        let by_variant = variant.and_then(|v| {
            self.policies
                .iter()
                .find(|p| p.variant_id.as_ref() == Some(v))
        });
        let found = by_variant.or_else(|| {
            product.and_then(|prod| {
                self.policies
                    .iter()
                    .find(|p| p.variant_id.is_none() && &p.product_id == prod)
            })
        });
        match found {
            Some(p) if p.enabled => Resolution::Matched(p),
            Some(p) => Resolution::Disabled(p),
            None => Resolution::NoPolicy,
        }
    }
}

#[cfg(test)]
pub(crate) fn policy(
    id: &str,
    product: &str,
    variant: Option<&str>,
    tier: &str,
    days: u32,
) -> Policy {
    Policy {
        id: id.into(),
        product_id: ProductId::new(product).unwrap(),
        variant_id: variant.map(|v| VariantId::new(v).unwrap()),
        tier: TierKey::new(tier).unwrap(),
        duration_days: days,
        enabled: true,
        trial: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> ProductId {
        ProductId::new(s).unwrap()
    }
    fn vid(s: &str) -> VariantId {
        VariantId::new(s).unwrap()
    }

    #[test]
    fn several_durations_of_one_product_are_several_variants() {
        let set = PolicySet::new(vec![
            policy("p30", "100", Some("201"), "premium", 30),
            policy("p90", "100", Some("202"), "premium", 90),
            policy("pall", "100", None, "premium", 7),
        ])
        .unwrap();
        let days = |v: &str| match set.resolve(Some(&pid("100")), Some(&vid(v))) {
            Resolution::Matched(p) => p.duration_days,
            other => panic!("{other:?}"),
        };
        assert_eq!(days("201"), 30);
        assert_eq!(days("202"), 90);
        assert_eq!(
            days("203"),
            7,
            "a variant without a policy falls back to the product's"
        );
        assert!(matches!(
            set.resolve(Some(&pid("999")), None),
            Resolution::NoPolicy
        ));
        assert!(matches!(
            set.resolve(None, Some(&vid("201"))),
            Resolution::Matched(_)
        ));
    }

    #[test]
    fn a_disabled_variant_policy_does_not_fall_through() {
        let mut off = policy("p30", "100", Some("201"), "premium", 30);
        off.enabled = false;
        let set = PolicySet::new(vec![off, policy("pall", "100", None, "premium", 7)]).unwrap();
        assert!(matches!(
            set.resolve(Some(&pid("100")), Some(&vid("201"))),
            Resolution::Disabled(p) if p.id == "p30"
        ));
    }

    #[test]
    fn conflicting_policies_are_named() {
        let errs = PolicySet::new(vec![
            policy("a", "100", Some("201"), "premium", 30),
            policy("b", "100", Some("201"), "premium", 90),
            policy("c", "100", None, "premium", 30),
            policy("d", "100", None, "vip", 30),
            policy("a", "300", None, "vip", 0),
        ])
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "policies[1].variant_id",
                "policies[3].variant_id",
                "policies[4].duration_days",
                "policies[4].id"
            ]
        );
    }
}
