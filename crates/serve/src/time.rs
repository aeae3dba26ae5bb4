//! Times as the API and the CLI write and read them: RFC 3339 in UTC out,
//! RFC 3339 or a plain date in.

use chrono::{DateTime, NaiveDate, Utc};
use paybridge::Error;

/// Milliseconds since the epoch as RFC 3339 in UTC, to the millisecond.
pub fn format(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A `since` given as RFC 3339 (`2026-11-23T10:00:00Z`) or as a date
/// (`2026-11-23`, its midnight in UTC), in milliseconds since the epoch; an
/// invalid request naming `field` otherwise.
pub fn parse(field: &str, text: &str) -> Result<i64, Error> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{text:?} is neither RFC 3339 (2026-11-23T10:00:00Z) nor a date (2026-11-23)"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_its_midnight_and_rfc_3339_keeps_its_offset() {
        assert_eq!(parse("since", "2026-11-23").unwrap(), 1_795_392_000_000);
        assert_eq!(
            parse("since", "2026-11-23T08:00:00+08:00").unwrap(),
            1_795_392_000_000
        );
        assert_eq!(format(1_795_392_000_000), "2026-11-23T00:00:00.000Z");
        let err = parse("since", "yesterday").unwrap_err();
        assert!(err.to_string().contains("yesterday"), "{err}");
    }
}
