//! Latency histograms for `load`: HDR histograms in microseconds that serialise to base64 of
//! the V2 format, so that histograms from shards merge exactly (the counts add, nothing is
//! re-estimated from percentiles), and their percentiles.
//!
//! It records what it is given: whether a latency counts from the intended start (rate mode,
//! coordinated omission corrected) is the caller's decision.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest latency recorded as itself (10 minutes); longer ones count as this.
const HIGHEST_MICROS: u64 = 600_000_000;

/// Why histograms could not be merged, encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatencyError {
    #[error("cannot merge latency histograms: {0}")]
    Merge(String),
    #[error("cannot serialise a latency histogram: {0}")]
    Encode(String),
    #[error("a latency histogram is not base64: {0}")]
    NotBase64(String),
    #[error("a latency histogram is not in the V2 format: {0}")]
    NotV2(String),
}

/// One latency distribution.
#[derive(Clone)]
pub struct Latency(Histogram<u64>);

/// The figures a summary shows, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Three significant digits for whole-run histograms; two for the per-second ones, which
    /// are many and only drawn.
    pub fn new(sigfig: u8) -> Latency {
        // Constant bounds and 1..=5 digits are always accepted by the crate (the unit tests
        // build both kinds), so this cannot fail on any input.
        Latency(
            Histogram::new_with_bounds(1, HIGHEST_MICROS, sigfig.clamp(1, 5))
                .expect("constant histogram bounds are valid"),
        )
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.clamp(1, HIGHEST_MICROS));
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Adds `other`'s counts (exact: same bounds, same buckets).
    pub fn merge(&mut self, other: &Latency) -> Result<(), LatencyError> {
        self.0
            .add(&other.0)
            .map_err(|e| LatencyError::Merge(format!("{e:?}")))
    }

    pub fn percentiles(&self) -> Percentiles {
        let ms = |micros: u64| micros as f64 / 1000.0;
        if self.0.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: self.0.len(),
            p50_ms: ms(self.0.value_at_quantile(0.50)),
            p90_ms: ms(self.0.value_at_quantile(0.90)),
            p99_ms: ms(self.0.value_at_quantile(0.99)),
            p999_ms: ms(self.0.value_at_quantile(0.999)),
            max_ms: ms(self.0.max()),
        }
    }

    /// Base64 of the V2 serialisation.
    pub fn encode(&self) -> Result<String, LatencyError> {
        use base64::Engine;
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|e| LatencyError::Encode(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn decode(text: &str) -> Result<Latency, LatencyError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| LatencyError::NotBase64(e.to_string()))?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| LatencyError::NotV2(format!("{e:?}")))?;
        Ok(Latency(h))
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new(3)
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Latency({:?})", self.percentiles())
    }
}

impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.encode()
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Latency::decode(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_histograms_merge_exactly() {
        let mut a = Latency::new(3);
        let mut b = Latency::new(3);
        for ms in 1..=100u64 {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_secs(2));
        let a2 = Latency::decode(&a.encode().unwrap()).unwrap();
        assert_eq!(a2.percentiles(), a.percentiles());
        let mut merged = a2;
        merged
            .merge(&Latency::decode(&b.encode().unwrap()).unwrap())
            .unwrap();
        let p = merged.percentiles();
        assert_eq!(p.count, 101);
        assert!((p.max_ms - 2000.0).abs() < 2.0, "{p:?}");
        assert!((p.p50_ms - 51.0).abs() < 0.1, "{p:?}");
    }

    #[test]
    fn an_empty_histogram_has_zero_percentiles_and_round_trips() {
        let empty = Latency::new(2);
        assert_eq!(empty.percentiles(), Percentiles::default());
        let json = serde_json::to_string(&empty).unwrap();
        let back: Latency = serde_json::from_str(&json).unwrap();
        assert_eq!(back.count(), 0);
        assert!(serde_json::from_str::<Latency>("\"not base64!\"").is_err());
    }
}
