//! Pagination cursors (docs/api.md, Pagination): whatever a client sends as `cursor` decodes to an error or a
//! key, never a panic; a key that decodes re-encodes to a cursor that decodes to the same key.
#![no_main]

use epop_core::page::{Cursor, KeysetCursor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cursor = Cursor(text.to_owned());
    if let Ok(key) = cursor.decode::<KeysetCursor<(i64, String)>>() {
        let again = Cursor::encode(&key).decode::<KeysetCursor<(i64, String)>>();
        assert_eq!(again.ok(), Some(key));
    }
    let _ = cursor.decode::<KeysetCursor<chrono::DateTime<chrono::Utc>>>();
    let _ = cursor.decode::<Vec<u64>>();
});
