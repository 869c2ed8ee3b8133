//! `multipart/form-data` parsing for `payload_json` + `files[n]` uploads.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    NoBoundary,
    Malformed(&'static str),
}

/// The `boundary` parameter of a `Content-Type: multipart/form-data; boundary=...` header.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params_of(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

/// `key=value; key="quoted; value"` pairs, quotes removed and `\"` unescaped.
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', ';', '\t']);
        if rest.is_empty() {
            break;
        }
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        rest = &rest[eq + 1..];
        let value;
        if let Some(stripped) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = stripped.char_indices();
            let mut end = stripped.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => v.push(c),
                }
            }
            value = v;
            rest = &stripped[end.min(stripped.len())..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((key, value));
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, MultipartError> {
    let b = boundary(content_type).ok_or(MultipartError::NoBoundary)?;
    let delim = format!("--{b}");
    let delim = delim.as_bytes();
    let mut pos = find(body, delim, 0).ok_or(MultipartError::Malformed("no opening boundary"))?;
    let mut parts = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(MultipartError::Malformed("boundary not followed by CRLF"));
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos)
            .ok_or(MultipartError::Malformed("unterminated headers"))?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).into_owned();
        let data_start = head_end + 4;
        let mut close = Vec::with_capacity(delim.len() + 2);
        close.extend_from_slice(b"\r\n");
        close.extend_from_slice(delim);
        let data_end =
            find(body, &close, data_start).ok_or(MultipartError::Malformed("unterminated part"))?;
        let mut name = None;
        let mut filename = None;
        let mut ctype = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                let (kind, params) = v.split_once(';').unwrap_or((v, ""));
                if !kind.trim().eq_ignore_ascii_case("form-data") {
                    return Err(MultipartError::Malformed("part is not form-data"));
                }
                for (pk, pv) in params_of(params) {
                    match pk.to_ascii_lowercase().as_str() {
                        "name" => name = Some(pv),
                        "filename" => filename = Some(pv),
                        _ => {}
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                ctype = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or(MultipartError::Malformed("part without a name"))?,
            filename,
            content_type: ctype,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + 2;
    }
}

/// The `n` of a `files[n]` field name.
pub fn file_index(name: &str) -> Option<u64> {
    name.strip_prefix("files[")?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestPart<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn body(boundary: &str, parts: &[TestPart]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, ctype, data) in parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut cd = format!("Content-Disposition: form-data; name=\"{name}\"");
            if let Some(f) = filename {
                cd.push_str(&format!("; filename=\"{f}\""));
            }
            out.extend_from_slice(cd.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let Some(t) = ctype {
                out.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    #[test]
    fn parses_payload_json_and_binary_files() {
        let png = [0x89u8, b'P', b'N', b'G', b'\r', b'\n', 0, 0xff, b'-', b'-'];
        let b = body(
            "xYz123",
            &[
                (
                    "payload_json",
                    None,
                    Some("application/json"),
                    br#"{"content":"hi"}"#,
                ),
                ("files[0]", Some("chart.png"), Some("image/png"), &png),
                ("files[1]", Some("notes.txt"), None, b""),
            ],
        );
        let parts = parse("multipart/form-data; boundary=xYz123", &b).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].name, "payload_json");
        assert_eq!(parts[0].data, br#"{"content":"hi"}"#);
        assert_eq!(parts[1].filename.as_deref(), Some("chart.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, png);
        assert_eq!(parts[2].data, b"");
        assert_eq!(file_index(&parts[2].name), Some(1));
    }

    #[test]
    fn quoted_boundary_and_escaped_filename() {
        let ct = "multipart/form-data; charset=utf-8; boundary=\"a b;c\"";
        assert_eq!(boundary(ct).as_deref(), Some("a b;c"));
        let mut raw = Vec::new();
        raw.extend_from_slice(b"--a b;c\r\nContent-Disposition: form-data; name=\"files[3]\"; filename=\"we\\\"ird; name.txt\"\r\n\r\nX\r\n--a b;c--");
        let parts = parse(ct, &raw).unwrap();
        assert_eq!(parts[0].filename.as_deref(), Some("we\"ird; name.txt"));
        assert_eq!(file_index(&parts[0].name), Some(3));
    }

    #[test]
    fn rejects_what_is_not_multipart() {
        assert_eq!(
            parse("application/json", b"{}"),
            Err(MultipartError::NoBoundary)
        );
        assert!(matches!(
            parse(
                "multipart/form-data; boundary=q",
                b"--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"
            ),
            Err(MultipartError::Malformed(_))
        ));
        assert!(matches!(
            parse("multipart/form-data; boundary=q", b"nothing here"),
            Err(MultipartError::Malformed(_))
        ));
        assert_eq!(file_index("file"), None);
        assert_eq!(file_index("files[x]"), None);
    }
}
