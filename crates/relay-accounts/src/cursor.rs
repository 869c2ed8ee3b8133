//! The history cursor: the position of the last signal a page showed, `(created_at, message_id)`,
//! opaque to clients. It carries no scope: the scope is re-derived from the session on every
//! request, so a cursor copied from another customer or tenant reveals nothing.

use relay_core::encoding::{base64url, unbase64url};
use relay_core::ids::MessageId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub created_at: i64,
    pub message_id: MessageId,
}

pub fn encode(p: &Position) -> String {
    base64url(format!("{}:{}", p.created_at, p.message_id.as_str()).as_bytes())
}

pub fn decode(raw: &str) -> Option<Position> {
    let bytes = unbase64url(raw.trim())?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once(':')?;
    let created_at: i64 = at.parse().ok()?;
    if created_at < 0 {
        return None;
    }
    Some(Position {
        created_at,
        message_id: MessageId::parse(id).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let p = Position {
            created_at: 1_700_000_000_000,
            message_id: MessageId::parse("1234567890123456789").unwrap(),
        };
        assert_eq!(decode(&encode(&p)), Some(p));
        for bad in [
            "",
            "!!",
            &base64url(b"x:1"),
            &base64url(b"-1:5"),
            &base64url(b"5:abc"),
            &base64url(b"5"),
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
