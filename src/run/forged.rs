//! Tokens the run forges from the valid one, as an attacker holding it would: each must be
//! refused (`rs.token.invalid-401`). None needs the issuer's key, so they reach any target.
//! An opaque token has no claims to keep: its forgeries are JWTs with claims of their own for
//! the server's audience.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

/// The token with one character changed in its middle: the same shape, no longer valid. The
/// middle, not the end: a base64url signature's last character may carry unused bits. In a
/// JWT (three dot-separated parts) the signature's middle, so the claims still parse and
/// only a signature check refuses it.
pub fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let parts: Vec<&str> = token.split('.').collect();
    let start = match parts.as_slice() {
        [header, claims, signature] if ![header, claims, signature].iter().any(|p| p.is_empty()) => {
            let signature_start = header.chars().count() + claims.chars().count() + 2;
            signature_start + signature.chars().count() / 2
        }
        _ => chars.len() / 2,
    };
    if let Some(i) = (start..chars.len())
        .chain(0..start)
        .find(|&i| chars[i].is_ascii_alphanumeric())
    {
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    } else {
        chars.push('A');
    }
    chars.into_iter().collect()
}

/// `token` with its signature stripped and `alg: none` (RFC 7519 §6: an unsecured JWT, which
/// no resource server may take).
pub fn unsigned(token: &str, audience: &str) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", claims_of(token, audience))
}

/// `token` with its header kept (its `alg` still names a signature) and the signature part
/// empty: a verifier must not skip what is not there.
pub fn without_signature(token: &str, audience: &str) -> String {
    format!(
        "{}.{}.",
        header_of(token, json!({"alg": "ES256", "typ": "JWT"})),
        claims_of(token, audience)
    )
}

/// `token`'s claims signed by a key made here, under the original key id, with the new public
/// key in the header (`jwk`, RFC 7515 §4.1.3): only a server that verifies with its issuer's
/// key, not the one the token brings, refuses it.
pub fn foreign_key(token: &str, audience: &str) -> String {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("the system random generator works");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("a key pair just generated parses");
    let (x, y) = pair.public_key().as_ref()[1..].split_at(32);
    let original = decoded(token, 0).unwrap_or(Value::Null);
    let mut header = json!({
        "alg": "ES256",
        "typ": original.get("typ").cloned().unwrap_or(json!("JWT")),
        "jwk": {"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)},
    });
    if let Some(kid) = original.get("kid") {
        header["kid"] = kid.clone();
    }
    let signed = format!("{}.{}", b64(header.to_string().as_bytes()), claims_of(token, audience));
    let signature = pair
        .sign(&rng, signed.as_bytes())
        .expect("the system random generator works");
    format!("{signed}.{}", b64(signature.as_ref()))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Part `index` of a JWT, decoded as JSON.
fn decoded(token: &str, index: usize) -> Option<Value> {
    let parts: Vec<&str> = token.split('.').collect();
    let [_, _, _] = parts.as_slice() else { return None };
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[index]).ok()?).ok()
}

/// The token's header as it was (base64url), or `fallback` for an opaque token.
fn header_of(token: &str, fallback: Value) -> String {
    match (decoded(token, 0), token.split('.').next()) {
        (Some(_), Some(header)) => header.to_owned(),
        _ => b64(fallback.to_string().as_bytes()),
    }
}

/// The token's claims as they were (base64url), or claims of its own for `audience`, valid an
/// hour, for an opaque token.
fn claims_of(token: &str, audience: &str) -> String {
    match (decoded(token, 1), token.split('.').nth(1)) {
        (Some(_), Some(claims)) => claims.to_owned(),
        _ => {
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 3600;
            let claims = json!({"sub": "mcp-conformance", "aud": audience, "exp": exp});
            b64(claims.to_string().as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ1In0.c2ln";

    #[test]
    fn a_tampered_token_differs_in_one_middle_character() {
        let t = tampered("abcdefAhij");
        assert_eq!(t.len(), 10);
        assert_eq!(t.chars().zip("abcdefAhij".chars()).filter(|(a, b)| a != b).count(), 1);
        assert_eq!(tampered("eyJ.abc.xyz"), "eyJ.abc.xAz");
        assert_eq!(tampered("eyJ..xyz"), "eyJ..Ayz");
        assert_eq!(tampered("..."), "...A");
    }

    #[test]
    fn forgeries_keep_a_jwts_claims_and_change_only_what_they_forge() {
        let [header, claims, _] = JWT.split('.').collect::<Vec<_>>()[..] else {
            unreachable!()
        };
        assert_eq!(without_signature(JWT, "aud"), format!("{header}.{claims}."));
        let none = unsigned(JWT, "aud");
        assert_eq!(decoded(&none, 0).unwrap()["alg"], "none");
        assert!(none.ends_with(&format!(".{claims}.")));
        let forged = foreign_key(JWT, "aud");
        let forged_header = decoded(&forged, 0).unwrap();
        assert_eq!(forged_header["kid"], "k1");
        assert_eq!(forged_header["typ"], "at+jwt");
        assert_eq!(forged_header["jwk"]["crv"], "P-256");
        assert_eq!(forged.split('.').nth(1), Some(claims));
        assert_eq!(
            URL_SAFE_NO_PAD.decode(forged.split('.').nth(2).unwrap()).unwrap().len(),
            64
        );
    }

    #[test]
    fn an_opaque_tokens_forgeries_carry_claims_for_the_audience() {
        for forged in [
            unsigned("opaque", "http://x/mcp"),
            without_signature("opaque", "http://x/mcp"),
            foreign_key("opaque", "http://x/mcp"),
        ] {
            assert_eq!(decoded(&forged, 1).unwrap()["aud"], "http://x/mcp", "{forged}");
        }
        assert_eq!(decoded(&without_signature("opaque", "a"), 0).unwrap()["alg"], "ES256");
    }
}
