//! Limits Discord enforces on what we send, checked before sending: a request Discord would
//! refuse costs a round trip and, for some refusals, counts against the invalid-request budget.
//! Lengths are counted in Unicode scalar values, as Discord counts characters.

use twilight_model::channel::message::{Embed, MessageFlags};

use crate::error::DiscordError;
use crate::multipart::File;

pub const CONTENT_MAX: usize = 2_000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TOTAL_CHARS_MAX: usize = 6_000;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4_096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1_024;
pub const EMBED_FOOTER_TEXT_MAX: usize = 2_048;
pub const EMBED_AUTHOR_NAME_MAX: usize = 256;
pub const WEBHOOK_NAME_MAX: usize = 80;
pub const THREAD_NAME_MAX: usize = 100;
pub const AVATAR_URL_MAX: usize = 2_048;
pub const FILES_MAX: usize = 10;
pub const FILENAME_MAX: usize = 1_024;
/// Discord's default upload limit per file (boosted guilds allow more).
pub const DEFAULT_FILE_BYTES_MAX: usize = 10 * 1024 * 1024;
pub const NONCE_MAX: usize = 25;

fn chars(s: &str) -> usize {
    s.chars().count()
}

pub fn content(content: &str) -> Result<(), DiscordError> {
    let n = chars(content);
    if n > CONTENT_MAX {
        return Err(DiscordError::invalid(
            "content_too_long",
            "content",
            format!("content is {n} characters, Discord allows {CONTENT_MAX}"),
        ));
    }
    Ok(())
}

/// Per-embed limits, at most 10 embeds, and at most 6,000 characters across the titles,
/// descriptions, field names and values, footers and author names of all of them.
pub fn embeds(embeds: &[Embed]) -> Result<(), DiscordError> {
    if embeds.len() > EMBEDS_MAX {
        return Err(DiscordError::invalid(
            "too_many_embeds",
            "embeds",
            format!("{} embeds, Discord allows {EMBEDS_MAX}", embeds.len()),
        ));
    }
    let mut total = 0usize;
    for (i, e) in embeds.iter().enumerate() {
        let mut check = |field: &str, value: Option<&str>, max: usize| {
            let n = value.map(chars).unwrap_or(0);
            total += n;
            if n > max {
                Err(DiscordError::invalid(
                    "embed_field_too_long",
                    format!("embeds[{i}].{field}"),
                    format!("{n} characters, Discord allows {max}"),
                ))
            } else {
                Ok(())
            }
        };
        check("title", e.title.as_deref(), EMBED_TITLE_MAX)?;
        check(
            "description",
            e.description.as_deref(),
            EMBED_DESCRIPTION_MAX,
        )?;
        check(
            "footer.text",
            e.footer.as_ref().map(|f| f.text.as_str()),
            EMBED_FOOTER_TEXT_MAX,
        )?;
        check(
            "author.name",
            e.author.as_ref().map(|a| a.name.as_str()),
            EMBED_AUTHOR_NAME_MAX,
        )?;
        if e.fields.len() > EMBED_FIELDS_MAX {
            return Err(DiscordError::invalid(
                "embed_too_many_fields",
                format!("embeds[{i}].fields"),
                format!(
                    "{} fields, Discord allows {EMBED_FIELDS_MAX}",
                    e.fields.len()
                ),
            ));
        }
        for (j, f) in e.fields.iter().enumerate() {
            check(
                &format!("fields[{j}].name"),
                Some(&f.name),
                EMBED_FIELD_NAME_MAX,
            )?;
            check(
                &format!("fields[{j}].value"),
                Some(&f.value),
                EMBED_FIELD_VALUE_MAX,
            )?;
        }
    }
    if total > EMBED_TOTAL_CHARS_MAX {
        return Err(DiscordError::invalid(
            "embeds_too_long",
            "embeds",
            format!("embeds hold {total} characters, Discord allows {EMBED_TOTAL_CHARS_MAX}"),
        ));
    }
    Ok(())
}

