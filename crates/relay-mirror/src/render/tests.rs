use super::*;
use crate::rules::{parse_filters, parse_transform};
use relay_core::convergence::Author;
use relay_core::protocol::Embed as SourceEmbed;
use relay_core::time::Timestamp;
use relay_core::validate::Problems;
use serde_json::json;

fn view(content: &str) -> SignalView {
    SignalView {
        connector_id: "c1".into(),
        discord_message_id: "1300000000000000000".parse_id(),
        guild_id: "10".parse_id(),
        channel_id: "20".parse_id(),
        thread_id: None,
        content: content.into(),
        content_clean: content.into(),
        attachments: vec![],
        embeds: vec![],
        author: Author {
            id: Some("30".parse_id()),
            username: Some("analyst".into()),
            global_name: Some("Ana Lyst".into()),
        },
        mentioned_role_ids: vec![],
        mentioned_user_ids: vec![],
        created_at: Timestamp::from_ms(1_738_324_800_000),
        edited_at: None,
        deleted: false,
        deleted_at: None,
    }
}

trait ParseId {
    fn parse_id<M>(&self) -> relay_core::ids::Snowflake<M>;
}

impl ParseId for str {
    fn parse_id<M>(&self) -> relay_core::ids::Snowflake<M> {
        relay_core::ids::Snowflake::parse(self).unwrap()
    }
}

fn rules(filters: Value, transform: Value) -> MappingRules {
    let mut p = Problems::new();
    let f = parse_filters(&filters, "filters_json", &mut p).unwrap();
    let t = parse_transform(&transform, "transform_json", &mut p).unwrap();
    assert!(p.is_empty(), "{:?}", p.into_vec());
    MappingRules {
        filters: f,
        transform: t,
    }
}

fn none() -> MappingRules {
    MappingRules::default()
}

fn post(o: RenderOutcome) -> Rendered {
    match o {
        RenderOutcome::Post(r) => r,
        RenderOutcome::Skipped(s) => panic!("skipped: {s:?}"),
    }
}

fn skipped(o: RenderOutcome) -> Skip {
    match o {
        RenderOutcome::Skipped(s) => s,
        RenderOutcome::Post(r) => panic!("posted: {r:?}"),
    }
}

fn text(r: &Rendered) -> String {
    r.parts
        .iter()
        .map(|p| p.content.as_str())
        .collect::<Vec<_>>()
        .join("|")
}

fn attachment(id: &str, size: u64) -> Attachment {
    Attachment {
        discord_attachment_id: id.parse_id(),
        filename: format!("{id}.png"),
        source_url: format!("https://cdn.discordapp.com/{id}.png"),
        size,
        content_type: Some("image/png".into()),
    }
}

fn source_embed(raw: Value) -> SourceEmbed {
    SourceEmbed {
        embed_index: 0,
        embed_type: None,
        title: None,
        description: None,
        url: None,
        raw_json: raw,
    }
}

#[test]
fn plain_signal_posts_through_the_webhook_with_no_mentions_allowed() {
    let r = post(render(
        &view("BTC long 42000"),
        &none(),
        &TargetContext::default(),
    ));
    assert_eq!(r.poster, Poster::Webhook);
    assert_eq!(r.username, "Ana Lyst");
    assert_eq!(text(&r), "BTC long 42000");
    let am = serde_json::to_value(r.allowed_mentions(0, SendKind::Post)).unwrap();
    assert_eq!(am, json!({"parse": []}));
    assert_eq!(
        serde_json::to_value(r.allowed_mentions(0, SendKind::Edit)).unwrap(),
        json!({"parse": []})
    );
}

