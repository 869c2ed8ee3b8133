//! Which message a reply answers. The connector's protocol carries no reply reference, so the
//! bot reads the source message back, once, where it can: in a source channel its catalog
//! knows (`Mapping::source_readable`). The answer is kept beside the message's view for every
//! target and every later edit. A channel that refuses the bot is left alone for a while,
//! because each 403 counts toward Discord's invalid-request limit.

use std::rc::Rc;

use futures_util::future::FutureExt;
use relay_core::convergence::SignalView;
use relay_core::ids::{ChannelId, MessageId};
use relay_discord::requests::GetMessage;
use relay_mirror::render::{self, ReplyRef, TargetContext};
use twilight_model::channel::message::MessageType;

use super::routing::Mapping;
use super::{lookups, Shared};
use crate::discord::{Discord, SendError};

/// How long a source channel that refused the bot is not asked again (in this instance).
const REFUSED_FOR_MS: i64 = 10 * 60_000;

/// Discord's "Unknown Message": deleted at the source before we asked.
const UNKNOWN_MESSAGE: u32 = 10008;

/// The message `view` replies to, if any. `Err` is a wait Discord's limits impose (the job is
/// rescheduled then, so a burst does not strip its replies of their quotes); a transient fault
/// answers `Ok(None)` without remembering it, so the next job for the message asks again.
pub async fn original_of(
    sh: &Rc<Shared>,
    view: &SignalView,
    readable: bool,
    now: i64,
) -> Result<Option<MessageId>, SendError> {
    let parse = |id: Option<String>| id.and_then(|s| MessageId::parse(&s).ok());
    if let Ok(Some(known)) = sh.store().reply_of(&view.discord_message_id) {
        return Ok(parse(known));
    }
    if !readable {
        return Ok(None);
    }
    let channel = view.thread_id.as_ref().unwrap_or(&view.channel_id).clone();
    let refused = sh
        .reply_refused
        .borrow()
        .get(channel.as_str())
        .is_some_and(|until| *until > now);
    if refused {
        return Ok(None);
    }
    let message = view.discord_message_id.clone();
    let key = format!("reply:{}", message.as_str());
    let answer = lookups::single_flight(sh, key, move |sh| {
        async move { ask(&sh, &channel, &message, now).await }.boxed_local()
    })
    .await?;
    Ok(parse(answer))
}

async fn ask(sh: &Shared, channel: &ChannelId, message: &MessageId, now: i64) -> lookups::Answer {
    let (Some(discord), Some(channel_id), Some(message_id)) =
        (Discord::from_env(&sh.env), channel.id(), message.id())
    else {
        return Ok(None);
    };
    let remember = |original: Option<&str>| {
        let _ = sh.store().put_reply_of(message, original, now);
    };
    match discord
        .send(
            &GetMessage {
                channel_id,
                message_id,
            },
            0,
        )
        .await
    {
        Ok(m) => {
            let original = m
                .reference
                .filter(|_| m.kind == MessageType::Reply)
                .and_then(|r| r.message_id)
                .map(|id| id.to_string());
            remember(original.as_deref());
            Ok(original)
        }
        Err(SendError::Permanent(e)) => {
            if e.discord_code != Some(UNKNOWN_MESSAGE) {
                refuse(sh, channel, now);
            }
            // Asked and answered for good: later edits of this message do not ask again.
            remember(None);
            Ok(None)
        }
        Err(e @ SendError::NotBefore { .. }) => Err(e),
        Err(_) => Ok(None),
    }
}

fn refuse(sh: &Shared, channel: &ChannelId, now: i64) {
    sh.reply_refused
        .borrow_mut()
        .insert(channel.as_str().to_string(), now + REFUSED_FOR_MS);
}

/// The quote line's content for one target: the original as this target's rules mirror it,
/// linked to its first mirrored part when there is one. `mirrored_in` is where the original's
/// parts are in this target (its channel, or the mirrored thread) and their first id.
pub fn quote(
    original: &SignalView,
    mapping: &Mapping,
    ctx: &TargetContext,
    mirrored_in: Option<(ChannelId, MessageId)>,
) -> Option<ReplyRef> {
    let jump = match (mapping.target_guild.as_ref(), mirrored_in) {
        (Some(g), Some((channel, message))) => Some(render::jump_url(g, &channel, &message)),
        _ => None,
    };
    render::reply_ref(original, &mapping.rules, ctx, jump)
}
