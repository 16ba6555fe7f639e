//! Engine.IO v4 and Socket.IO v5 wire codecs, with no I/O.
//!
//! # Design
//!
//! The realtime stack has three layers, and this crate holds the two pure ones:
//!
//! * [`engine`]: Engine.IO v4 packets (`open`, `close`, `ping`, `pong`, `message`, `upgrade`, `noop`), their
//!   WebSocket frame form (one packet per frame; a binary frame is always a binary message) and the
//!   HTTP long-polling payload form (packets joined by `\x1e`, binary messages as `b` + standard base64).
//! * [`socket`]: Socket.IO v5 packets, which ride inside Engine.IO text messages as
//!   `<type>[<n>-][<nsp>,][<ack id>][<JSON>]`, followed by `n` binary messages for `BINARY_EVENT` and
//!   `BINARY_ACK`. A [`socket::Reassembler`] joins a header with its attachments.
//! * The transports (actix HTTP and WebSocket handlers, sessions, timers) live in the gateway and only move
//!   strings and byte buffers through these functions.
//!
//! Decoding is strict: it follows the reference parser (`socket.io-parser` 4.2.x, `engine.io-parser` 5.x) on
//! every rule that decides whether a packet is valid, and is stricter where the reference is loose by
//! accident (JavaScript number coercion), so that anything this crate accepts the reference accepts too.
//! Every decode error is meant to close the connection, as the specifications require. Nothing here panics
//! on any input: the property tests and the fuzz target under `fuzz/` check that.
//!
//! Binary data stays out of the JSON: a [`socket::Packet`] keeps its arguments with each buffer replaced by
//! `{"_placeholder":true,"num":i}` (see [`socket::placeholder`]) and the buffers in
//! [`socket::Packet::attachments`], which is exactly the wire layout, so relaying a packet never re-walks or
//! copies its buffers.

pub mod engine;
pub mod socket;
