//! Cursor pagination: `limit` (1..=100, default 50) and an opaque `cursor`, answered as
//! `{"items": [...], "next_cursor": ...}`.
//!
//! A cursor is the URL-safe base64 of a small JSON value that the list's repository defines (typically the
//! sort key of the last item seen, plus a snapshot bound for lists whose order can change). Clients must treat
//! it as opaque; a cursor that does not decode is a `400 bad_request`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The default page size.
pub const DEFAULT_LIMIT: u16 = 50;
/// The largest page size a client may ask for.
pub const MAX_LIMIT: u16 = 100;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to return, 1..=100.
    pub limit: u16,
    /// The opaque cursor of the previous page, if any.
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// The cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: if the extra row exists, there is a next page and its
    /// cursor is made from the last item kept.
    pub fn from_overfetch<K: Serialize>(mut rows: Vec<T>, limit: u16, key_of: impl Fn(&T) -> K) -> Self {
        let limit = usize::from(limit);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::encode(&key_of(last)).0)
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Converts every item, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// An opaque pagination cursor as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

/// A cursor that is not one this server made.
#[derive(Debug, thiserror::Error)]
#[error("the cursor is not valid")]
pub struct CursorError;

impl Cursor {
    /// Encodes a list's position key into an opaque cursor.
    pub fn encode<K: Serialize>(key: &K) -> Self {
        // Serializing plain data (numbers, strings, ids) into JSON cannot fail; fall back to an empty cursor
        // that simply fails to decode rather than panicking.
        let json = serde_json::to_vec(key).unwrap_or_default();
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes the cursor into the list's position key.
    pub fn decode<K: DeserializeOwned>(&self) -> Result<K, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.as_bytes())
            .map_err(|_| CursorError)?;
        serde_json::from_slice(&bytes).map_err(|_| CursorError)
    }
}

/// Helper for cursors whose key is a sort value plus a tiebreaking id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysetCursor<V> {
    /// The sort value of the last item seen.
    pub value: V,
    /// The id of the last item seen.
    pub id: uuid::Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let key = KeysetCursor {
            value: "ann".to_string(),
            id: uuid::Uuid::now_v7(),
        };
        let cursor = Cursor::encode(&key);
        assert_eq!(cursor.decode::<KeysetCursor<String>>().unwrap(), key);
        assert!(Cursor("%%%".into()).decode::<KeysetCursor<String>>().is_err());
        assert!(
            Cursor(URL_SAFE_NO_PAD.encode(b"[1,2]"))
                .decode::<KeysetCursor<String>>()
                .is_err()
        );
    }

    #[test]
    fn overfetch_sets_next_cursor_only_when_more_rows_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(Cursor(page.next_cursor.unwrap()).decode::<i32>().unwrap(), 2);
        let last = Page::from_overfetch(vec![1, 2], 2, |n| *n);
        assert_eq!(last.next_cursor, None);
    }
}

/// Property tests (docs/api.md, Pagination): every cursor the server makes decodes to the key it was made
/// from, and anything else a client sends decodes to an error or to some key, never to a panic. CI runs them
/// with the unit tests; `bench/fuzz.sh` fuzzes the decoder (`fuzz/fuzz_targets/cursor.rs`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn cursors_round_trip(value in any::<i64>(), id in any::<u128>(), text in any::<String>()) {
            let key = KeysetCursor { value: (value, text), id: uuid::Uuid::from_u128(id) };
            let cursor = Cursor::encode(&key);
            prop_assert!(cursor.0.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(cursor.decode::<KeysetCursor<(i64, String)>>().ok(), Some(key));
        }

        #[test]
        fn any_text_decodes_without_panicking(text in any::<String>(), json in "[\\[\\]{}\",:0-9a-z.eE+-]{0,40}") {
            let _ = Cursor(text).decode::<KeysetCursor<i64>>();
            let crafted = Cursor(URL_SAFE_NO_PAD.encode(json.as_bytes()));
            let _ = crafted.decode::<KeysetCursor<(i64, String)>>();
            let _ = crafted.decode::<serde_json::Value>();
        }
    }
}
