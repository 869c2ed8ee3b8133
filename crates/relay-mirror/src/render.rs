//! What one target receives for one signal: [`render`] turns a converged
//! [`SignalView`] and a mapping's [`MappingRules`] into the parts to post (or a [`Skip`] naming
//! the rule that emptied it).
//!
//! Order of work: mentions are rewritten for the target guild, then filters apply (they judge
//! the analyst's words), then replacements, then the text is laid out into parts of at most
//! 2,000 characters with embeds (at most 10 and 6,000 characters per message) and files (at
//! most 10 per message) after the text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use relay_core::convergence::SignalView;
use relay_core::ids::{AttachmentId, ChannelId, GuildId, RoleId};
use relay_core::protocol::Attachment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use twilight_model::channel::message::embed::{
    Embed, EmbedAuthor, EmbedField, EmbedFooter, EmbedImage, EmbedThumbnail,
};

use crate::rules::{keyword_matches, FilterMode, MappingRules, Style};
use crate::text::{self, chars, clip, find_links, host_in, remove_ranges, CONTENT_MAX};

pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TOTAL_CHARS_MAX: usize = 6_000;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4_096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1_024;
pub const EMBED_FOOTER_TEXT_MAX: usize = 2_048;
pub const EMBED_AUTHOR_NAME_MAX: usize = 256;
pub const FILES_MAX: usize = 10;
pub const USERNAME_MAX: usize = 80;
/// Discord's default upload limit per file.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 10 * 1024 * 1024;
/// Card text per card: the rest of the 6,000 goes to title, author and footer.
const CARD_TEXT_MAX: usize = 4_000;
const REPLY_EXCERPT_MAX: usize = 100;
const FALLBACK_NAME: &str = "Signal";

/// What the runtime knows about the target when rendering for it.
#[derive(Debug, Clone, Default)]
pub struct TargetContext {
    pub target_guild_id: Option<GuildId>,
    /// Source channel → its mirror in this target's guild (channel mentions are mapped
    /// through it; unmapped ones are dropped).
    pub channel_map: BTreeMap<ChannelId, ChannelId>,
    /// The author's cached avatar URL.
    pub avatar_url: Option<String>,
    /// The message this one replies to, when known.
    pub reply: Option<ReplyRef>,
    /// Per-file upload limit of the target guild (`None`: Discord's default, 10 MiB).
    pub upload_limit: Option<u64>,
    /// Our own signed media URL for files over the upload limit; such files without a link
    /// are left out and listed in [`Rendered::dropped_attachments`].
    pub media_links: BTreeMap<AttachmentId, String>,
}

/// A reply's original as one target shows it ([`reply_ref`] builds it): its text with this
/// target's rules applied and, when it was mirrored into this target, a link to the mirrored
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyRef {
    pub excerpt: String,
    pub jump_url: Option<String>,
}

/// What a reply quotes of its original in one target: the original's text as this target's
/// rules mirror it (mentions rewritten, filters and replacements applied), so a quote never
/// carries text the target would not have posted. `None` when there is nothing to show: the
/// original was deleted, or the rules skip it and there is no mirrored original to link.
pub fn reply_ref(
    original: &SignalView,
    rules: &MappingRules,
    ctx: &TargetContext,
    jump_url: Option<String>,
) -> Option<ReplyRef> {
    if original.deleted {
        return None;
    }
    let content = rewrite_mentions(&original.content, ctx);
    let excerpt = match apply_filters(original, content, Vec::new(), rules) {
        Ok(f) => apply_replacements(&f.content, rules).0,
        Err(_) => String::new(),
    };
    if excerpt.trim().is_empty() && jump_url.is_none() {
        return None;
    }
    Some(ReplyRef { excerpt, jump_url })
}

/// The link to a message, for a reply's jump to the mirrored original
/// (`TargetQueue::map.mirrored(original, 0)` gives its id in this target).
pub fn jump_url(
    guild: &GuildId,
    channel: &ChannelId,
    message: &relay_core::ids::MessageId,
) -> String {
    format!("https://discord.com/channels/{guild}/{channel}/{message}")
}