#[test]
fn role_ping_on_the_first_post_only() {
    let rules = rules(json!({}), json!({"role_ping_id": "555"}));
    let long = "word ".repeat(700);
    let r = post(render(&view(&long), &rules, &TargetContext::default()));
    assert!(r.parts.len() >= 2);
    assert!(r.parts[0].content.starts_with("<@&555>\n"));
    assert!(r.parts.iter().all(|p| chars(&p.content) <= CONTENT_MAX));
    assert!(!r.parts[1].content.contains("<@&555>"));
    assert_eq!(
        serde_json::to_value(r.allowed_mentions(0, SendKind::Post)).unwrap(),
        json!({"parse": [], "roles": ["555"]})
    );
    for (part, kind) in [
        (0, SendKind::Edit),
        (1, SendKind::Post),
        (1, SendKind::Edit),
    ] {
        assert_eq!(
            serde_json::to_value(r.allowed_mentions(part, kind)).unwrap(),
            json!({"parse": []}),
            "{part} {kind:?}"
        );
    }
}

#[test]
fn mentions_are_rewritten_for_the_target_guild() {
    let mut ctx = TargetContext {
        target_guild_id: Some("900".parse_id()),
        ..TargetContext::default()
    };
    ctx.channel_map.insert("21".parse_id(), "921".parse_id());
    let v = view(
        "<@&77> entry in <#21>, see <#22> and <@30>; @everyone @here </buy:123> <id:customize>\n\
         event https://discord.com/events/10/555 ours https://discord.com/events/900/556",
    );
    let r = post(render(&v, &none(), &ctx));
    assert_eq!(
        text(&r),
        "entry in <#921>, see and <@30>; @\u{200b}everyone @\u{200b}here /buy\n\
         event ours https://discord.com/events/900/556"
    );
    // Lines a rewrite did not touch keep their spacing (code blocks, tables).
    let v = view("```\n  a  b\n```\n<@&1> x");
    assert_eq!(
        text(&post(render(&v, &none(), &ctx))),
        "```\n  a  b\n```\nx"
    );
    // The same in a reply excerpt.
    let reply = reply_ref(
        &view("<@&77> old\ncall"),
        &none(),
        &ctx,
        Some(jump_url(
            &"900".parse_id(),
            &"921".parse_id(),
            &"1".parse_id(),
        )),
    );
    let ctx = TargetContext { reply, ..ctx };
    let r = post(render(&view("follow-up"), &none(), &ctx));
    assert_eq!(
        text(&r),
        "> ↪ [old call](https://discord.com/channels/900/921/1)\nfollow-up"
    );
    let ctx = TargetContext {
        reply: Some(ReplyRef {
            excerpt: "x".repeat(300),
            jump_url: None,
        }),
        ..TargetContext::default()
    };
    let r = post(render(&view("follow-up"), &none(), &ctx));
    assert!(r.parts[0].content.starts_with("> ↪ xxx"));
    assert!(chars(r.parts[0].content.lines().next().unwrap()) <= 105);
}

#[test]
fn a_reply_quotes_its_original_as_the_target_mirrors_it_never_what_its_rules_hold_back() {
    let mut ctx = TargetContext {
        target_guild_id: Some("900".parse_id()),
        ..TargetContext::default()
    };
    ctx.channel_map.insert("21".parse_id(), "921".parse_id());
    let link = || {
        Some(jump_url(
            &"900".parse_id(),
            &"921".parse_id(),
            &"5".parse_id(),
        ))
    };
    let rules = rules(
        json!({"blocked_keywords": ["vip"], "mode": "remove"}),
        json!({"replacements": [{"pattern": "Binance", "replacement": "our exchange"}]}),
    );
    let original = view("BTC long on Binance, details in <#21> vip");
    let quoted = reply_ref(&original, &rules, &ctx, link()).unwrap();
    assert!(!quoted.excerpt.contains("vip") && !quoted.excerpt.contains("Binance"));
    let r = post(render(
        &view("TP1 hit"),
        &rules,
        &TargetContext {
            reply: Some(quoted),
            ..ctx.clone()
        },
    ));
    let first = r.parts[0].content.lines().next().unwrap().to_string();
    assert!(
        first.starts_with("> ↪ [BTC long on our exchange, details in <#921>"),
        "{first}"
    );
    assert!(first.ends_with("(https://discord.com/channels/900/921/5)"));
    assert_eq!(r.parts[0].content.lines().nth(1), Some("TP1 hit"));

    // A skip rule that holds the original back holds its quote back too; with nothing mirrored
    // to link, the reply posts without a quote line.
    let skip = self::rules(
        json!({"blocked_keywords": ["vip"], "mode": "skip"}),
        json!({}),
    );
    assert_eq!(reply_ref(&original, &skip, &ctx, None), None);
    // A deleted original has nothing to quote.
    let mut gone = view("x");
    gone.deleted = true;
    assert_eq!(reply_ref(&gone, &none(), &ctx, link()), None);
    // An embed-only original that was mirrored is linked by a neutral label.
    let linked = reply_ref(&view(""), &none(), &ctx, link()).unwrap();
    let r = post(render(
        &view("ok"),
        &none(),
        &TargetContext {
            reply: Some(linked),
            ..ctx
        },
    ));
    assert!(r.parts[0]
        .content
        .starts_with("> ↪ [original message](https://discord.com/channels/900/921/5)"));
}