/// A webhook's name, or the `username` a message is posted under: 1–80 characters, not
/// containing "clyde" or "discord" in any case, and not "everyone" or "here".
pub fn webhook_name(field: &str, name: &str) -> Result<(), DiscordError> {
    let n = chars(name);
    let lower = name.to_lowercase();
    let reason = if n == 0 || name.trim().is_empty() {
        Some(String::from("must not be empty"))
    } else if n > WEBHOOK_NAME_MAX {
        Some(format!("{n} characters, Discord allows {WEBHOOK_NAME_MAX}"))
    } else if lower.contains("clyde") || lower.contains("discord") {
        Some(String::from("must not contain \"clyde\" or \"discord\""))
    } else if lower == "everyone" || lower == "here" {
        Some(String::from("must not be \"everyone\" or \"here\""))
    } else {
        None
    };
    match reason {
        Some(r) => Err(DiscordError::invalid(
            "webhook_name_invalid",
            field,
            format!("{field} {r}"),
        )),
        None => Ok(()),
    }
}

pub fn thread_name(name: &str) -> Result<(), DiscordError> {
    let n = chars(name);
    if n == 0 || n > THREAD_NAME_MAX {
        return Err(DiscordError::invalid(
            "thread_name_invalid",
            "thread_name",
            format!("a thread name is 1-{THREAD_NAME_MAX} characters, got {n}"),
        ));
    }
    Ok(())
}

pub fn avatar_url(url: &str) -> Result<(), DiscordError> {
    if chars(url) > AVATAR_URL_MAX || !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(DiscordError::invalid(
            "avatar_url_invalid",
            "avatar_url",
            "avatar_url must be an http(s) URL of at most 2,048 characters",
        ));
    }
    Ok(())
}

/// Webhook messages may only set SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
pub fn webhook_flags(flags: MessageFlags) -> Result<(), DiscordError> {
    let allowed = MessageFlags::SUPPRESS_EMBEDS | MessageFlags::SUPPRESS_NOTIFICATIONS;
    if !allowed.contains(flags) {
        return Err(DiscordError::invalid(
            "message_flags_invalid",
            "flags",
            "only SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS can be set",
        ));
    }
    Ok(())
}

pub fn files(files: &[File], max_bytes: usize) -> Result<(), DiscordError> {
    if files.len() > FILES_MAX {
        return Err(DiscordError::invalid(
            "too_many_files",
            "files",
            format!("{} files, Discord allows {FILES_MAX}", files.len()),
        ));
    }
    for (i, f) in files.iter().enumerate() {
        let n = chars(&f.filename);
        if n == 0 || n > FILENAME_MAX {
            return Err(DiscordError::invalid(
                "filename_invalid",
                format!("files[{i}].filename"),
                format!("a filename is 1-{FILENAME_MAX} characters, got {n}"),
            ));
        }
        if f.data.len() > max_bytes {
            return Err(DiscordError::invalid(
                "file_too_large",
                format!("files[{i}]"),
                format!("{} bytes, the upload limit is {max_bytes}", f.data.len()),
            ));
        }
    }
    Ok(())
}

pub fn nonce(nonce: &str) -> Result<(), DiscordError> {
    let n = chars(nonce);
    if n == 0 || n > NONCE_MAX {
        return Err(DiscordError::invalid(
            "nonce_invalid",
            "nonce",
            format!("a nonce is 1-{NONCE_MAX} characters, got {n}"),
        ));
    }
    Ok(())
}

