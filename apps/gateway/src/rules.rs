//! Field rules that HTTP bodies and socket events share, so a value means the same whichever way it arrives
//! (each is a garde custom rule: `#[garde(custom(crate::rules::client_id))]`).

/// The length of a `client_id` (an idempotency key), in characters.
pub const CLIENT_ID_CHARS: (usize, usize) = (1, 128);

/// A `client_id`, when given: 1 to 128 characters.
pub fn client_id(value: &Option<String>, _context: &()) -> garde::Result {
    garde::rules::length::chars::apply(value, CLIENT_ID_CHARS)
}
