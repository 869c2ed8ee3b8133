//! Text primitives: Discord's character count, splitting on line or word boundaries, link
//! detection, cutting matched fragments out, and bounded replacement.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// Discord's per-message content limit, counted in Unicode scalar values.
pub const CONTENT_MAX: usize = 2_000;
/// A replacement may not grow one text beyond this (bytes): twenty rules each doubling the
/// text would otherwise build megabytes from a short message.
pub const MAX_TRANSFORMED_BYTES: usize = 32 * 1024;

pub fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Truncates to at most `max` characters, ending with "…" when something was cut.
pub fn clip(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits `text` into parts of at most `max_first` characters (the first) and `max_rest` (the
/// others). A cut goes at the last line break of the window when that is in its second half,
/// otherwise at its last whitespace; only a word longer than a whole part is cut inside. The
/// whitespace at a cut is dropped, and so is whitespace around the text; a text of only
/// whitespace gives no parts.
pub fn split(text: &str, max_first: usize, max_rest: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let max = if parts.is_empty() {
            max_first
        } else {
            max_rest
        }
        .max(1);
        // (byte offset, char) of the first max + 1 characters: the one after the window tells
        // whether the window itself ends on a boundary.
        let window: Vec<(usize, char)> = rest.char_indices().take(max + 1).collect();
        if window.len() <= max {
            parts.push(rest.to_string());
            break;
        }
        let mut last_newline = None;
        let mut last_space = None;
        for (i, (_, c)) in window.iter().enumerate().skip(1) {
            if c.is_whitespace() {
                last_space = Some(i);
                if *c == '\n' {
                    last_newline = Some(i);
                }
            }
        }
        let cut = match (last_newline, last_space) {
            (Some(n), _) if n * 2 >= max => n,
            (_, Some(s)) => s,
            _ => max,
        };
        let byte = window[cut].0;
        parts.push(rest[..byte].trim_end().to_string());
        rest = rest[byte..].trim_start();
    }
    parts
}

/// A link or bare host name found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub range: Range<usize>,
    /// Lower-case host.
    pub host: String,
    /// Written with `http://` or `https://`.
    pub has_scheme: bool,
    /// The path, query and fragment (from the first `/`, `?` or `#`), as written.
    pub path: String,
}

fn link_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(https?://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}[a-z0-9])(?::\d{1,5})?([/?#][^\s<>]*)?",
        )
        .expect("static link pattern")
    })
}

/// Links (`https://host/...`) and bare host names (`t.me/group`, `example.com`), with
/// sentence punctuation after them left out.
pub fn find_links(text: &str) -> Vec<Link> {
    let re = link_regex();
    let mut out = Vec::new();
    for caps in re.captures_iter(text) {
        let whole = caps.get(0).expect("match");
        let start = whole.start();
        // A host glued to a word character on its left is part of something else
        // (`user@host` is fine: '@' is not a word character).
        if text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            continue;
        }
        let mut end = whole.end();
        while let Some(c) = text[start..end].chars().next_back() {
            if matches!(
                c,
                '.' | ',' | ';' | ':' | '!' | '?' | ')' | '\'' | '"' | '*' | '_' | '~' | '|'
            ) {
                end -= c.len_utf8();
            } else {
                break;
            }
        }
        let host_m = caps.get(2).expect("host group");
        if host_m.end() > end {
            continue;
        }
        let path = caps
            .get(3)
            .map(|p| text[p.start()..end.max(p.start())].to_string())
            .unwrap_or_default();
        out.push(Link {
            range: start..end,
            host: host_m.as_str().to_ascii_lowercase(),
            has_scheme: caps.get(1).is_some(),
            path,
        });
    }
    out
}

/// Whether `host` is `domain` or one of its subdomains.
pub fn host_in(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Removes the byte ranges (which may overlap) from `text` and tidies what the cuts leave:
/// doubled spaces, spaces at line ends, and lines that only the cut emptied.
pub fn remove_ranges(text: &str, ranges: &[Range<usize>]) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut sorted: Vec<Range<usize>> = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in sorted {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    // Work line by line so lines the cuts did not touch stay exactly as written.
    let mut out = String::with_capacity(text.len());
    let mut line_start = 0;
    let mut first = true;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let body = line.strip_suffix('\n').unwrap_or(line);
        let touched: Vec<Range<usize>> = merged
            .iter()
            .filter(|r| r.start < line_end && r.end > line_start)
            .map(|r| r.start.max(line_start) - line_start..r.end.min(line_end) - line_start)
            .collect();
        let newline = line.ends_with('\n') && !touched.iter().any(|r| r.end == line.len());
        let kept = if touched.is_empty() {
            Some(body.to_string())
        } else {
            let mut s = String::new();
            let mut at = 0;
            for r in &touched {
                let r = r.start.min(body.len())..r.end.min(body.len());
                if r.start > at {
                    s.push_str(&body[at..r.start]);
                }
                at = at.max(r.end);
            }
            if at < body.len() {
                s.push_str(&body[at..]);
            }
            let tidy = s.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>();
            let leading: String = body.chars().take_while(|c| *c == ' ').collect();
            let joined = tidy.join(" ");
            (!joined.trim().is_empty()).then(|| format!("{leading}{joined}"))
        };
        if let Some(k) = kept {
            if !first && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&k);
            if newline {
                out.push('\n');
            }
            first = false;
        }
        line_start = line_end;
    }
    out
}

