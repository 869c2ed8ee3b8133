//! The limits the worker applies. Per account they stop guessing one password; per IP they stop
//! one client spraying many accounts.

use super::rule::Rule;

const MIN: i64 = 60_000;
pub const LOGIN_PER_ACCOUNT: Rule = Rule::per(10, 15 * MIN);
pub const LOGIN_PER_IP: Rule = Rule::per(50, 15 * MIN);
pub const SIGNUP_PER_IP: Rule = Rule::per(20, 60 * MIN);
pub const SIGNUP_PER_ACCOUNT: Rule = Rule::per(5, 60 * MIN);
pub const RESET_PER_ACCOUNT: Rule = Rule::per(5, 60 * MIN);
pub const RESET_PER_IP: Rule = Rule::per(20, 60 * MIN);
