//! Step `sessions`: several sessions opened (from 2026-07-28, state handles minted) with the
//! valid token, and whether their ids could be guessed from one another (MCP Security Best
//! Practices: secure, non-deterministic session ids and handles).

use std::collections::{BTreeMap, BTreeSet};

use crate::observation::{Observation, Observed};

use super::Context;

/// How many sessions the step opens: few enough to be no load.
const SESSIONS: usize = 8;

/// The fewest distinct ids the step judges.
const MIN_DISTINCT: usize = 4;

/// The randomness an id must show: 64 bits, the least OWASP's Session Management Cheat Sheet
/// accepts.
const MIN_BITS: f64 = 64.0;

/// The alphabets random ids are written in (binary, octal, decimal, hex, base32, base36,
/// base62, base64): the symbols a few ids show are rounded up to the next one.
const ENCODINGS: [usize; 8] = [2, 8, 10, 16, 32, 36, 62, 64];

impl Context {
    pub(super) async fn sessions(&self) -> Observation {
        let (label, what) = match self.uses_handles() {
            true => ("state handles minted with the valid token", "handle"),
            false => ("sessions opened with the valid token", "session"),
        };
        let access = match self.grants.valid_token().await {
            Ok(access) => access,
            Err(obs) => return obs,
        };
        let mut exchanges = Vec::new();
        let mut ids = Vec::new();
        let mut last = None;
        // At once: eight requests are no load, and the run waits for none of them in turn.
        let opened = futures::future::join_all((0..SESSIONS).map(|_| self.open_state(&access))).await;
        for opened in opened {
            exchanges.extend(opened.exchanges);
            match opened.id {
                Ok(id) => ids.push(id),
                Err(why) => {
                    return Observation {
                        exchanges,
                        ..Observation::skipped(label, why)
                    };
                }
            }
            last = opened.response;
        }
        // The same id handed back (a session per token, say) cannot be judged: too few to
        // compare, never a breach by itself.
        let distinct: Vec<String> = ids.iter().cloned().collect::<BTreeSet<String>>().into_iter().collect();
        if distinct.len() < MIN_DISTINCT {
            let why = format!(
                "{} requests gave only {} distinct {what} ids: too few to judge",
                ids.len(),
                distinct.len()
            );
            return Observation {
                exchanges,
                ..Observation::skipped(label, why)
            };
        }
        let (verdict, bits) = match unpredictable(&distinct) {
            Ok(bits) => ("true".to_owned(), bits),
            Err((why, bits)) => (why, bits),
        };
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: last.map_or_else(|| Observed::Skipped(format!("no {what}")), Observed::Response),
            vars: BTreeMap::from([
                ("sessions.count".to_owned(), ids.len().to_string()),
                ("sessions.unpredictable".to_owned(), verdict),
                ("sessions.random_bits".to_owned(), format!("{bits:.0}")),
            ]),
        }
    }
}

/// Whether distinct ids look random: the positions that vary between them carry at least
/// [`MIN_BITS`], counted as varying positions x log2 of their alphabet (the symbols seen there,
/// rounded up to the next of [`ENCODINGS`]: a few ids show only part of theirs). A counter, a
/// timestamp or a time-based UUID varies in a few positions only. A random id of 64 bits or more
/// in one of those encodings fails only if one of its positions shows a single symbol in all
/// eight ids (about 2e-6 for a 20-digit decimal id, far less for hex, base62 or base64), or if
/// eight ids show under two thirds of a large alphabet (negligible).
fn unpredictable(ids: &[String]) -> Result<f64, (String, f64)> {
    let chars: Vec<Vec<char>> = ids.iter().map(|id| id.chars().collect()).collect();
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let varying: Vec<usize> = (0..shortest)
        .filter(|&i| chars.iter().any(|c| c[i] != chars[0][i]))
        .collect();
    let seen: BTreeSet<char> = varying.iter().flat_map(|&i| chars.iter().map(move |c| c[i])).collect();
    let alphabet = ENCODINGS
        .into_iter()
        .find(|&size| size >= seen.len())
        .unwrap_or(seen.len());
    let bits = varying.len() as f64 * (alphabet.max(1) as f64).log2();
    match bits >= MIN_BITS {
        true => Ok(bits),
        false => Err((
            format!(
                "only {} of {shortest} positions vary between {} ids ({bits:.0} bits over an alphabet of {alphabet}; at least {MIN_BITS:.0} wanted)",
                varying.len(),
                ids.len(),
            ),
            bits,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(make: impl FnMut(usize) -> String) -> Vec<String> {
        (0..SESSIONS).map(make).collect()
    }

    #[test]
    fn random_ids_pass_and_counters_and_timestamps_do_not() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut random = |alphabet: &[u8], len: usize| {
            ids(|_| {
                (0..len)
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
                    .collect()
            })
        };
        let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        // 64 bits and more in the usual encodings pass.
        assert!(unpredictable(&random(b"0123456789abcdef", 16)).is_ok());
        assert!(unpredictable(&random(b64, 11)).is_ok());
        assert!(unpredictable(&random(&b64[..62], 11)).is_ok());
        assert!(unpredictable(&random(b"0123456789", 20)).is_ok());
        assert!(unpredictable(&ids(|i| format!("session-{i}"))).is_err());
        assert!(unpredictable(&ids(|i| format!("1764680000{:03}", i * 37))).is_err());
        // A UUIDv1's time_low varies, the rest does not: 32 bits.
        assert!(
            unpredictable(&ids(|i| format!(
                "{:08x}-1dd2-11b2-8000-0242ac120002",
                0x5eed_0000 + i * 977
            )))
            .is_err()
        );
    }
}
