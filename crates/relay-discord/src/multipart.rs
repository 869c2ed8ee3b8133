//! `multipart/form-data` bodies for messages with files: a `payload_json` part with the JSON
//! body and one `files[n]` part per file, each with its filename and content type.
//!
//! The boundary is an argument so the encoding is deterministic under test; the transport
//! passes a fresh random one. A boundary that occurs inside a part is refused rather than
//! producing a body Discord would split in the wrong place.

use crate::error::DiscordError;

/// A file to upload.
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    pub filename: String,
    /// For example `image/png`; `application/octet-stream` when unknown.
    pub content_type: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl File {
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: Vec<u8>,
    ) -> Self {
        File {
            filename: filename.into(),
            content_type: content_type.into(),
            data,
        }
    }
}

/// A message body with files, not yet encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    payload_json: Vec<u8>,
    files: Vec<File>,
}

/// An encoded body and the `Content-Type` header that names its boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Form {
    pub fn new(payload_json: Vec<u8>, files: Vec<File>) -> Self {
        Form {
            payload_json,
            files,
        }
    }

    pub fn payload_json(&self) -> &[u8] {
        &self.payload_json
    }

    pub fn files(&self) -> &[File] {
        &self.files
    }

    /// Encodes with `boundary`: 1–70 characters from RFC 2046's safe set (no spaces here),
    /// absent from every part.
    pub fn encode(&self, boundary: &str) -> Result<Encoded, DiscordError> {
        validate_boundary(boundary)?;
        let delimiter = format!("--{boundary}");
        let collides = |data: &[u8]| {
            data.windows(delimiter.len())
                .any(|w| w == delimiter.as_bytes())
        };
        if collides(&self.payload_json) || self.files.iter().any(|f| collides(&f.data)) {
            return Err(DiscordError::invalid(
                "multipart_boundary_collision",
                "boundary",
                "the boundary occurs inside a part; encode again with another random boundary",
            ));
        }
        let size = self.payload_json.len()
            + self.files.iter().map(|f| f.data.len() + 256).sum::<usize>()
            + 256;
        let mut body = Vec::with_capacity(size);
        part_header(
            &mut body,
            &delimiter,
            "payload_json",
            None,
            "application/json",
        );
        body.extend_from_slice(&self.payload_json);
        body.extend_from_slice(b"\r\n");
        for (n, file) in self.files.iter().enumerate() {
            let content_type = content_type_or_default(&file.content_type)?;
            part_header(
                &mut body,
                &delimiter,
                &format!("files[{n}]"),
                Some(&file.filename),
                content_type,
            );
            body.extend_from_slice(&file.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(delimiter.as_bytes());
        body.extend_from_slice(b"--\r\n");
        Ok(Encoded {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            body,
        })
    }
}

fn part_header(
    out: &mut Vec<u8>,
    delimiter: &str,
    name: &str,
    filename: Option<&str>,
    content_type: &str,
) {
    out.extend_from_slice(delimiter.as_bytes());
    out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
    if let Some(filename) = filename {
        out.extend_from_slice(b"; filename=\"");
        out.extend_from_slice(escape_filename(filename).as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Escapes a filename for a quoted `filename="..."`, the way browsers do (HTML's form
/// encoding: `"` as `%22`, CR and LF as `%0D`/`%0A`), plus `\` (`%5C`) which some parsers read
/// as an escape.
pub fn escape_filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            '\\' => out.push_str("%5C"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn validate_boundary(boundary: &str) -> Result<(), DiscordError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(c);
    if boundary.is_empty() || boundary.len() > 70 || !boundary.chars().all(ok_char) {
        return Err(DiscordError::invalid(
            "multipart_boundary_invalid",
            "boundary",
            "a boundary is 1-70 characters of letters, digits and '()+_,-./:=?",
        ));
    }
    Ok(())
}

fn content_type_or_default(ct: &str) -> Result<&str, DiscordError> {
    if ct.is_empty() {
        return Ok("application/octet-stream");
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match ct.split_once('/') {
        Some((a, b)) if token(a) && token(b) => Ok(ct),
        _ => Err(DiscordError::invalid(
            "file_content_type_invalid",
            "content_type",
            format!("{ct:?} is not a type/subtype media type"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_payload_and_files_byte_for_byte() {
        let form = Form::new(
            br#"{"content":"hi","attachments":[{"id":0,"filename":"a.png"},{"id":1,"filename":"notes \"v2\".txt"}]}"#.to_vec(),
            vec![
                File::new("a.png", "image/png", vec![0x89, b'P', b'N', b'G', 0, 0xff]),
                File::new("notes \"v2\".txt", "", b"line1\r\nline2".to_vec()),
            ],
        );
        let enc = form.encode("relay-boundary-0123").unwrap();
        assert_eq!(
            enc.content_type,
            "multipart/form-data; boundary=relay-boundary-0123"
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(
            b"--relay-boundary-0123\r\n\
Content-Disposition: form-data; name=\"payload_json\"\r\n\
Content-Type: application/json\r\n\
\r\n",
        );
        expected.extend_from_slice(form.payload_json());
        expected.extend_from_slice(
            b"\r\n--relay-boundary-0123\r\n\
Content-Disposition: form-data; name=\"files[0]\"; filename=\"a.png\"\r\n\
Content-Type: image/png\r\n\
\r\n",
        );
        expected.extend_from_slice(&[0x89, b'P', b'N', b'G', 0, 0xff]);
        expected.extend_from_slice(
            b"\r\n--relay-boundary-0123\r\n\
Content-Disposition: form-data; name=\"files[1]\"; filename=\"notes %22v2%22.txt\"\r\n\
Content-Type: application/octet-stream\r\n\
\r\n\
line1\r\nline2\r\n\
--relay-boundary-0123--\r\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&enc.body),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(enc.body, expected);
    }

    #[test]
    fn refuses_bad_or_colliding_boundaries() {
        let form = Form::new(
            b"{}".to_vec(),
            vec![File::new("x", "text/plain", b"a--abc b".to_vec())],
        );
        assert_eq!(
            form.encode("abc").unwrap_err().error_code,
            "discord_multipart_boundary_collision"
        );
        for bad in ["", "has space", "quote\"", &"x".repeat(71), "new\r\nline"] {
            assert_eq!(
                form.encode(bad).unwrap_err().error_code,
                "discord_multipart_boundary_invalid",
                "{bad:?}"
            );
        }
        assert!(form.encode("abd").is_ok());
    }

    #[test]
    fn refuses_header_injection_through_content_type() {
        let form = Form::new(
            b"{}".to_vec(),
            vec![File::new("x", "text/plain\r\nX-Evil: 1", vec![])],
        );
        assert_eq!(
            form.encode("b").unwrap_err().error_code,
            "discord_file_content_type_invalid"
        );
    }

    #[test]
    fn filenames_cannot_break_out_of_their_quotes() {
        assert_eq!(
            escape_filename("a\"b\\c\r\nd\u{0}e.png"),
            "a%22b%5Cc%0D%0Ade.png"
        );
        assert_eq!(escape_filename("résumé.pdf"), "résumé.pdf");
    }
}