#[test]
fn usernames_are_sanitised_for_webhooks() {
    assert_eq!(sanitize_username(Some("Ana")), "Ana");
    assert_eq!(sanitize_username(Some("DiscordTrader")), "Trader");
    assert_eq!(sanitize_username(Some("clyde")), "Signal");
    assert_eq!(sanitize_username(Some("disCLYDEcord pro")), "pro");
    assert_eq!(sanitize_username(Some("  a\u{0007}b  ")), "a b");
    assert_eq!(sanitize_username(None), "Signal");
    assert_eq!(sanitize_username(Some("everyone")), "Signal");
    let long = sanitize_username(Some(&"n".repeat(200)));
    assert_eq!(chars(&long), USERNAME_MAX);
    for name in ["İDiscord", "DİSCORD", "ÅdiscordÅ"] {
        let s = sanitize_username(Some(name));
        assert!(!s.to_lowercase().contains("discord"), "{name} -> {s}");
        assert!(!s.is_empty() && chars(&s) <= USERNAME_MAX);
    }
    let v = SignalView {
        author: Author {
            id: None,
            username: Some("discord_bot".into()),
            global_name: None,
        },
        ..view("x")
    };
    assert_eq!(
        post(render(&v, &none(), &TargetContext::default())).username,
        "_bot"
    );
}