/// Applies one compiled replacement, leaving the rest of the text unreplaced once the output
/// would exceed [`MAX_TRANSFORMED_BYTES`]. Returns the text and whether anything matched.
pub fn replace_bounded(re: &Regex, text: &str, replacement: &str, expand: bool) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut any = false;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("match");
        let mut piece = String::new();
        if expand {
            caps.expand(replacement, &mut piece);
        } else {
            piece.push_str(replacement);
        }
        if out.len() + (m.start() - last) + piece.len() > MAX_TRANSFORMED_BYTES {
            break;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(&piece);
        last = m.end();
        any = true;
    }
    out.push_str(&text[last..]);
    (out, any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split("  hello  ", 2000, 2000), vec!["hello"]);
        assert!(split(" \n ", 2000, 2000).is_empty());
    }

    #[test]
    fn splits_on_lines_then_words_then_inside_a_word() {
        let text = format!("{}\n{}", "a ".repeat(600).trim(), "b ".repeat(600).trim());
        let parts = split(&text, 2000, 2000);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].ends_with('a') && parts[1].starts_with('b'));
        let words = "word ".repeat(1000);
        for p in split(&words, 2000, 2000) {
            assert!(chars(&p) <= 2000);
            assert!(p.split(' ').all(|w| w == "word"), "never cuts a word");
        }
        let long = "x".repeat(4500);
        let parts = split(&long, 2000, 2000);
        assert_eq!(
            parts.iter().map(|p| chars(p)).collect::<Vec<_>>(),
            vec![2000, 2000, 500]
        );
        // A boundary exactly after the window is used: no word is cut.
        let exact = format!("{} {}", "y".repeat(10), "z".repeat(5));
        assert_eq!(split(&exact, 10, 10), vec!["y".repeat(10), "z".repeat(5)]);
        // The first part may be shorter (room for a role ping).
        let parts = split(&"q ".repeat(20), 5, 9);
        assert!(chars(&parts[0]) <= 5 && parts[1..].iter().all(|p| chars(p) <= 9));
    }

    #[test]
    fn multibyte_text_is_counted_in_characters() {
        let text = "é".repeat(2500);
        let parts = split(&text, 2000, 2000);
        assert_eq!(chars(&parts[0]), 2000);
        assert_eq!(parts.concat(), text);
    }

    /// Walks `original`, consuming each part and then only whitespace: what the parts say is
    /// exactly the text, modulo the whitespace at the cuts.
    fn reassembles(original: &str, parts: &[String]) -> bool {
        let mut rest = original.trim_start();
        for p in parts {
            let Some(r) = rest.strip_prefix(p.as_str()) else {
                return false;
            };
            rest = r.trim_start();
        }
        rest.is_empty()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn split_properties(
            words in proptest::collection::vec(("[a-zé🚀]{1,20}", prop_oneof![Just(" "), Just("\n"), Just("  "), Just("\n\n"), Just("\t")]), 0..400),
            max_first in 20usize..120,
            max_rest in 20usize..200,
        ) {
            let text: String = words.iter().map(|(w, s)| format!("{w}{s}")).collect();
            let parts = split(&text, max_first, max_rest);
            for (i, p) in parts.iter().enumerate() {
                let max = if i == 0 { max_first } else { max_rest };
                prop_assert!(chars(p) <= max, "part {} has {} > {}", i, chars(p), max);
                prop_assert!(!p.is_empty());
                prop_assert_eq!(p.trim(), p.as_str());
            }
            prop_assert!(reassembles(&text, &parts));
            // Words here are at most 20 characters, no longer than any part: never cut inside.
            for p in &parts {
                for w in p.split_whitespace() {
                    prop_assert!(words.iter().any(|(x, _)| x == w), "{} is a cut word", w);
                }
            }
        }

        #[test]
        fn split_never_panics_and_keeps_every_character(text in "\\PC{0,3000}", max in 1usize..300) {
            let parts = split(&text, max, max);
            prop_assert!(parts.iter().all(|p| chars(p) <= max));
            prop_assert!(reassembles(&text, &parts));
        }
    }

    #[test]
    fn links_and_hosts() {
        let l = find_links("join https://Sub.Pump.io/x?y=1. or t.me/group, see (example.com)!");
        let hosts: Vec<&str> = l.iter().map(|l| l.host.as_str()).collect();
        assert_eq!(hosts, vec!["sub.pump.io", "t.me", "example.com"]);
        assert!(l[0].has_scheme && !l[1].has_scheme);
        assert_eq!(l[0].path, "/x?y=1");
        assert!(find_links("price 1.5 and 2.25, e.g. this").is_empty());
        assert!(host_in("a.b.spam.io", "spam.io"));
        assert!(host_in("spam.io", "spam.io"));
        assert!(!host_in("notspam.io", "spam.io"));
    }

    #[test]
    fn removal_tidies_only_touched_lines() {
        let text = "keep  this\nbuy on pump.io now\npump.io\nlast";
        let ranges: Vec<_> = find_links(text).into_iter().map(|l| l.range).collect();
        assert_eq!(remove_ranges(text, &ranges), "keep  this\nbuy on now\nlast");
    }

    #[test]
    fn bounded_replacement() {
        let re = Regex::new("a").unwrap();
        let (out, any) = replace_bounded(&re, &"a".repeat(10_000), &"b".repeat(100), false);
        assert!(any);
        assert!(out.len() <= MAX_TRANSFORMED_BYTES + 10_000);
        let re = Regex::new(r"TP(\d)").unwrap();
        assert_eq!(replace_bounded(&re, "TP1 TP2", "T$1", true).0, "T1 T2");
        assert_eq!(replace_bounded(&re, "TP1", "$1$$", false).0, "$1$$");
    }
}
