//! Password hashing: argon2id (RFC 9106) in PHC string form, so the parameters travel with each
//! hash and can be raised later without invalidating existing ones ([`needs_rehash`]).
//!
//! Not WebCrypto PBKDF2: Cloudflare's production runtime refuses more than 100,000 iterations,
//! and local workerd does not enforce that cap.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's argon2id baseline: 19 MiB, two passes, one lane.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
pub const SALT_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Cost {
    pub const OWASP: Cost = Cost {
        memory_kib: MEMORY_KIB,
        iterations: ITERATIONS,
        parallelism: PARALLELISM,
    };

    fn hasher(self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|_| PasswordError::BadParameters)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    /// The stored hash is not a PHC string we can read (never a user's fault).
    MalformedHash,
    BadParameters,
}

/// Hashes `password` with `salt` (fresh random bytes from the caller) at `cost`.
pub fn hash(password: &str, salt: &[u8; SALT_BYTES], cost: Cost) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::BadParameters)?;
    let hasher = cost.hasher()?;
    hasher
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::BadParameters)
}

/// Whether `password` matches `phc`, using the parameters stored in it (so hashes made at an
/// older cost still verify). The comparison is constant-time inside `argon2`.
pub fn verify(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|_| PasswordError::MalformedHash)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::MalformedHash);
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(PasswordError::MalformedHash),
    }
}

/// True when `phc` was made with a cost below `target` (rehash it at the next successful login).
pub fn needs_rehash(phc: &str, target: Cost) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < target.memory_kib
        || params.t_cost() < target.iterations
        || params.p_cost() < target.parallelism
}

/// A hash to verify against when the account does not exist, so an unknown email costs the
/// same work as a wrong password and timing does not reveal which it was.
pub fn decoy_hash(cost: Cost) -> String {
    hash("decoy password, never matches", &[0x5a; SALT_BYTES], cost).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small cost so the property-style tests stay fast; the production cost is checked by
    /// its own vector below.
    const CHEAP: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 9106 §5.3, the argon2id test vector (with secret and associated data): proves the
    /// primitive under our PHC layer is the standard one.
    #[test]
    fn rfc9106_argon2id_vector() {
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(argon2::AssociatedData::new(&[0x04; 12]).unwrap())
            .output_len(32)
            .build()
            .unwrap();
        let a = Argon2::new_with_secret(&[0x03; 8], Algorithm::Argon2id, Version::V0x13, params)
            .unwrap();
        let mut out = [0u8; 32];
        a.hash_password_into(&[0x01; 32], &[0x02; 16], &mut out)
            .unwrap();
        assert_eq!(
            hex(&out),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
    }

    /// Our production parameters, checked against an independent implementation
    /// (the reference C library via `argon2-cffi`, same password and salt).
    #[test]
    fn owasp_cost_phc_vector() {
        let phc = hash(
            "correct horse battery staple",
            b"signal-relay-slt",
            Cost::OWASP,
        )
        .unwrap();
        assert_eq!(phc, OWASP_VECTOR);
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("correct horse battery staple", &phc), Ok(true));
        assert_eq!(verify("correct horse battery stapl", &phc), Ok(false));
    }

    pub(crate) const OWASP_VECTOR: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2lnbmFsLXJlbGF5LXNsdA$enYvlVa7UyHjaqsWqqoEsGb0+J8THyDaenlFh7XAvRY";

    #[test]
    fn hashes_carry_their_parameters_and_verify_after_a_cost_change() {
        let old = hash("hunter2hunter2", &[7; 16], CHEAP).unwrap();
        assert!(old.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        // A later, higher cost does not break old hashes; it only flags them for a rehash.
        assert_eq!(verify("hunter2hunter2", &old), Ok(true));
        assert!(needs_rehash(&old, Cost::OWASP));
        assert!(!needs_rehash(&old, CHEAP));
    }

    #[test]
    fn different_salts_give_different_hashes() {
        let a = hash("same password", &[1; 16], CHEAP).unwrap();
        let b = hash("same password", &[2; 16], CHEAP).unwrap();
        assert_ne!(a, b);
        assert_eq!(verify("same password", &a), Ok(true));
        assert_eq!(verify("same password", &b), Ok(true));
    }

    #[test]
    fn malformed_or_foreign_hashes_are_errors_not_matches() {
        assert_eq!(verify("x", "not a hash"), Err(PasswordError::MalformedHash));
        assert_eq!(verify("x", ""), Err(PasswordError::MalformedHash));
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$0123456789abcdef0123456789abcdef0123456789a";
        assert_eq!(verify("x", argon2i), Err(PasswordError::MalformedHash));
        assert!(needs_rehash("garbage", CHEAP));
    }

    #[test]
    fn the_decoy_never_matches() {
        let d = decoy_hash(CHEAP);
        assert_eq!(verify("", &d), Ok(false));
        assert_eq!(verify("decoy password", &d), Ok(false));
    }
}