#[test]
fn long_content_splits_into_tracked_parts() {
    let v = view(
        &(0..20)
            .map(|i| format!("line {i} {}", "of text ".repeat(30).trim()))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert!(r.parts.len() >= 3);
    for p in &r.parts {
        assert!(chars(&p.content) <= CONTENT_MAX);
        assert!(p.content.starts_with("line") && p.content.ends_with("text"));
    }
    let digests: std::collections::BTreeSet<String> = r.parts.iter().map(Part::digest).collect();
    assert_eq!(digests.len(), r.parts.len(), "parts are told apart");
}

#[test]
fn keyword_filters_match_whole_words_case_insensitively() {
    let r = rules(json!({"blocked_keywords": ["pump"]}), json!({}));
    assert_eq!(
        skipped(render(
            &view("PUMP incoming"),
            &r,
            &TargetContext::default()
        ))
        .rule,
        "filters_json.blocked_keywords"
    );
    // Not inside another word.
    post(render(
        &view("pumpkin season"),
        &r,
        &TargetContext::default(),
    ));
    post(render(&view("repump"), &r, &TargetContext::default()));
    // Word boundaries are Unicode-aware.
    let r = rules(
        json!({"allowed_keywords": ["btc", "long entry"]}),
        json!({}),
    );
    post(render(
        &view("New BTC setup"),
        &r,
        &TargetContext::default(),
    ));
    post(render(
        &view("LONG\n entry now"),
        &r,
        &TargetContext::default(),
    ));
    assert_eq!(
        skipped(render(&view("btcusdt only"), &r, &TargetContext::default())).rule,
        "filters_json.allowed_keywords"
    );
    assert_eq!(
        skipped(render(&view("éBTC"), &r, &TargetContext::default())).rule,
        "filters_json.allowed_keywords"
    );
    // A keyword of symbols has no word edge to respect.
    let r = rules(json!({"blocked_keywords": ["$scam"]}), json!({}));
    skipped(render(&view("buy$scam now"), &r, &TargetContext::default()));
}

#[test]
fn remove_mode_cuts_fragments_and_names_the_rule_when_nothing_is_left() {
    let r = rules(
        json!({"blocked_keywords": ["VIP only"], "blocked_domains": ["pump.io"], "mode": "remove"}),
        json!({}),
    );
    let out = post(render(
        &view("Entry 42000 vip  ONLY\njoin https://x.Pump.IO/g now\nt.me/ok"),
        &r,
        &TargetContext::default(),
    ));
    assert_eq!(text(&out), "Entry 42000\njoin now\nt.me/ok");
    let s = skipped(render(
        &view("https://pump.io/x"),
        &r,
        &TargetContext::default(),
    ));
    assert_eq!(s.rule, "filters_json.blocked_domains");
    let s = skipped(render(&view("vip only"), &r, &TargetContext::default()));
    assert_eq!(s.rule, "filters_json.blocked_keywords");
}

#[test]
fn domains_include_subdomains_and_allow_lists_block_other_links() {
    let r = rules(json!({"blocked_domains": ["spam.io"]}), json!({}));
    for bad in ["see https://a.b.spam.io/x", "spam.io/join", "SPAM.IO"] {
        assert_eq!(
            skipped(render(&view(bad), &r, &TargetContext::default())).rule,
            "filters_json.blocked_domains",
            "{bad}"
        );
    }
    post(render(
        &view("notspam.io and spam.iox"),
        &r,
        &TargetContext::default(),
    ));
    let r = rules(
        json!({"allowed_domains": ["tradingview.com"], "mode": "remove"}),
        json!({}),
    );
    let out = post(render(
        &view("chart https://www.tradingview.com/x other https://evil.com/y"),
        &r,
        &TargetContext::default(),
    ));
    assert_eq!(text(&out), "chart https://www.tradingview.com/x other");
}

#[test]
fn ignored_authors_are_skipped() {
    let r = rules(json!({"ignored_author_ids": ["30"]}), json!({}));
    assert_eq!(
        skipped(render(&view("x"), &r, &TargetContext::default())).rule,
        "filters_json.ignored_author_ids"
    );
}

#[test]
fn replacements_apply_in_order_and_emptiness_names_the_replacement() {
    let r = rules(
        json!({}),
        json!({"replacements": [
            {"pattern": "BrandX", "replacement": "", "ignore_case": true},
            {"pattern": r"\bTP(\d)\b", "replacement": "Target $1", "regex": true},
            {"pattern": "$1", "replacement": "one dollar"},
        ]}),
    );
    let out = post(render(
        &view("brandx call: TP1 and TP2 for $1"),
        &r,
        &TargetContext::default(),
    ));
    assert_eq!(text(&out), "call: Target 1 and Target 2 for one dollar");
    let s = skipped(render(&view("BRANDX"), &r, &TargetContext::default()));
    assert_eq!(s.rule, "transform_json.replacements[0]");
}

#[test]
fn never_an_empty_post() {
    let s = skipped(render(&view("   "), &none(), &TargetContext::default()));
    assert_eq!(s.rule, "empty_message");
    // Only a role mention: it is dropped, nothing is left.
    let s = skipped(render(&view("<@&77>"), &none(), &TargetContext::default()));
    assert_eq!(s.rule, "empty_message");
    // A footer alone is not a post.
    let r = rules(
        json!({"blocked_keywords": ["x"], "mode": "remove"}),
        json!({"footer": "by us"}),
    );
    let s = skipped(render(&view("x"), &r, &TargetContext::default()));
    assert_eq!(s.rule, "filters_json.blocked_keywords");
    // Every part of every render has something to show.
    for content in ["a", "", " \n "] {
        let mut v = view(content);
        v.attachments = vec![attachment("1", 10)];
        let r = post(render(&v, &none(), &TargetContext::default()));
        assert!(r.parts.iter().all(|p| !p.content.trim().is_empty()
            || !p.embeds.is_empty()
            || !p.attachments.is_empty()));
    }
}

#[test]
fn embed_only_and_attachment_only_messages_are_mirrored() {
    let mut v = view("");
    v.embeds = vec![source_embed(
        json!({"type": "rich", "title": "Chart", "description": "d"}),
    )];
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert_eq!(r.parts.len(), 1);
    assert_eq!(r.parts[0].content, "");
    assert_eq!(r.parts[0].embeds[0].title.as_deref(), Some("Chart"));

    let mut v = view("");
    v.attachments = (0..12)
        .map(|i| attachment(&format!("{}", i + 1), 10))
        .collect();
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert_eq!(
        r.parts
            .iter()
            .map(|p| p.attachments.len())
            .collect::<Vec<_>>(),
        vec![10, 2]
    );
}

#[test]
fn oversized_files_become_links_or_are_reported() {
    let mut v = view("");
    v.attachments = vec![attachment("1", 20 * 1024 * 1024)];
    assert_eq!(
        skipped(render(&v, &none(), &TargetContext::default())).rule,
        "attachments_over_upload_limit"
    );
    let mut ctx = TargetContext::default();
    ctx.media_links
        .insert("1".parse_id(), "https://relay.example/media/1?sig=x".into());
    let r = post(render(&v, &none(), &ctx));
    assert_eq!(text(&r), "📎 [1.png](https://relay.example/media/1?sig=x)");
    v.content = "with text".into();
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert_eq!(r.dropped_attachments, vec!["1".parse_id()]);
}

#[test]
fn embeds_are_sanitised_and_packed_within_discord_limits() {
    let big = |i: usize| {
        source_embed(json!({
            "type": "rich",
            "title": "t".repeat(300),
            "description": format!("{i}{}", "d".repeat(5000)),
            "url": "javascript:alert(1)",
            "color": 0x1000000,
            "image": {"url": "https://cdn.example/i.png"},
            "video": {"url": "https://cdn.example/v.mp4"},
            "fields": (0..30).map(|j| json!({"name": format!("n{j}"), "value": "v".repeat(2000)})).chain([json!({"name": "", "value": "x"})]).collect::<Vec<_>>(),
        }))
    };
    let mut v = view("text");
    v.embeds = (0..12).map(big).collect();
    let r = post(render(&v, &none(), &TargetContext::default()));
    let mut total_embeds = 0;
    for p in &r.parts {
        assert!(p.embeds.len() <= EMBEDS_MAX);
        assert!(p.embeds.iter().map(embed_chars).sum::<usize>() <= EMBED_TOTAL_CHARS_MAX);
        for e in &p.embeds {
            total_embeds += 1;
            assert_eq!(e.kind, "rich");
            assert!(chars(e.title.as_deref().unwrap()) <= EMBED_TITLE_MAX);
            assert!(chars(e.description.as_deref().unwrap()) <= EMBED_DESCRIPTION_MAX);
            assert!(e.fields.len() <= EMBED_FIELDS_MAX);
            assert!(e
                .fields
                .iter()
                .all(|f| chars(&f.value) <= EMBED_FIELD_VALUE_MAX && !f.name.is_empty()));
            assert_eq!(e.url, None);
            assert_eq!(e.color, None);
            assert!(e.video.is_none());
            assert!(e.image.is_some());
        }
    }
    assert_eq!(total_embeds, 12, "every embed is forwarded");
    assert_eq!(r.parts[0].content, "text");

    // A link preview of a URL the text still carries is left to Discord's own unfurl.
    let mut v = view("see https://example.com/a");
    v.embeds = vec![source_embed(
        json!({"type": "article", "url": "https://example.com/a", "title": "A"}),
    )];
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert!(r.parts[0].embeds.is_empty());
    // ... unless a filter removed the link: then the preview goes too.
    let rr = rules(
        json!({"blocked_domains": ["example.com"], "mode": "remove"}),
        json!({}),
    );
    let mut v = view("see https://example.com/a");
    v.embeds = vec![source_embed(
        json!({"type": "rich", "url": "https://example.com/a", "title": "A"}),
    )];
    let r = post(render(&v, &rr, &TargetContext::default()));
    assert_eq!(text(&r), "see");
    assert!(r.parts[0].embeds.is_empty());
    // Embeds given as JSON strings are read too.
    let mut v = view("");
    v.embeds = vec![source_embed(Value::String(
        r#"{"title":"S","fields":[{"name":"a","value":"b","inline":true}]}"#.into(),
    ))];
    let r = post(render(&v, &none(), &TargetContext::default()));
    assert!(r.parts[0].embeds[0].fields[0].inline);
}

#[test]
fn embed_style_posts_a_card_by_the_bot() {
    let r = rules(
        json!({}),
        json!({"style": "embed", "embed": {"title": "VIP", "color": 255}, "footer": "G3", "role_ping_id": "5"}),
    );
    let ctx = TargetContext {
        avatar_url: Some("https://cdn.example/a.png".into()),
        ..TargetContext::default()
    };
    let out = post(render(&view("BTC long"), &r, &ctx));
    assert_eq!(out.poster, Poster::Bot);
    assert_eq!(out.parts.len(), 1);
    assert_eq!(out.parts[0].content, "<@&5>");
    let card = &out.parts[0].embeds[0];
    assert_eq!(card.title.as_deref(), Some("VIP"));
    assert_eq!(card.description.as_deref(), Some("BTC long"));
    assert_eq!(card.color, Some(255));
    assert_eq!(card.footer.as_ref().unwrap().text, "G3");
    assert_eq!(card.author.as_ref().unwrap().name, "Ana Lyst");
    assert_eq!(
        card.author.as_ref().unwrap().icon_url.as_deref(),
        Some("https://cdn.example/a.png")
    );
    // Long text: one card per part, footer on the last.
    let out = post(render(&view(&"word ".repeat(2000)), &r, &ctx));
    assert_eq!(out.parts.iter().map(|p| p.embeds.len()).sum::<usize>(), 3);
    assert_eq!(
        out.parts.len(),
        2,
        "two cards share a message when within 6,000 characters"
    );
    assert!(out
        .parts
        .iter()
        .all(|p| p.embeds.iter().map(embed_chars).sum::<usize>() <= EMBED_TOTAL_CHARS_MAX));
    assert!(out
        .parts
        .last()
        .unwrap()
        .embeds
        .last()
        .unwrap()
        .footer
        .is_some());
    assert!(out.parts[0].embeds[0].footer.is_none());
    assert_eq!(out.parts[1].content, "");
}

#[test]
fn webhook_footer_is_a_subtext_line() {
    let r = rules(json!({}), json!({"footer": "Powered by G3"}));
    let out = post(render(&view("BTC"), &r, &TargetContext::default()));
    assert_eq!(text(&out), "BTC\n-# Powered by G3");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z]{1,12}".prop_map(|s| s),
            Just("BTC".to_string()),
            Just("pump".to_string()),
            Just("<@&77>".to_string()),
            Just("<#21>".to_string()),
            Just("@everyone".to_string()),
            Just("https://a.spam.io/x".to_string()),
            Just("t.me/group".to_string()),
            Just("https://discord.com/events/1/2".to_string()),
            Just("x".repeat(2_100)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the text and rules: either a skip naming a rule, or parts within Discord's
        /// limits, each with something to show; the role ping only on the first post.
        #[test]
        fn renders_within_limits_or_skips(
            words in proptest::collection::vec((token(), prop_oneof![Just(" "), Just("\n")]), 0..300),
            files in 0usize..15,
            embeds in 0usize..14,
            mode in prop_oneof![Just("skip"), Just("remove")],
            ping in any::<bool>(),
            card in any::<bool>(),
        ) {
            let content: String = words.iter().map(|(w, s)| format!("{w}{s}")).collect();
            let mut v = view(&content);
            v.attachments = (0..files).map(|i| attachment(&(i + 1).to_string(), 10)).collect();
            v.embeds = (0..embeds)
                .map(|i| source_embed(json!({"title": format!("e{i}"), "description": "d".repeat(3_000)})))
                .collect();
            let mut transform = json!({"replacements": [{"pattern": "BTC", "replacement": "₿"}]});
            if ping {
                transform["role_ping_id"] = json!("555");
            }
            if card {
                transform["style"] = json!("embed");
            }
            let r = rules(json!({"blocked_keywords": ["pump"], "blocked_domains": ["spam.io"], "mode": mode}), transform);
            match render(&v, &r, &TargetContext::default()) {
                RenderOutcome::Skipped(s) => prop_assert!(!s.rule.is_empty()),
                RenderOutcome::Post(out) => {
                    prop_assert!(!out.parts.is_empty());
                    for (i, p) in out.parts.iter().enumerate() {
                        prop_assert!(chars(&p.content) <= CONTENT_MAX);
                        prop_assert!(p.embeds.len() <= EMBEDS_MAX);
                        prop_assert!(p.embeds.iter().map(embed_chars).sum::<usize>() <= EMBED_TOTAL_CHARS_MAX);
                        prop_assert!(p.attachments.len() <= FILES_MAX);
                        prop_assert!(!p.content.trim().is_empty() || !p.embeds.is_empty() || !p.attachments.is_empty());
                        prop_assert!(!p.content.contains("<@&77>") && !p.content.contains("@everyone"));
                        prop_assert!(!p.content.contains("spam.io"));
                        // Keywords match on word boundaries: a random word may contain "pump"
                        // ("PUmPa"), only the word itself must be gone.
                        prop_assert!(!p
                            .content
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|w| w.eq_ignore_ascii_case("pump")));
                        prop_assert_eq!(p.content.contains("<@&555>"), ping && i == 0);
                        let roles = out.allowed_mentions(i, SendKind::Post).roles;
                        prop_assert_eq!(roles.len(), usize::from(ping && i == 0));
                    }
                    let files_out: usize = out.parts.iter().map(|p| p.attachments.len()).sum();
                    prop_assert_eq!(files_out, files);
                }
            }
        }
    }
}

