//! Step `sessions`: several sessions opened with the valid token, and whether their ids could
//! be guessed from one another (MCP Session Management: secure, non-deterministic ids).

use std::collections::{BTreeMap, BTreeSet};

use crate::observation::{Observation, Observed};
use crate::run::bearer;

use super::Context;

/// How many sessions the step opens: enough that a random position of even a two-symbol
/// alphabet is all but sure to vary (2^-7), few enough to be no load.
const SESSIONS: usize = 8;

/// The randomness an id must show: 64 bits, the least OWASP's Session Management Cheat Sheet
/// accepts.
const MIN_BITS: f64 = 64.0;

impl Context {
    pub(super) async fn sessions(&self) -> Observation {
        let label = "sessions opened with the valid token";
        let access = match self.grants.valid_token().await {
            Ok(access) => access,
            Err(obs) => return obs,
        };
        let vars = BTreeMap::from([("access_token".to_owned(), access)]);
        let request = bearer::request(&self.target, &[], &[], &vars);
        let mut exchanges = Vec::new();
        let mut ids = Vec::new();
        let mut last = None;
        for _ in 0..SESSIONS {
            let (exchange, result) = self.client.send(&request).await;
            exchanges.push(exchange);
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    return Observation {
                        label: label.to_owned(),
                        exchanges,
                        observed: Observed::Error(e.to_string()),
                        vars: BTreeMap::new(),
                    };
                }
            };
            match response.header_values("mcp-session-id").next() {
                Some(id) => ids.push(id.to_owned()),
                None => {
                    let why = format!(
                        "the valid request (status {}) opened no session (no Mcp-Session-Id)",
                        response.status
                    );
                    return Observation {
                        exchanges,
                        ..Observation::skipped(label, why)
                    };
                }
            }
            last = Some(response);
        }
        let (verdict, bits) = match unpredictable(&ids) {
            Ok(bits) => ("true".to_owned(), bits),
            Err((why, bits)) => (why, bits),
        };
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: last.map_or_else(|| Observed::Skipped("no session".to_owned()), Observed::Response),
            vars: BTreeMap::from([
                ("sessions.count".to_owned(), ids.len().to_string()),
                ("sessions.unpredictable".to_owned(), verdict),
                ("sessions.random_bits".to_owned(), format!("{bits:.0}")),
            ]),
        }
    }
}

/// Whether ids look random: none repeats, and the positions that vary between them carry at
/// least [`MIN_BITS`] (positions × log2 of the alphabet seen). A counter, a timestamp or a
/// time-based UUID varies in a few positions only. A truly random id of 64 bits or more
/// passes unless a position shows one symbol in all [`SESSIONS`] ids: for each of its at most
/// 64 positions the chance is alphabet^-7, under 1e-6 in all even for hexadecimal ids.
fn unpredictable(ids: &[String]) -> Result<f64, (String, f64)> {
    let distinct: BTreeSet<&String> = ids.iter().collect();
    if distinct.len() < ids.len() {
        return Err((
            format!("an id repeats: {} distinct of {}", distinct.len(), ids.len()),
            0.0,
        ));
    }
    let chars: Vec<Vec<char>> = ids.iter().map(|id| id.chars().collect()).collect();
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let alphabet: BTreeSet<char> = chars.iter().flatten().copied().collect();
    let varying = (0..shortest)
        .filter(|&i| chars.iter().any(|c| c[i] != chars[0][i]))
        .count();
    let bits = varying as f64 * (alphabet.len().max(1) as f64).log2();
    match bits >= MIN_BITS {
        true => Ok(bits),
        false => Err((
            format!(
                "only {varying} of {shortest} positions vary between {} ids ({bits:.0} bits over an alphabet of {}; at least {MIN_BITS:.0} wanted)",
                ids.len(),
                alphabet.len()
            ),
            bits,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(make: impl Fn(usize) -> String) -> Vec<String> {
        (0..SESSIONS).map(make).collect()
    }

    #[test]
    fn random_ids_pass_and_counters_timestamps_and_repeats_do_not() {
        let uuid = |i: usize| {
            let h = |x: u64| format!("{:016x}", x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17));
            format!("{}{}", h(i as u64 * 7 + 1), h(i as u64 * 13 + 5))
        };
        assert!(unpredictable(&ids(uuid)).is_ok());
        assert!(unpredictable(&ids(|i| format!("session-{i}"))).is_err());
        assert!(unpredictable(&ids(|i| format!("1764680000{:03}", i * 37))).is_err());
        let repeated = ids(|i| if i < 2 { "same".to_owned() } else { uuid(i) });
        assert!(unpredictable(&repeated).unwrap_err().0.contains("repeats"));
    }
}
