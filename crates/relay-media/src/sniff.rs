//! The content type of an attachment, from its first bytes. The type Discord (or anyone
//! upstream) declares is never used: a PNG declared `text/html` is a PNG, and an HTML page
//! declared `image/png` is served as something a browser will not render as a page.

/// What we serve a stored object as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Png,
    Jpeg,
    Gif,
    Webp,
    Mp4,
    Pdf,
    /// Valid UTF-8 without control characters (other than tab, newlines, form feed).
    Text,
    /// Anything else: downloaded, never rendered.
    Binary,
}

/// How many leading bytes the text check looks at.
const TEXT_PROBE: usize = 4096;

pub fn sniff(bytes: &[u8]) -> MediaType {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        MediaType::Png
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        MediaType::Jpeg
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        MediaType::Gif
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        MediaType::Webp
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && is_mp4_brand(&bytes[8..12]) {
        MediaType::Mp4
    } else if starts(b"%PDF-") {
        MediaType::Pdf
    } else if is_text(bytes) {
        MediaType::Text
    } else {
        MediaType::Binary
    }
}

/// ISO base media files whose major brand a browser plays as `video/mp4` (QuickTime's `qt  `
/// and HEIF images share the box layout but are not MP4).
fn is_mp4_brand(brand: &[u8]) -> bool {
    matches!(
        brand,
        b"isom"
            | b"iso2"
            | b"iso4"
            | b"iso5"
            | b"iso6"
            | b"mp41"
            | b"mp42"
            | b"avc1"
            | b"M4V "
            | b"dash"
            | b"MSNV"
    )
}

fn is_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let probe = &bytes[..bytes.len().min(TEXT_PROBE)];
    let text = match std::str::from_utf8(probe) {
        Ok(t) => t,
        // The probe may cut a character in two: what precedes the cut must be valid.
        Err(e) if e.error_len().is_none() && probe.len() < bytes.len() => {
            match std::str::from_utf8(&probe[..e.valid_up_to()]) {
                Ok(t) => t,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
            MediaType::Mp4 => "video/mp4",
            MediaType::Pdf => "application/pdf",
            MediaType::Text => "text/plain; charset=utf-8",
            MediaType::Binary => "application/octet-stream",
        }
    }

    /// The stored form (D1's `content_type`) back to the type; unknown → binary.
    pub fn from_mime(mime: &str) -> MediaType {
        [
            MediaType::Png,
            MediaType::Jpeg,
            MediaType::Gif,
            MediaType::Webp,
            MediaType::Mp4,
            MediaType::Pdf,
            MediaType::Text,
        ]
        .into_iter()
        .find(|t| t.mime() == mime)
        .unwrap_or(MediaType::Binary)
    }

    pub fn is_image(self) -> bool {
        matches!(
            self,
            MediaType::Png | MediaType::Jpeg | MediaType::Gif | MediaType::Webp
        )
    }

    /// Shown in the page (`Content-Disposition: inline`) or downloaded. PDFs download: the
    /// route's sandboxing CSP would stop a browser's PDF viewer anyway.
    pub fn inline(self) -> bool {
        self.is_image() || matches!(self, MediaType::Mp4 | MediaType::Text)
    }

    /// `inline` or `attachment` with the original name: an ASCII fallback (quotes, backslashes
    /// and control characters replaced) and the exact name in RFC 5987 form.
    pub fn content_disposition(self, filename: &str) -> String {
        let kind = if self.inline() {
            "inline"
        } else {
            "attachment"
        };
        let ascii: String = filename
            .chars()
            .take(200)
            .map(|c| {
                if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut encoded = String::new();
        for b in filename.bytes().take(600) {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                encoded.push(b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_table() {
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        let cases: &[(&[u8], MediaType, &str)] = &[
            (
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                MediaType::Png,
                "image/png",
            ),
            (
                &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10],
                MediaType::Jpeg,
                "image/jpeg",
            ),
            (b"GIF89a\x01\0\x01\0", MediaType::Gif, "image/gif"),
            (b"GIF87a\x01\0", MediaType::Gif, "image/gif"),
            (webp, MediaType::Webp, "image/webp"),
            (mp4, MediaType::Mp4, "video/mp4"),
            (b"%PDF-1.7\n%\xe2\xe3", MediaType::Pdf, "application/pdf"),
            (
                b"BTC long 42000\nTP 45000\n",
                MediaType::Text,
                "text/plain; charset=utf-8",
            ),
            (
                "entrée €".as_bytes(),
                MediaType::Text,
                "text/plain; charset=utf-8",
            ),
            (
                b"\0\x01\x02binary",
                MediaType::Binary,
                "application/octet-stream",
            ),
            (b"", MediaType::Binary, "application/octet-stream"),
            (
                b"\xff\xfe not utf-8",
                MediaType::Binary,
                "application/octet-stream",
            ),
            // Almost a signature is no signature.
            (
                b"\x89PNG\r\n",
                MediaType::Binary,
                "application/octet-stream",
            ),
            (
                b"RIFF\x24\0\0\0WAVEfmt ",
                MediaType::Binary,
                "application/octet-stream",
            ),
            (
                b"\0\0\0\x20ftypqt  \0\0",
                MediaType::Binary,
                "application/octet-stream",
            ),
        ];
        for (bytes, want, mime) in cases {
            assert_eq!(sniff(bytes), *want, "{bytes:?}");
            assert_eq!(want.mime(), *mime);
            assert_eq!(MediaType::from_mime(mime), *want);
        }
    }

    #[test]
    fn html_is_text_not_a_page() {
        // Served as text/plain with nosniff: a browser shows the markup, never runs it.
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), MediaType::Text);
        assert!(!MediaType::Text.is_image());
    }

    #[test]
    fn a_multibyte_character_cut_by_the_probe_is_still_text() {
        let mut s = "a".repeat(TEXT_PROBE - 1);
        s.push('é');
        assert_eq!(sniff(s.as_bytes()), MediaType::Text);
    }

    #[test]
    fn content_disposition_cannot_be_broken_out_of() {
        assert_eq!(
            MediaType::Png.content_disposition("chart.png"),
            "inline; filename=\"chart.png\"; filename*=UTF-8''chart.png"
        );
        assert_eq!(
            MediaType::Pdf.content_disposition("a\"b\r\nX-Evil: 1.pdf"),
            "attachment; filename=\"a_b__X-Evil: 1.pdf\"; filename*=UTF-8''a%22b%0D%0AX-Evil%3A%201.pdf"
        );
        assert_eq!(
            MediaType::Binary.content_disposition("é.bin"),
            "attachment; filename=\"_.bin\"; filename*=UTF-8''%C3%A9.bin"
        );
    }

    #[test]
    fn only_media_the_page_can_show_is_inline() {
        assert!(MediaType::Png.inline() && MediaType::Mp4.inline());
        assert!(!MediaType::Pdf.inline() && !MediaType::Binary.inline());
    }

    proptest! {
        #[test]
        fn a_png_signature_wins_over_whatever_follows(tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
            b.extend(tail);
            prop_assert_eq!(sniff(&b), MediaType::Png);
        }

        #[test]
        fn sniffing_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = sniff(&b);
        }
    }
}