/// The longest text the protocol admits, with every rule kind active.
#[test]
fn a_maximal_message_renders() {
    let words = [
        "BTC",
        "pump",
        "https://a.spam.io/x",
        "<@&77>",
        "long",
        "entry",
        "t.me/g",
        "é",
    ];
    let mut content = String::new();
    let mut i = 0;
    while content.chars().count() < 16_000 - 30 {
        content.push_str(words[i % words.len()]);
        content.push(if i % 17 == 0 { '\n' } else { ' ' });
        i += 1;
    }
    let r = rules(
        json!({"allowed_keywords": ["btc"], "blocked_keywords": ["pump", "scam group"], "blocked_domains": ["spam.io", "t.me"], "mode": "remove"}),
        json!({"replacements": [{"pattern": r"\bentry\b", "replacement": "Entry", "regex": true, "ignore_case": true}]}),
    );
    let out = post(render(&view(&content), &r, &TargetContext::default()));
    assert!(out.parts.len() >= 3);
    for p in &out.parts {
        assert!(chars(&p.content) <= CONTENT_MAX);
        assert!(
            !p.content.contains("pump")
                && !p.content.contains("spam.io")
                && !p.content.contains("t.me")
        );
        assert!(!p.content.contains(" entry "), "replaced");
    }
}
