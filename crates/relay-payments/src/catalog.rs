//! The shop catalog: tier cards and their purchase options. An option can only be published
//! (active) when it links to an existing, enabled policy of the same tier and duration, so the
//! shop never sells something the webhook would then leave `unmatched`.

use crate::ids::TierKey;
use crate::policy::PolicySet;
use relay_core::validate::{FieldError, Problems};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE_LEN: usize = 80;
pub const MAX_TEXT_LEN: usize = 2000;
pub const MAX_HIGHLIGHTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCard {
    pub tier: TierKey,
    pub title: String,
    pub subtitle: Option<String>,
    pub badge: Option<String>,
    pub description: String,
    pub order: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOption {
    pub id: String,
    pub tier: TierKey,
    pub policy_id: String,
    pub duration_days: u32,
    /// As shown ("€29 / month"); the charged amount is Sell.app's.
    pub display_price: String,
    pub highlights: Vec<String>,
    pub featured: bool,
    pub checkout_url: String,
    pub active: bool,
}

/// What a deployment accepts beyond the default rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// `http://127.0.0.1…` / `http://localhost…` checkout URLs (the fake Sell.app of a local
    /// stack). Never on by default: a production shop links only to https.
    pub allow_loopback_http: bool,
}

/// The `error_code` of a refused catalog: `option_not_publishable` when an active option's
/// link to its policy is what fails (the field names which: `options[i].policy_id`,
/// `.duration_days` or `.tier`), otherwise `catalog_invalid`.
pub fn error_code(errors: &[FieldError]) -> &'static str {
    let link = |f: &str| {
        f.starts_with("options[")
            && (f.ends_with("].policy_id")
                || f.ends_with("].duration_days")
                || f.ends_with("].tier"))
    };
    if errors.iter().any(|e| link(&e.field)) {
        "option_not_publishable"
    } else {
        "catalog_invalid"
    }
}

/// Validates the whole catalog against the tenant's policies; every problem is named by field
/// (`options[2].policy_id: policy p30 is disabled`). Inactive options are drafts: only their
/// shape is checked, not their policy link.
pub fn validate_catalog(
    cards: &[TierCard],
    options: &[PurchaseOption],
    policies: &PolicySet,
) -> Result<(), Vec<FieldError>> {
    validate_catalog_with(cards, options, policies, Rules::default())
}

/// [`validate_catalog`] under a deployment's [`Rules`].
pub fn validate_catalog_with(
    cards: &[TierCard],
    options: &[PurchaseOption],
    policies: &PolicySet,
    rules: Rules,
) -> Result<(), Vec<FieldError>> {
    let mut p = Problems::new();
    for (i, c) in cards.iter().enumerate() {
        let at = |f: &str| format!("cards[{i}].{f}");
        text(&mut p, at("title"), &c.title, MAX_TITLE_LEN, true);
        text(
            &mut p,
            at("description"),
            &c.description,
            MAX_TEXT_LEN,
            false,
        );
        for (name, v) in [("subtitle", &c.subtitle), ("badge", &c.badge)] {
            if let Some(v) = v {
                text(&mut p, at(name), v, MAX_TITLE_LEN, false);
            }
        }
        if let Some(j) = cards[..i].iter().position(|o| o.tier == c.tier) {
            p.push(
                at("tier"),
                format!("tier {} already has a card (cards[{j}])", c.tier),
            );
        }
    }
    for (i, o) in options.iter().enumerate() {
        let at = |f: &str| format!("options[{i}].{f}");
        if o.id.trim().is_empty() {
            p.push(at("id"), "must not be empty");
        } else if let Some(j) = options[..i].iter().position(|x| x.id == o.id) {
            p.push(at("id"), format!("duplicates options[{j}]"));
        }
        text(
            &mut p,
            at("display_price"),
            &o.display_price,
            MAX_TITLE_LEN,
            true,
        );
        if o.highlights.len() > MAX_HIGHLIGHTS {
            p.push(at("highlights"), format!("at most {MAX_HIGHLIGHTS}"));
        }
        for (k, h) in o.highlights.iter().enumerate() {
            text(
                &mut p,
                format!("options[{i}].highlights[{k}]"),
                h,
                MAX_TITLE_LEN,
                true,
            );
        }
        let loopback = rules.allow_loopback_http && is_loopback_http_url(&o.checkout_url);
        if !(is_https_url(&o.checkout_url) || loopback) {
            p.push(at("checkout_url"), "must be an https:// URL with a host");
        }
        if !o.active {
            continue;
        }
        match cards.iter().find(|c| c.tier == o.tier) {
            None => p.push(at("tier"), format!("no tier card for {}", o.tier)),
            Some(c) if !c.active => {
                p.push(at("tier"), format!("the card of {} is not active", o.tier))
            }
            Some(_) => {}
        }
        match policies.get(&o.policy_id) {
            None => p.push(at("policy_id"), format!("no policy {}", o.policy_id)),
            Some(pol) if !pol.enabled => {
                p.push(at("policy_id"), format!("policy {} is disabled", pol.id))
            }
            Some(pol) => {
                if pol.tier != o.tier {
                    p.push(
                        at("policy_id"),
                        format!("policy {} grants {}, not {}", pol.id, pol.tier, o.tier),
                    );
                }
                if pol.duration_days != o.duration_days {
                    p.push(
                        at("duration_days"),
                        format!("policy {} grants {} days", pol.id, pol.duration_days),
                    );
                }
            }
        }
    }
    p.into_result(())
}

