//! Discord's permission algorithm and role hierarchy, on plain values.

use twilight_model::guild::Permissions;

pub const ALL: u64 = Permissions::all().bits();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    /// 0 = role, 1 = member, as in the API.
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

/// Guild-level permissions: owner → everything; @everyone | member roles; ADMINISTRATOR → all.
pub fn base(is_owner: bool, everyone: u64, member_role_perms: &[u64]) -> u64 {
    if is_owner {
        return ALL;
    }
    let p = member_role_perms.iter().fold(everyone, |acc, r| acc | r);
    if p & Permissions::ADMINISTRATOR.bits() != 0 {
        ALL
    } else {
        p
    }
}

/// Applies a channel's overwrites to `base`: @everyone (deny, allow), the member's roles OR-ed
/// together (deny, allow), then the member's own overwrite (deny, allow).
pub fn in_channel(
    base: u64,
    guild_id: u64,
    member_roles: &[u64],
    user_id: u64,
    overwrites: &[Overwrite],
) -> u64 {
    if base & Permissions::ADMINISTRATOR.bits() != 0 || base == ALL {
        return ALL;
    }
    let mut p = base;
    if let Some(o) = overwrites.iter().find(|o| o.kind == 0 && o.id == guild_id) {
        p = (p & !o.deny) | o.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for o in overwrites
        .iter()
        .filter(|o| o.kind == 0 && o.id != guild_id && member_roles.contains(&o.id))
    {
        allow |= o.allow;
        deny |= o.deny;
    }
    p = (p & !deny) | allow;
    if let Some(o) = overwrites.iter().find(|o| o.kind == 1 && o.id == user_id) {
        p = (p & !o.deny) | o.allow;
    }
    p
}

pub fn has(perms: u64, wanted: Permissions) -> bool {
    perms & Permissions::ADMINISTRATOR.bits() != 0 || perms & wanted.bits() == wanted.bits()
}

/// Whether someone whose highest role sits at `actor_top` may assign, remove or act on something
/// at `target`: strictly below only, unless they own the guild.
pub fn outranks(is_owner: bool, actor_top: i64, target: i64) -> bool {
    is_owner || target < actor_top
}

/// Names accepted by the control API (`MANAGE_WEBHOOKS`) or decimal bit strings.
pub fn parse(name_or_bits: &str) -> Option<u64> {
    if let Ok(bits) = name_or_bits.parse::<u64>() {
        return Some(bits);
    }
    name_or_bits
        .split('|')
        .map(|n| Permissions::from_name(n.trim()).map(|p| p.bits()))
        .try_fold(0u64, |acc, p| p.map(|b| acc | b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 100;
    const VIEW: u64 = Permissions::VIEW_CHANNEL.bits();
    const SEND: u64 = Permissions::SEND_MESSAGES.bits();

    fn ow(id: u64, kind: u8, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind,
            allow,
            deny,
        }
    }

    #[test]
    fn owner_and_administrator_get_everything() {
        assert_eq!(base(true, 0, &[]), ALL);
        assert_eq!(base(false, 0, &[Permissions::ADMINISTRATOR.bits()]), ALL);
        let everyone_denied = [ow(GUILD, 0, 0, VIEW)];
        assert_eq!(in_channel(ALL, GUILD, &[], 1, &everyone_denied), ALL);
    }

    #[test]
    fn overwrites_apply_everyone_then_roles_then_member() {
        let b = base(false, VIEW | SEND, &[]);
        let ows = [
            ow(GUILD, 0, 0, VIEW),
            ow(7, 0, VIEW, 0),
            ow(8, 0, 0, VIEW | SEND),
            ow(42, 1, SEND, 0),
        ];
        assert_eq!(in_channel(b, GUILD, &[], 1, &ows) & VIEW, 0);
        assert_ne!(in_channel(b, GUILD, &[7], 1, &ows) & VIEW, 0);
        // Role allows win over role denies: allow and deny are OR-ed over roles, deny first.
        let both = in_channel(b, GUILD, &[7, 8], 1, &ows);
        assert_ne!(both & VIEW, 0);
        assert_eq!(both & SEND, 0);
        // The member's own overwrite comes last.
        assert_ne!(in_channel(b, GUILD, &[7, 8], 42, &ows) & SEND, 0);
    }

    #[test]
    fn hierarchy_is_strictly_below() {
        assert!(outranks(false, 4, 3));
        assert!(!outranks(false, 4, 4));
        assert!(!outranks(false, 4, 5));
        assert!(outranks(true, 0, 9));
    }

    #[test]
    fn permission_names_parse() {
        assert_eq!(
            parse("MANAGE_WEBHOOKS"),
            Some(Permissions::MANAGE_WEBHOOKS.bits())
        );
        assert_eq!(parse("VIEW_CHANNEL|SEND_MESSAGES"), Some(VIEW | SEND));
        assert_eq!(parse("1024"), Some(1024));
        assert_eq!(parse("NOT_A_PERMISSION"), None);
        assert!(has(VIEW | SEND, Permissions::VIEW_CHANNEL));
        assert!(!has(VIEW, Permissions::SEND_MESSAGES));
        assert!(has(
            Permissions::ADMINISTRATOR.bits(),
            Permissions::MANAGE_ROLES
        ));
    }
}
