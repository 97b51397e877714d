//! Spec versions of the MCP authorization specification and RFC 2119 levels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A dated MCP specification version that has an authorization chapter.
///
/// Ordered by publication, so `v >= SpecVersion::V2025_11_25` reads as "this version or later".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecVersion {
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
    /// The unreleased draft; identical to 2026-07-28 at the snapshot we read.
    Draft,
}

impl SpecVersion {
    pub const ALL: [SpecVersion; 5] = [
        SpecVersion::V2025_03_26,
        SpecVersion::V2025_06_18,
        SpecVersion::V2025_11_25,
        SpecVersion::V2026_07_28,
        SpecVersion::Draft,
    ];

    /// The newest published version: the default of `--spec-version`.
    pub const LATEST: SpecVersion = SpecVersion::V2026_07_28;

    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V2025_03_26 => "2025-03-26",
            SpecVersion::V2025_06_18 => "2025-06-18",
            SpecVersion::V2025_11_25 => "2025-11-25",
            SpecVersion::V2026_07_28 => "2026-07-28",
            SpecVersion::Draft => "draft",
        }
    }

    /// The version string a client puts in `MCP-Protocol-Version` and `initialize`.
    /// The draft speaks the protocol of the newest release.
    pub fn protocol_version(self) -> &'static str {
        match self {
            SpecVersion::Draft => SpecVersion::LATEST.as_str(),
            v => v.as_str(),
        }
    }

    pub fn known_list() -> String {
        SpecVersion::ALL.map(SpecVersion::as_str).join(", ")
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown spec version `{0}` (known: {known})", known = SpecVersion::known_list())]
pub struct UnknownVersion(pub String);

impl FromStr for SpecVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpecVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for SpecVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SpecVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// RFC 2119 requirement level. A broken MUST / MUST NOT fails the run; a broken SHOULD /
/// SHOULD NOT is a warning; MAY is informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "MUST NOT")]
    MustNot,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    #[serde(rename = "MAY")]
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::MustNot => "MUST NOT",
            Level::Should => "SHOULD",
            Level::ShouldNot => "SHOULD NOT",
            Level::May => "MAY",
        }
    }

    /// MUST and MUST NOT: breaking one fails the run.
    pub fn is_mandatory(self) -> bool {
        matches!(self, Level::Must | Level::MustNot)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_and_order() {
        for v in SpecVersion::ALL {
            assert_eq!(v.as_str().parse::<SpecVersion>().unwrap(), v);
        }
        assert!(SpecVersion::Draft > SpecVersion::V2026_07_28);
        assert!(SpecVersion::V2025_06_18 < SpecVersion::V2025_11_25);
        assert_eq!(SpecVersion::Draft.protocol_version(), "2026-07-28");
    }

    #[test]
    fn unknown_version_lists_the_known_ones() {
        let err = "2024-11-05".parse::<SpecVersion>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown spec version `2024-11-05` (known: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28, draft)"
        );
    }
}
