//! Signed, expiring CDN URLs like Discord's: `?ex=<hex expiry>&is=<hex issue>&hm=<hex HMAC>`,
//! and the generated images behind `/avatars/{user}/{hash}.{png|gif}`.

use crate::util::hex;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], path: &str, ex: &str, is: &str) -> Vec<u8> {
    // Any key length is valid for HMAC, so construction cannot fail.
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(path.as_bytes());
    m.update(b"\n");
    m.update(ex.as_bytes());
    m.update(b"\n");
    m.update(is.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The query string that makes `path` fetchable from `issued_s` until `expires_s` (Unix seconds).
pub fn sign(secret: &[u8], path: &str, issued_s: u64, expires_s: u64) -> String {
    let ex = format!("{expires_s:08x}");
    let is = format!("{issued_s:08x}");
    let hm = hex(&mac(secret, path, &ex, &is));
    format!("ex={ex}&is={is}&hm={hm}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdnError {
    Missing,
    Tampered,
    Expired,
}

/// Checks the signature first, so a forged `ex` cannot extend a link's life.
pub fn verify(
    secret: &[u8],
    path: &str,
    ex: Option<&str>,
    is: Option<&str>,
    hm: Option<&str>,
    now_s: u64,
) -> Result<(), CdnError> {
    let (Some(ex), Some(is), Some(hm)) = (ex, is, hm) else {
        return Err(CdnError::Missing);
    };
    let Some(given) = unhex(hm) else {
        return Err(CdnError::Tampered);
    };
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    m.update(path.as_bytes());
    m.update(b"\n");
    m.update(ex.as_bytes());
    m.update(b"\n");
    m.update(is.as_bytes());
    m.verify_slice(&given).map_err(|_| CdnError::Tampered)?;
    let expires = u64::from_str_radix(ex, 16).map_err(|_| CdnError::Tampered)?;
    if now_s >= expires {
        return Err(CdnError::Expired);
    }
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// An avatar file asked of the CDN: `{hash}.png` for any avatar, `{hash}.gif` only for an
/// animated one (`a_` prefix), as Discord's image formatting rules say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarFormat {
    Png,
    Gif,
}

/// The hash and format of `file` when `file` names the user's current avatar, else `None`
/// (Discord's CDN answers 404 for an unknown or replaced hash).
pub fn avatar_file(file: &str, current: Option<&str>) -> Option<AvatarFormat> {
    let (hash, ext) = file.rsplit_once('.')?;
    if Some(hash) != current {
        return None;
    }
    match ext {
        "png" => Some(AvatarFormat::Png),
        "gif" if hash.starts_with("a_") => Some(AvatarFormat::Gif),
        _ => None,
    }
}

/// Two colours from the avatar hash, so different avatars look different on the web page.
fn colours(hash: &str) -> ([u8; 3], [u8; 3]) {
    let d = <Sha256 as sha2::Digest>::digest(hash.as_bytes());
    (
        [d[0], d[1], d[2]],
        [255 - d[0] / 2, 255 - d[1] / 2, 255 - d[2] / 2],
    )
}

const AVATAR_SIZE: usize = 64;

/// A 64×64 PNG: the first colour with a diagonal band of the second (uncompressed deflate,
/// which every decoder reads).
pub fn avatar_png(hash: &str) -> Vec<u8> {
    let (a, b) = colours(hash);
    let n = AVATAR_SIZE;
    let mut raw = Vec::with_capacity(n * (1 + 3 * n));
    for y in 0..n {
        raw.push(0);
        for x in 0..n {
            let band = (x + y) % 32 < 10;
            raw.extend_from_slice(if band { &b } else { &a });
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(n as u32).to_be_bytes());
    ihdr.extend_from_slice(&(n as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An animated GIF of two 1×1 frames (the two colours), looping; browsers scale it.
pub fn avatar_gif(hash: &str) -> Vec<u8> {
    let (a, b) = colours(hash);
    let mut out = b"GIF89a".to_vec();
    // Logical screen 1x1, global colour table of 2 entries.
    out.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0]);
    out.extend_from_slice(&a);
    out.extend_from_slice(&b);
    // Loop for ever.
    out.extend_from_slice(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00");
    // Each frame: 50 cs delay, a 1x1 image, LZW (min code size 2) of one pixel of index 0 / 1.
    for lzw in [[0x44u8, 0x01], [0x4c, 0x01]] {
        out.extend_from_slice(&[0x21, 0xf9, 4, 0, 50, 0, 0, 0]);
        out.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
        out.extend_from_slice(&[2, 2, lzw[0], lzw[1], 0]);
    }
    out.push(0x3b);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// zlib framing around stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str, key: &str) -> Option<String> {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    }

    fn check(secret: &[u8], path: &str, query: &str, now: u64) -> Result<(), CdnError> {
        verify(
            secret,
            path,
            q(query, "ex").as_deref(),
            q(query, "is").as_deref(),
            q(query, "hm").as_deref(),
            now,
        )
    }

    #[test]
    fn signed_url_is_valid_until_it_expires() {
        let p = "/cdn/attachments/1/2/a.png";
        let s = sign(b"k", p, 1_700_000_000, 1_700_086_400);
        assert!(s.starts_with("ex=65554280&is=6553f100&hm="));
        assert_eq!(check(b"k", p, &s, 1_700_000_001), Ok(()));
        assert_eq!(check(b"k", p, &s, 1_700_086_400), Err(CdnError::Expired));
    }

    #[test]
    fn tampering_with_any_part_is_refused() {
        let p = "/cdn/attachments/1/2/a.png";
        let s = sign(b"k", p, 100, 200);
        assert_eq!(
            check(b"k", "/cdn/attachments/1/3/a.png", &s, 150),
            Err(CdnError::Tampered)
        );
        let longer = s.replace("ex=000000c8", "ex=ffffffff");
        assert_eq!(check(b"k", p, &longer, 150), Err(CdnError::Tampered));
        assert_eq!(check(b"other", p, &s, 150), Err(CdnError::Tampered));
        assert_eq!(
            check(b"k", p, "ex=1&is=1&hm=zz", 0),
            Err(CdnError::Tampered)
        );
        assert_eq!(check(b"k", p, "ex=1", 0), Err(CdnError::Missing));
    }

    #[test]
    fn avatar_files_follow_discords_formats() {
        let h = "8342729096ea3675442027381ff50dfe";
        assert_eq!(
            avatar_file(&format!("{h}.png"), Some(h)),
            Some(AvatarFormat::Png)
        );
        assert_eq!(
            avatar_file(&format!("{h}.gif"), Some(h)),
            None,
            "a static avatar has no GIF"
        );
        assert_eq!(avatar_file(&format!("{h}.png"), Some("other")), None);
        assert_eq!(avatar_file(&format!("{h}.png"), None), None);
        let a = "a_1269e74af4df7417b13759eae50c83dc";
        assert_eq!(
            avatar_file(&format!("{a}.gif"), Some(a)),
            Some(AvatarFormat::Gif)
        );
        assert_eq!(
            avatar_file(&format!("{a}.png"), Some(a)),
            Some(AvatarFormat::Png)
        );
        assert_eq!(avatar_file(a, Some(a)), None);
    }

    #[test]
    fn generated_images_are_well_formed() {
        let png = avatar_png("abc");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        // Every chunk's CRC covers its type and data.
        let mut at = 8;
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32(&png[at + 4..at + 8 + len]), crc);
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        assert!(png.ends_with(&[0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]));
        assert_ne!(avatar_png("abc"), avatar_png("abd"));
        let gif = avatar_gif("a_abc");
        assert!(gif.starts_with(b"GIF89a") && gif.ends_with(&[0x3b]));
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