fn text(p: &mut Problems, field: String, v: &str, max: usize, required: bool) {
    if required && v.trim().is_empty() {
        p.push(field, "must not be empty");
    } else if v.chars().count() > max {
        p.push(field, format!("at most {max} characters"));
    }
}

fn is_https_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty()
        && !host.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_loopback_http_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let name = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// One card of the public shop with the options a customer may buy now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopCard<'a> {
    pub card: &'a TierCard,
    pub options: Vec<ShopOption<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopOption<'a> {
    pub option: &'a PurchaseOption,
    /// The option's policy is a trial one: labelled as a trial, and hidden once used.
    pub trial: bool,
}

/// What the public shop shows: active cards in their order, each with its active options whose
/// policy is (still) enabled and matches — a policy disabled after publishing hides the option
/// rather than selling something the webhook would leave unmatched — shortest duration first.
/// Trial options are left out when the customer already used their trial. A card with nothing
/// to buy is left out.
pub fn storefront<'a>(
    cards: &'a [TierCard],
    options: &'a [PurchaseOption],
    policies: &PolicySet,
    trial_used: bool,
) -> Vec<ShopCard<'a>> {
    let mut shown: Vec<&TierCard> = cards.iter().filter(|c| c.active).collect();
    shown.sort_by(|a, b| (a.order, &a.tier).cmp(&(b.order, &b.tier)));
    shown
        .into_iter()
        .filter_map(|card| {
            let mut opts: Vec<ShopOption<'a>> = options
                .iter()
                .filter(|o| o.active && o.tier == card.tier)
                .filter_map(|o| {
                    let pol = policies.get(&o.policy_id)?;
                    let sellable =
                        pol.enabled && pol.tier == o.tier && pol.duration_days == o.duration_days;
                    (sellable && !(pol.trial && trial_used)).then_some(ShopOption {
                        option: o,
                        trial: pol.trial,
                    })
                })
                .collect();
            opts.sort_by(|a, b| {
                (a.option.duration_days, &a.option.id).cmp(&(b.option.duration_days, &b.option.id))
            });
            (!opts.is_empty()).then_some(ShopCard {
                card,
                options: opts,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::policy;

    fn card(tier: &str) -> TierCard {
        TierCard {
            tier: TierKey::new(tier).unwrap(),
            title: "Premium".into(),
            subtitle: None,
            badge: Some("Popular".into()),
            description: "Signals".into(),
            order: 1,
            active: true,
        }
    }

    fn option(id: &str, policy_id: &str, days: u32) -> PurchaseOption {
        PurchaseOption {
            id: id.into(),
            tier: TierKey::new("premium").unwrap(),
            policy_id: policy_id.into(),
            duration_days: days,
            display_price: "€29".into(),
            highlights: vec!["All signals".into()],
            featured: false,
            checkout_url: "https://shop.sell.app/p/premium?variant=201".into(),
            active: true,
        }
    }

    #[test]
    fn an_option_without_an_enabled_policy_cannot_be_published() {
        let mut off = policy("p90", "100", Some("202"), "premium", 90);
        off.enabled = false;
        let policies =
            PolicySet::new(vec![policy("p30", "100", Some("201"), "premium", 30), off]).unwrap();
        let cards = [card("premium")];
        assert_eq!(
            validate_catalog(&cards, &[option("o1", "p30", 30)], &policies),
            Ok(())
        );
        let errs = validate_catalog(
            &cards,
            &[
                option("o1", "p90", 90),
                option("o2", "nope", 30),
                option("o3", "p30", 90),
            ],
            &policies,
        )
        .unwrap_err();
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "options[0].policy_id: policy p90 is disabled",
                "options[1].policy_id: no policy nope",
                "options[2].duration_days: policy p30 grants 30 days",
            ]
        );
        // As a draft (inactive) the same options are fine.
        let mut draft = option("o1", "p90", 90);
        draft.active = false;
        assert_eq!(validate_catalog(&cards, &[draft], &policies), Ok(()));
    }

    #[test]
    fn shape_problems_are_named() {
        let policies =
            PolicySet::new(vec![policy("p30", "100", Some("201"), "premium", 30)]).unwrap();
        let mut bad = option("o1", "p30", 30);
        bad.checkout_url = "http://shop.sell.app/x".into();
        bad.display_price = " ".into();
        let mut c2 = card("premium");
        c2.title = "".into();
        let errs = validate_catalog(&[card("premium"), c2], &[bad], &policies).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "cards[1].title",
                "cards[1].tier",
                "options[0].display_price",
                "options[0].checkout_url"
            ]
        );
        for bad_url in [
            "https://",
            "https:///x",
            "javascript:alert(1)",
            "https://a b/",
        ] {
            assert!(!is_https_url(bad_url), "{bad_url}");
        }
        let mut other_tier = option("o1", "p30", 30);
        other_tier.tier = TierKey::new("vip").unwrap();
        let errs = validate_catalog(&[card("premium")], &[other_tier], &policies).unwrap_err();
        assert_eq!(errs[0].field, "options[0].tier");
        assert_eq!(
            errs[1].to_string(),
            "options[0].policy_id: policy p30 grants premium, not vip"
        );
    }

    #[test]
    fn publish_errors_carry_a_stable_code() {
        let mut off = policy("p90", "100", Some("202"), "premium", 90);
        off.enabled = false;
        let policies = PolicySet::new(vec![off]).unwrap();
        let errs = validate_catalog(&[card("premium")], &[option("o1", "p90", 90)], &policies)
            .unwrap_err();
        assert_eq!(error_code(&errs), "option_not_publishable");
        assert_eq!(errs[0].field, "options[0].policy_id");
        let mut c = card("premium");
        c.title = String::new();
        let errs = validate_catalog(&[c], &[], &policies).unwrap_err();
        assert_eq!(error_code(&errs), "catalog_invalid");
    }

    #[test]
    fn loopback_http_only_when_the_deployment_allows_it() {
        let policies =
            PolicySet::new(vec![policy("p30", "100", Some("201"), "premium", 30)]).unwrap();
        let mut o = option("o1", "p30", 30);
        o.checkout_url = "http://127.0.0.1:4100/checkout/201".into();
        let cards = [card("premium")];
        assert!(validate_catalog(&cards, std::slice::from_ref(&o), &policies).is_err());
        let local = Rules {
            allow_loopback_http: true,
        };
        assert_eq!(
            validate_catalog_with(&cards, std::slice::from_ref(&o), &policies, local),
            Ok(())
        );
        for bad in [
            "http://example.com/checkout",
            "http://127.0.0.1.evil.io/x",
            "http://localhost@evil.io/",
        ] {
            o.checkout_url = bad.into();
            assert!(
                validate_catalog_with(&cards, std::slice::from_ref(&o), &policies, local).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_storefront_shows_what_can_be_bought_now() {
        let mut trial = policy("t3", "103", Some("204"), "premium", 3);
        trial.trial = true;
        let mut off = policy("p90", "100", Some("202"), "premium", 90);
        off.enabled = false;
        let policies = PolicySet::new(vec![
            policy("p30", "100", Some("201"), "premium", 30),
            off,
            trial,
            policy("v30", "200", Some("301"), "vip", 30),
        ])
        .unwrap();
        let mut vip = card("vip");
        vip.order = 0;
        let mut hidden = card("basic");
        hidden.active = false;
        let cards = [card("premium"), vip, hidden];
        let mut o_vip = option("v", "v30", 30);
        o_vip.tier = TierKey::new("vip").unwrap();
        let mut draft = option("d", "p30", 30);
        draft.active = false;
        let opts = [
            option("o30", "p30", 30),
            option("o90", "p90", 90), // its policy was disabled after publishing
            option("trial", "t3", 3),
            draft,
            o_vip,
        ];
        let shop = storefront(&cards, &opts, &policies, false);
        let seen: Vec<(&str, Vec<(&str, bool)>)> = shop
            .iter()
            .map(|c| {
                (
                    c.card.tier.as_str(),
                    c.options
                        .iter()
                        .map(|o| (o.option.id.as_str(), o.trial))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("vip", vec![("v", false)]),
                ("premium", vec![("trial", true), ("o30", false)])
            ]
        );
        let after_trial = storefront(&cards, &opts, &policies, true);
        assert_eq!(after_trial[1].options.len(), 1);
        assert!(!after_trial[1].options[0].trial);
    }
}