/// How a part is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Poster {
    /// Through the target channel's webhook, under `username` and the avatar.
    Webhook,
    /// By the bot (the `embed` style's card).
    Bot,
}

/// One Discord message of a mirrored signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    pub content: String,
    pub embeds: Vec<Embed>,
    /// Source attachments to upload with this part, in order.
    pub attachments: Vec<AttachmentId>,
}

impl Part {
    /// Identifies what was posted, so an edit re-sends only parts that changed.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let d = Sha256::digest(&bytes);
        d[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `allowed_mentions` as sent: `{"parse": []}`, plus the role ping on a first post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowedMentions {
    pub parse: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleId>,
}

/// The operation a part is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    Post,
    Edit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub poster: Poster,
    /// Sanitised display name for webhook posts.
    pub username: String,
    pub avatar_url: Option<String>,
    pub parts: Vec<Part>,
    pub role_ping_id: Option<RoleId>,
    /// Over the upload limit with no media link to put in their place.
    pub dropped_attachments: Vec<AttachmentId>,
}

impl Rendered {
    /// Explicit on every post and every edit; the role ping is allowed only when the first
    /// part is first posted (an edit must not ping again).
    pub fn allowed_mentions(&self, part: usize, kind: SendKind) -> AllowedMentions {
        let roles = match (&self.role_ping_id, part, kind) {
            (Some(r), 0, SendKind::Post) => vec![r.clone()],
            _ => Vec::new(),
        };
        AllowedMentions {
            parse: Vec::new(),
            roles,
        }
    }
}

/// Why nothing is posted for a signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// The rule, as a field path (`filters_json.blocked_keywords`), or a reason code
    /// (`empty_message`, `attachments_over_upload_limit`).
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RenderOutcome {
    Post(Rendered),
    Skipped(Skip),
}

fn skip_of(rule: &str, detail: impl Into<String>) -> Skip {
    Skip {
        rule: rule.to_string(),
        detail: detail.into(),
    }
}

fn skip(rule: &str, detail: impl Into<String>) -> RenderOutcome {
    RenderOutcome::Skipped(skip_of(rule, detail))
}

// ---------------------------------------------------------------------------------------------
// Names and mentions

/// A webhook `username`: 1–80 characters, without "discord" or "clyde" in any case (Discord
/// refuses the whole post otherwise), without control characters, never "everyone"/"here".
pub fn sanitize_username(name: Option<&str>) -> String {
    let mut s: String = name
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // Removing one occurrence can join two halves into another ("discdiscordord").
    loop {
        let lower = s.to_lowercase();
        let hit = ["discord", "clyde"]
            .iter()
            .filter_map(|w| lower.find(w).map(|i| (i, w.len())))
            .min();
        let Some((i, len)) = hit else { break };
        // Lower-casing can change byte lengths; fall back to an ASCII-safe cut when it did.
        if lower.len() == s.len() && s.is_char_boundary(i) && s.is_char_boundary(i + len) {
            s.replace_range(i..i + len, "");
        } else {
            s = s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
                .collect();
            s = s.to_lowercase().replace("discord", "").replace("clyde", "");
        }
        s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let lower = s.to_lowercase();
    if s.is_empty() || lower == "everyone" || lower == "here" {
        return FALLBACK_NAME.to_string();
    }
    clip(&s, USERNAME_MAX).trim().to_string()
}

fn mention_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Unbounded classes, not `{1,100}`: a counted repetition of a Unicode class
        // compiles into a hundred copies of it.
        Regex::new(
            r"<@&(\d{1,20})>|<#(\d{1,20})>|<id:[a-z]+>|</([^:<>\n]+):\d{1,20}>|@(everyone|here)",
        )
        .expect("static mention pattern")
    })
}

fn event_link_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)<?https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/events/(\d{1,20})/\d{1,20}(?:/\d{1,20})?>?|<?https?://discord\.gg/[\w-]+\?event=\d{1,20}>?",
        )
        .expect("static event-link pattern")
    })
}

