//! The reference AS's access tokens: JWTs in the RFC 9068 shape, signed ES256 with a key made
//! at start (ring generates P-256 keys; RS256 would need an RSA key generator on top), and
//! published as a JWKS so any resource server can validate them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What an access token says (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub iat: u64,
    /// Not before (RFC 7519 §4.1.5): only minted tokens carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub exp: u64,
    pub jti: String,
}

/// `aud`: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether one of the audiences is `wanted` (as `same` compares them).
    pub fn names(&self, same: impl Fn(&str) -> bool) -> bool {
        match self {
            Audience::One(a) => same(a),
            Audience::Many(all) => all.iter().any(|a| same(a)),
        }
    }
}

/// One signing key and its public half.
pub(super) struct Signer {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public point, uncompressed (0x04 || x || y).
    public: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Why a token is not valid.
pub(super) type Invalid = jsonwebtoken::errors::Error;

/// How strictly [`Signer::verify`] checks (each relaxation is a reference fault).
#[derive(Clone, Copy)]
pub(super) struct Checks<'a> {
    /// The trusted issuer; `None` accepts any `iss`.
    pub issuer: Option<&'a str>,
    pub expiry: bool,
    /// `nbf` is honoured (RFC 7519 §4.1.5).
    pub not_before: bool,
    pub signature: bool,
}

impl Checks<'_> {
    /// A token this key signed for any issuer, at any time (the AS identifying its own).
    pub const ANY_TIME: Checks<'static> = Checks {
        issuer: None,
        expiry: false,
        not_before: false,
        signature: true,
    };
}

impl Signer {
    pub fn generate(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("the system random generator works");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("a key ring just generated parses");
        let public = pair.public_key().as_ref().to_vec();
        Signer {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding: DecodingKey::from_ec_der(&public),
            public,
        }
    }

    /// The JWKS document (RFC 7517) with this key.
    pub fn jwks(&self) -> Value {
        let (x, y) = self.public[1..].split_at(32);
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]})
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        // RFC 9068 §2.1: access tokens say so, so they cannot pass for ID tokens.
        header.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("claims serialize and the key signs")
    }

    /// Signed metadata (RFC 9728 §2.2): `claims` as a JWT this key signs (typed `JWT`, so it
    /// cannot pass for an access token, which RFC 9068 types `at+jwt`).
    pub fn sign_metadata(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("claims serialize and the key signs")
    }

    /// The claims of a token this key signed, checked as `checks` says; the audience is the
    /// caller's to compare (URIs compare by their canonical form).
    pub fn verify(&self, token: &str, checks: &Checks) -> Result<Claims, Invalid> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.validate_exp = checks.expiry;
        validation.validate_nbf = checks.not_before;
        validation.required_spec_claims = ["iss".to_owned()].into();
        if let Some(issuer) = checks.issuer {
            validation.set_issuer(&[issuer]);
        }
        if !checks.signature {
            validation.insecure_disable_signature_validation();
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims)
    }

    /// Fault empty-signature-accepted: a JWT with an empty signature part has its claims
    /// checked as if signed (a verifier that skips what is not there).
    pub fn verify_unsigned(&self, token: &str, checks: &Checks) -> Option<Claims> {
        let (_, "") = token.rsplit_once('.')? else {
            return None;
        };
        let unchecked = Checks {
            signature: false,
            ..*checks
        };
        self.verify(token, &unchecked).ok()
    }
}

/// Fault embedded-jwk-trusted: a JWT is verified with the key its own header carries (`jwk`,
/// RFC 7515 §4.1.3), as CVE-2018-0114's library did: anyone's key signs for the issuer.
pub(super) fn verify_embedded(token: &str, checks: &Checks) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let key = DecodingKey::from_jwk(header.jwk.as_ref()?).ok()?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.validate_exp = checks.expiry;
    validation.validate_nbf = checks.not_before;
    if let Some(issuer) = checks.issuer {
        validation.set_issuer(&[issuer]);
    }
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

/// Seconds since the Unix epoch (JWT `NumericDate`).
pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "http://127.0.0.1:1/as".into(),
            sub: "user".into(),
            aud: Some(Audience::One("http://127.0.0.1:2/mcp".into())),
            client_id: "c".into(),
            scope: Some("mcp:tools".into()),
            iat: now(),
            nbf: None,
            exp,
            jti: "1".into(),
        }
    }

    const STRICT: Checks = Checks {
        issuer: Some("http://127.0.0.1:1/as"),
        expiry: true,
        not_before: true,
        signature: true,
    };

    #[test]
    fn a_signed_token_verifies_and_its_jwks_carries_the_public_point() {
        let signer = Signer::generate("k1");
        let token = signer.sign(&claims(now() + 60));
        assert_eq!(
            signer.verify(&token, &STRICT).unwrap().scope.as_deref(),
            Some("mcp:tools")
        );
        let jwk = &signer.jwks()["keys"][0];
        let key = DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap());
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<Claims>(&token, &key.unwrap(), &validation).is_ok());
    }

    #[test]
    fn expired_foreign_and_other_key_tokens_fail_unless_that_check_is_off() {
        let signer = Signer::generate("k1");
        let expired = signer.sign(&claims(now() - 1));
        assert!(signer.verify(&expired, &STRICT).is_err());
        assert!(
            signer
                .verify(
                    &expired,
                    &Checks {
                        expiry: false,
                        ..STRICT
                    }
                )
                .is_ok()
        );
        let foreign = signer.sign(&Claims {
            iss: "http://other/as".into(),
            ..claims(now() + 60)
        });
        assert!(signer.verify(&foreign, &STRICT).is_err());
        assert!(signer.verify(&foreign, &Checks { issuer: None, ..STRICT }).is_ok());
        let other_key = Signer::generate("k1").sign(&claims(now() + 60));
        assert!(signer.verify(&other_key, &STRICT).is_err());
        assert!(
            signer
                .verify(
                    &other_key,
                    &Checks {
                        signature: false,
                        ..STRICT
                    }
                )
                .is_ok()
        );
    }
}