pub fn range(field: &'static str, value: u16, min: u16, max: u16) -> Result<(), DiscordError> {
    if value < min || value > max {
        return Err(DiscordError::invalid(
            "limit_out_of_range",
            field,
            format!("{field} must be {min}-{max}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::channel::message::embed::{EmbedAuthor, EmbedField, EmbedFooter};

    pub(crate) fn embed(title: &str, description: &str) -> Embed {
        Embed {
            author: None,
            color: None,
            description: Some(description.into()),
            fields: vec![],
            footer: None,
            image: None,
            kind: "rich".into(),
            provider: None,
            thumbnail: None,
            timestamp: None,
            title: Some(title.into()),
            url: None,
            video: None,
        }
    }

    #[test]
    fn content_limit_counts_characters_not_bytes() {
        assert!(content(&"é".repeat(2_000)).is_ok());
        let err = content(&"a".repeat(2_001)).unwrap_err();
        assert_eq!(err.error_code, "discord_content_too_long");
        assert_eq!(err.field.as_deref(), Some("content"));
    }

    #[test]
    fn embed_limits() {
        assert!(embeds(&vec![embed("t", "d"); 10]).is_ok());
        assert_eq!(
            embeds(&vec![embed("t", "d"); 11]).unwrap_err().error_code,
            "discord_too_many_embeds"
        );
        // Two embeds of 3,000 characters pass; one more character across them fails.
        let a = embed(&"x".repeat(256), &"y".repeat(2_744));
        assert!(embeds(&[a.clone(), a.clone()]).is_ok());
        let mut b = a.clone();
        b.footer = Some(EmbedFooter {
            icon_url: None,
            proxy_icon_url: None,
            text: "z".into(),
        });
        assert_eq!(
            embeds(&[a.clone(), b]).unwrap_err().error_code,
            "discord_embeds_too_long"
        );
        let mut c = embed("t", "d");
        c.author = Some(EmbedAuthor {
            icon_url: None,
            name: "n".repeat(257),
            proxy_icon_url: None,
            url: None,
        });
        let err = embeds(&[c]).unwrap_err();
        assert_eq!(err.error_code, "discord_embed_field_too_long");
        assert_eq!(err.field.as_deref(), Some("embeds[0].author.name"));
        let mut d = embed("t", "d");
        d.fields = vec![EmbedField {
            inline: false,
            name: "n".into(),
            value: "v".repeat(1_025),
        }];
        assert_eq!(
            embeds(&[d]).unwrap_err().field.as_deref(),
            Some("embeds[0].fields[0].value")
        );
    }

    #[test]
    fn webhook_names() {
        assert!(webhook_name("name", "Signal Relay").is_ok());
        assert!(webhook_name("name", &"n".repeat(80)).is_ok());
        for bad in [
            "",
            "   ",
            "My Discord Bot",
            "CLYDE",
            "xclydex",
            "everyone",
            "Here",
        ] {
            assert_eq!(
                webhook_name("name", bad).unwrap_err().error_code,
                "discord_webhook_name_invalid",
                "{bad}"
            );
        }
        assert!(webhook_name("name", &"n".repeat(81)).is_err());
    }

    #[test]
    fn flags_files_nonces_ranges() {
        assert!(webhook_flags(MessageFlags::SUPPRESS_EMBEDS).is_ok());
        assert!(webhook_flags(MessageFlags::empty()).is_ok());
        assert!(webhook_flags(MessageFlags::EPHEMERAL).is_err());
        let f = File::new("a.png", "image/png", vec![0; 11]);
        assert!(files(std::slice::from_ref(&f), 11).is_ok());
        assert_eq!(
            files(std::slice::from_ref(&f), 10).unwrap_err().error_code,
            "discord_file_too_large"
        );
        assert_eq!(
            files(&vec![f; 11], 100).unwrap_err().error_code,
            "discord_too_many_files"
        );
        assert!(files(&[File::new("", "", vec![])], 1).is_err());
        assert!(nonce(&"n".repeat(25)).is_ok());
        assert!(nonce(&"n".repeat(26)).is_err());
        assert!(range("limit", 0, 1, 100).is_err());
        assert!(range("limit", 100, 1, 100).is_ok());
        assert!(thread_name("").is_err());
        assert!(thread_name(&"t".repeat(100)).is_ok());
        assert!(avatar_url("javascript:alert(1)").is_err());
    }
}