/// Rewrites Discord markup for the target guild: role mentions dropped (the role does not
/// exist there), channel mentions mapped to the mirrored channel or dropped, guild navigation
/// and command mentions made plain, `@everyone`/`@here` defused, and links to other guilds'
/// events removed. User mentions stay: they render if the user is there and never ping
/// (`allowed_mentions` parses nothing).
pub fn rewrite_mentions(text: &str, ctx: &TargetContext) -> String {
    let out = mention_regex().replace_all(text, |c: &regex::Captures<'_>| {
        if c.get(1).is_some() {
            String::new()
        } else if let Some(ch) = c.get(2) {
            ChannelId::parse(ch.as_str())
                .ok()
                .and_then(|id| ctx.channel_map.get(&id))
                .map(|m| format!("<#{m}>"))
                .unwrap_or_default()
        } else if let Some(cmd) = c.get(3) {
            format!("/{}", cmd.as_str())
        } else if let Some(who) = c.get(4) {
            // A zero-width space keeps it readable and unparseable.
            format!("@\u{200b}{}", who.as_str())
        } else {
            String::new()
        }
    });
    let out = event_link_regex().replace_all(&out, |c: &regex::Captures<'_>| {
        let same_guild = match (c.get(1), &ctx.target_guild_id) {
            (Some(g), Some(target)) => g.as_str() == target.as_str(),
            _ => false,
        };
        if same_guild {
            c[0].to_string()
        } else {
            String::new()
        }
    });
    if out == text {
        return out.into_owned();
    }
    // No pattern spans a line break, so lines still correspond: tidy only the lines a cut
    // touched (the spaces it left), keeping their indentation and every other line as written.
    let tidy = |before: &str, l: &str| {
        let indent: String = before.chars().take_while(|c| *c == ' ').collect();
        let words: Vec<&str> = l.split(' ').filter(|w| !w.is_empty()).collect();
        format!("{indent}{}", words.join(" "))
    };
    text.split('\n')
        .zip(out.split('\n'))
        .map(|(before, after)| {
            if before == after {
                after.to_string()
            } else {
                tidy(before, after)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Embeds

fn http_url(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    ((s.starts_with("https://") || s.starts_with("http://")) && s.len() <= 2_048)
        .then(|| s.to_string())
}

fn text_of(v: Option<&Value>, max: usize) -> Option<String> {
    let s = v?.as_str()?.trim();
    (!s.is_empty()).then(|| clip(s, max))
}

/// Characters Discord counts towards the 6,000 of a message.
pub fn embed_chars(e: &Embed) -> usize {
    e.title.as_deref().map(chars).unwrap_or(0)
        + e.description.as_deref().map(chars).unwrap_or(0)
        + e.footer.as_ref().map(|f| chars(&f.text)).unwrap_or(0)
        + e.author.as_ref().map(|a| chars(&a.name)).unwrap_or(0)
        + e.fields
            .iter()
            .map(|f| chars(&f.name) + chars(&f.value))
            .sum::<usize>()
}

fn rich(description: Option<String>) -> Embed {
    Embed {
        author: None,
        color: None,
        description,
        fields: Vec::new(),
        footer: None,
        image: None,
        kind: "rich".to_string(),
        provider: None,
        thumbnail: None,
        timestamp: None,
        title: None,
        url: None,
        video: None,
    }
}

/// A source embed as we may send it: rich, http(s) URLs only, every field within Discord's
/// limits, at most 25 fields, and at most 6,000 characters (fields dropped from the end).
/// `None` when nothing displayable is left. Auto-embeds (link previews) of a URL the mirrored
/// text still contains are left to Discord, which unfurls the link again.
pub fn sanitize_embed(src: &relay_core::protocol::Embed, content: &str) -> Option<Embed> {
    let parsed;
    let raw = match &src.raw_json {
        Value::Object(_) => &src.raw_json,
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        _ => &Value::Null,
    };
    let kind = raw
        .get("type")
        .and_then(Value::as_str)
        .or(src.embed_type.as_deref())
        .unwrap_or("rich");
    let url =
        http_url(raw.get("url")).or_else(|| src.url.clone().filter(|u| u.starts_with("http")));
    if kind != "rich" {
        if let Some(u) = &url {
            if content.contains(u.as_str()) {
                return None;
            }
        }
    }
    let mut e = rich(
        text_of(raw.get("description"), EMBED_DESCRIPTION_MAX)
            .or_else(|| {
                src.description
                    .as_deref()
                    .map(|d| clip(d.trim(), EMBED_DESCRIPTION_MAX))
            })
            .filter(|d| !d.is_empty()),
    );
    e.title = text_of(raw.get("title"), EMBED_TITLE_MAX)
        .or_else(|| {
            src.title
                .as_deref()
                .map(|t| clip(t.trim(), EMBED_TITLE_MAX))
        })
        .filter(|t| !t.is_empty());
    e.url = url;
    e.color = raw
        .get("color")
        .and_then(Value::as_u64)
        .filter(|c| *c <= 0xFF_FFFF)
        .map(|c| c as u32);
    if let Some(a) = raw.get("author") {
        if let Some(name) = text_of(a.get("name"), EMBED_AUTHOR_NAME_MAX) {
            e.author = Some(EmbedAuthor {
                icon_url: http_url(a.get("icon_url")),
                name,
                proxy_icon_url: None,
                url: http_url(a.get("url")),
            });
        }
    }
    if let Some(f) = raw.get("footer") {
        if let Some(text) = text_of(f.get("text"), EMBED_FOOTER_TEXT_MAX) {
            e.footer = Some(EmbedFooter {
                icon_url: http_url(f.get("icon_url")),
                proxy_icon_url: None,
                text,
            });
        }
    }
    e.image = raw
        .get("image")
        .and_then(|i| http_url(i.get("url")))
        .map(|url| EmbedImage {
            height: None,
            proxy_url: None,
            url,
            width: None,
        });
    e.thumbnail = raw
        .get("thumbnail")
        .and_then(|i| http_url(i.get("url")))
        .map(|url| EmbedThumbnail {
            height: None,
            proxy_url: None,
            url,
            width: None,
        });
    e.timestamp = raw
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| twilight_model::util::Timestamp::parse(t).ok());
    for f in raw
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if e.fields.len() == EMBED_FIELDS_MAX {
            break;
        }
        // Discord refuses empty field names and values.
        if let (Some(name), Some(value)) = (
            text_of(f.get("name"), EMBED_FIELD_NAME_MAX),
            text_of(f.get("value"), EMBED_FIELD_VALUE_MAX),
        ) {
            e.fields.push(EmbedField {
                inline: f.get("inline").and_then(Value::as_bool).unwrap_or(false),
                name,
                value,
            });
        }
    }
    while embed_chars(&e) > EMBED_TOTAL_CHARS_MAX && e.fields.pop().is_some() {}
    if embed_chars(&e) > EMBED_TOTAL_CHARS_MAX {
        let room = EMBED_TOTAL_CHARS_MAX
            - (embed_chars(&e) - e.description.as_deref().map(chars).unwrap_or(0));
        e.description = e.description.map(|d| clip(&d, room));
    }
    let shows_something = e.title.is_some()
        || e.description.is_some()
        || !e.fields.is_empty()
        || e.image.is_some()
        || e.thumbnail.is_some()
        || e.author.is_some()
        || e.footer.is_some();
    shows_something.then_some(e)
}

/// Applies `f` to every text an embed shows.
fn map_embed_text(e: &mut Embed, f: &mut dyn FnMut(&str) -> String) {
    e.title = e
        .title
        .take()
        .map(|t| f(&t))
        .filter(|t| !t.trim().is_empty());
    e.description = e
        .description
        .take()
        .map(|t| f(&t))
        .filter(|t| !t.trim().is_empty());
    if let Some(footer) = &mut e.footer {
        footer.text = f(&footer.text);
    }
    if e.footer.as_ref().is_some_and(|x| x.text.trim().is_empty()) {
        e.footer = None;
    }
    for field in &mut e.fields {
        field.name = f(&field.name);
        field.value = f(&field.value);
    }
    e.fields
        .retain(|x| !x.name.trim().is_empty() && !x.value.trim().is_empty());
}

fn embed_texts(e: &Embed) -> Vec<&str> {
    let mut v = Vec::new();
    v.extend(e.title.as_deref());
    v.extend(e.description.as_deref());
    v.extend(e.url.as_deref());
    v.extend(e.footer.as_ref().map(|f| f.text.as_str()));
    for f in &e.fields {
        v.push(&f.name);
        v.push(&f.value);
    }
    v
}

fn embed_is_empty(e: &Embed) -> bool {
    e.title.is_none()
        && e.description.is_none()
        && e.fields.is_empty()
        && e.image.is_none()
        && e.thumbnail.is_none()
        && e.author.is_none()
        && e.footer.is_none()
}

// ---------------------------------------------------------------------------------------------
// Filters and replacements

/// Byte ranges of `text` the filters block, with the rule that blocks each.
fn blocked_ranges(text: &str, rules: &MappingRules) -> Vec<(std::ops::Range<usize>, &'static str)> {
    let f = &rules.filters;
    let mut out = Vec::new();
    if let Some(re) = &f.blocked_re {
        for r in keyword_matches(re, text) {
            out.push((r, "filters_json.blocked_keywords"));
        }
    }
    if !f.blocked_domains.is_empty() || !f.allowed_domains.is_empty() {
        for link in find_links(text) {
            if f.blocked_domains.iter().any(|d| host_in(&link.host, d)) {
                out.push((link.range, "filters_json.blocked_domains"));
            } else if link.has_scheme
                && !f.allowed_domains.is_empty()
                && !f.allowed_domains.iter().any(|d| host_in(&link.host, d))
            {
                out.push((link.range, "filters_json.allowed_domains"));
            }
        }
    }
    out
}

struct Filtered {
    content: String,
    embeds: Vec<Embed>,
    /// The last rule that removed something (names the skip when nothing is left).
    removed_by: Option<&'static str>,
}

fn apply_filters(
    view: &SignalView,
    content: String,
    embeds: Vec<Embed>,
    rules: &MappingRules,
) -> Result<Filtered, Skip> {
    let f = &rules.filters;
    if let Some(author) = &view.author.id {
        if f.ignored_author_ids.contains(author) {
            return Err(skip_of(
                "filters_json.ignored_author_ids",
                format!("author {author} is ignored"),
            ));
        }
    }
    if let Some(re) = &f.allowed_re {
        let found = |t: &str| !keyword_matches(re, t).is_empty();
        let hit = found(&content)
            || embeds
                .iter()
                .any(|e| embed_texts(e).iter().any(|t| found(t)));
        if !hit {
            return Err(skip_of(
                "filters_json.allowed_keywords",
                "contains none of the allowed keywords",
            ));
        }
    }
    let in_content = blocked_ranges(&content, rules);
    let in_embeds: Vec<Vec<(std::ops::Range<usize>, &'static str)>> = embeds
        .iter()
        .map(|e| {
            embed_texts(e)
                .iter()
                .flat_map(|t| blocked_ranges(t, rules))
                .collect()
        })
        .collect();
    if f.mode == FilterMode::Skip {
        if let Some((_, rule)) = in_content
            .first()
            .or_else(|| in_embeds.iter().flatten().next())
        {
            return Err(skip_of(rule, "contains blocked text"));
        }
        return Ok(Filtered {
            content,
            embeds,
            removed_by: None,
        });
    }
    let mut removed_by = in_content.last().map(|(_, r)| *r);
    let content = remove_ranges(
        &content,
        &in_content
            .iter()
            .map(|(r, _)| r.clone())
            .collect::<Vec<_>>(),
    );
    let mut kept = Vec::new();
    for (mut e, hits) in embeds.into_iter().zip(in_embeds) {
        if let Some((_, rule)) = hits.last() {
            removed_by = Some(rule);
            // A blocked link as the embed's own target: the embed is the link; drop it.
            if e.url
                .as_deref()
                .is_some_and(|u| !blocked_ranges(u, rules).is_empty())
            {
                continue;
            }
            map_embed_text(&mut e, &mut |t| {
                let r: Vec<_> = blocked_ranges(t, rules)
                    .into_iter()
                    .map(|(r, _)| r)
                    .collect();
                remove_ranges(t, &r)
            });
            if embed_is_empty(&e) {
                continue;
            }
        }
        kept.push(e);
    }
    Ok(Filtered {
        content,
        embeds: kept,
        removed_by,
    })
}

fn apply_replacements(text: &str, rules: &MappingRules) -> (String, Option<usize>) {
    let mut s = text.to_string();
    let mut last = None;
    for (i, r) in rules.transform.replacements.iter().enumerate() {
        let (out, any) = text::replace_bounded(&r.compiled, &s, &r.replacement, r.regex);
        if any {
            last = Some(i);
            s = out;
        }
    }
    (s, last)
}

// ---------------------------------------------------------------------------------------------
// Layout

fn reply_line(reply: &ReplyRef) -> String {
    let one_line = reply
        .excerpt
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let excerpt = clip(&one_line, REPLY_EXCERPT_MAX);
    match &reply.jump_url {
        Some(url) => {
            let label = excerpt.replace(['[', ']'], "");
            let label = if label.is_empty() {
                "original message".into()
            } else {
                label
            };
            format!("> ↪ [{label}]({url})")
        }
        None if excerpt.is_empty() => String::new(),
        None => format!("> ↪ {excerpt}"),
    }
}

/// Packs embeds and files after the text: each part holds at most 10 embeds within 6,000
/// characters and at most 10 files; what does not fit opens the next part.
fn pack(mut parts: Vec<Part>, embeds: Vec<Embed>, files: Vec<AttachmentId>) -> Vec<Part> {
    let new_part = || Part {
        content: String::new(),
        embeds: Vec::new(),
        attachments: Vec::new(),
    };
    for e in embeds {
        let n = embed_chars(&e);
        let fits = parts.last().is_some_and(|p| {
            p.embeds.len() < EMBEDS_MAX
                && p.embeds.iter().map(embed_chars).sum::<usize>() + n <= EMBED_TOTAL_CHARS_MAX
        });
        if !fits {
            parts.push(new_part());
        }
        parts.last_mut().expect("a part").embeds.push(e);
    }
    for a in files {
        if parts
            .last()
            .is_none_or(|p| p.attachments.len() >= FILES_MAX)
        {
            parts.push(new_part());
        }
        parts.last_mut().expect("a part").attachments.push(a);
    }
    parts
}

/// Renders `view` for one target. A deleted view has nothing to render: the caller treats it
/// as absent (see [`crate::jobs::Desired`]).
pub fn render(view: &SignalView, rules: &MappingRules, ctx: &TargetContext) -> RenderOutcome {
    let source_empty =
        view.content.trim().is_empty() && view.embeds.is_empty() && view.attachments.is_empty();
    if source_empty {
        return skip("empty_message", "the message has no text, embeds or files");
    }
    let content = rewrite_mentions(&view.content, ctx);
    let embeds: Vec<Embed> = view
        .embeds
        .iter()
        .filter_map(|e| sanitize_embed(e, &view.content))
        .collect();
    let filtered = match apply_filters(view, content, embeds, rules) {
        Ok(f) => f,
        Err(skipped) => return RenderOutcome::Skipped(skipped),
    };
    let (content, replaced_by) = apply_replacements(&filtered.content, rules);
    let mut embeds = filtered.embeds;
    for e in &mut embeds {
        map_embed_text(e, &mut |t| apply_replacements(t, rules).0);
    }
    embeds.retain(|e| !embed_is_empty(e));

    let limit = ctx.upload_limit.unwrap_or(DEFAULT_UPLOAD_LIMIT);
    let mut files = Vec::new();
    let mut links = Vec::new();
    let mut dropped = Vec::new();
    for a in &view.attachments {
        if a.size <= limit {
            files.push(a.discord_attachment_id.clone());
        } else if let Some(url) = ctx.media_links.get(&a.discord_attachment_id) {
            links.push(file_link(a, url));
        } else {
            dropped.push(a.discord_attachment_id.clone());
        }
    }
    let has_body =
        !content.trim().is_empty() || !embeds.is_empty() || !files.is_empty() || !links.is_empty();
    if !has_body {
        if let Some(i) = replaced_by {
            return skip(
                &format!("transform_json.replacements[{i}]"),
                "nothing is left after the replacements",
            );
        }
        if let Some(rule) = filtered.removed_by {
            return skip(rule, "nothing is left after removing blocked text");
        }
        if !dropped.is_empty() {
            return skip(
                "attachments_over_upload_limit",
                "every file is over the target's upload limit and no media link is available",
            );
        }
        return skip(
            "empty_message",
            "nothing is left once mentions are rewritten for the target",
        );
    }

    let mut body = Vec::new();
    if let Some(reply) = &ctx.reply {
        let line = reply_line(reply);
        if !line.is_empty() {
            body.push(line);
        }
    }
    if !content.trim().is_empty() {
        body.push(content.trim().to_string());
    }
    body.extend(links);
    let transform = &rules.transform;
    let ping = transform.role_ping_id.as_ref().map(|r| format!("<@&{r}>"));
    let author_name = view
        .author
        .global_name
        .as_deref()
        .or(view.author.username.as_deref());
    let username = sanitize_username(author_name);

    let (poster, parts) = match &transform.style {
        Style::Webhook => {
            if let Some(f) = &transform.footer {
                body.push(format!("-# {f}"));
            }
            let text = body.join("\n");
            let reserve = ping.as_ref().map(|p| chars(p) + 1).unwrap_or(0);
            let mut chunks = text::split(&text, CONTENT_MAX - reserve, CONTENT_MAX);
            if let Some(p) = &ping {
                match chunks.first_mut() {
                    Some(first) => *first = format!("{p}\n{first}"),
                    None => chunks.push(p.clone()),
                }
            }
            let parts = chunks
                .into_iter()
                .map(|content| Part {
                    content,
                    embeds: Vec::new(),
                    attachments: Vec::new(),
                })
                .collect();
            (Poster::Webhook, pack(parts, embeds, files))
        }
        Style::Embed(card) => {
            let text = body.join("\n");
            let chunks = text::split(&text, CARD_TEXT_MAX, CARD_TEXT_MAX);
            let n = chunks.len();
            let mut cards: Vec<Embed> = chunks.into_iter().map(|c| rich(Some(c))).collect();
            if cards.is_empty() {
                cards.push(rich(None));
            }
            for (i, c) in cards.iter_mut().enumerate() {
                c.color = card.color;
                if i == 0 {
                    c.title = card.title.clone();
                    c.author = Some(EmbedAuthor {
                        icon_url: ctx.avatar_url.clone(),
                        name: clip(&username, EMBED_AUTHOR_NAME_MAX),
                        proxy_icon_url: None,
                        url: None,
                    });
                }
                if i + 1 == n.max(1) {
                    c.footer = transform.footer.as_ref().map(|f| EmbedFooter {
                        icon_url: None,
                        proxy_icon_url: None,
                        text: f.clone(),
                    });
                }
            }
            // An empty card (a files-only message without title or footer) would be refused.
            cards.retain(|c| !embed_is_empty(c));
            let mut all = cards;
            all.extend(embeds);
            let mut parts = pack(Vec::new(), all, files);
            if let Some(p) = &ping {
                if let Some(first) = parts.first_mut() {
                    first.content = p.clone();
                }
            }
            (Poster::Bot, parts)
        }
    };
    RenderOutcome::Post(Rendered {
        poster,
        username,
        avatar_url: ctx.avatar_url.clone(),
        parts,
        role_ping_id: transform.role_ping_id.clone(),
        dropped_attachments: dropped,
    })
}

fn file_link(a: &Attachment, url: &str) -> String {
    let name = a.filename.replace(['[', ']'], "");
    format!("📎 [{name}]({url})")
}

#[cfg(test)]
mod tests;
