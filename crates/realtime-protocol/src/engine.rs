//! Engine.IO v4 packets, their WebSocket frame form and the HTTP long-polling payload form.
//!
//! A packet is a one-character type (`0` open, `1` close, `2` ping, `3` pong, `4` message, `5` upgrade,
//! `6` noop) followed by optional UTF-8 data. Over WebSocket each packet is one frame, and a binary frame is
//! a binary message with no type prefix. Over long-polling, packets are joined with the record separator
//! `\x1e` and a binary message is written as `b` followed by its standard base64.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use serde::Deserialize;

/// The record separator that joins packets in a long-polling payload.
pub const SEPARATOR: char = '\x1e';

/// Base64 for encoding: standard alphabet, padded (what the reference client and server write).
const B64_ENCODE: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Base64 for decoding: standard alphabet, padding optional (Node's `Buffer.from(s, "base64")` accepts both).
const B64_DECODE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Engine.IO v4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake, carrying its JSON text (see [`Handshake`]).
    Open(String),
    /// `1`: close the session.
    Close,
    /// `2`: heartbeat ping, or the upgrade probe with `Some("probe")`.
    Ping(Option<String>),
    /// `3`: heartbeat pong, or the probe answer with `Some("probe")`.
    Pong(Option<String>),
    /// `4`: application data.
    Message(Payload),
    /// `5`: the client completes a transport upgrade.
    Upgrade,
    /// `6`: no operation (ends a pending poll during an upgrade).
    Noop,
}

/// Message content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A text message (UTF-8).
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// Why an Engine.IO frame or payload could not be decoded. Every case should close the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty text frame, or an empty packet in a polling payload (`""`, `"4a\x1e\x1e4b"`, a trailing `\x1e`).
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type (`0` to `6`, or `b` inside a polling payload).
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b` packet of a polling payload is not valid standard base64.
    #[error("invalid base64 in a binary packet")]
    InvalidBase64,
}

impl Packet {
    /// The packet's type character.
    fn type_char(&self) -> char {
        match self {
            Self::Open(_) => '0',
            Self::Close => '1',
            Self::Ping(_) => '2',
            Self::Pong(_) => '3',
            Self::Message(_) => '4',
            Self::Upgrade => '5',
            Self::Noop => '6',
        }
    }

    /// Appends the text form of a non-binary packet.
    fn push_text(&self, out: &mut String) {
        out.push(self.type_char());
        match self {
            Self::Open(data)
            | Self::Ping(Some(data))
            | Self::Pong(Some(data))
            | Self::Message(Payload::Text(data)) => out.push_str(data),
            Self::Close
            | Self::Ping(None)
            | Self::Pong(None)
            | Self::Message(Payload::Binary(_))
            | Self::Upgrade
            | Self::Noop => {}
        }
    }

    /// Appends the polling-payload form: the text form, or `b` + base64 for a binary message.
    fn push_payload_segment(&self, out: &mut String) {
        if let Self::Message(Payload::Binary(data)) = self {
            out.push('b');
            B64_ENCODE.encode_string(data, out);
        } else {
            self.push_text(out);
        }
    }

    /// WebSocket text frame form (`4hello`, `2probe`); a Binary message has no text-frame form → returns None
    /// (it is sent as a raw binary frame).
    ///
    /// `Ping(Some(""))` and `Pong(Some(""))` encode like `Ping(None)` and `Pong(None)`.
    #[must_use]
    pub fn to_text_frame(&self) -> Option<String> {
        if let Self::Message(Payload::Binary(_)) = self {
            return None;
        }
        let mut out = String::new();
        self.push_text(&mut out);
        Some(out)
    }

    /// Decodes a WebSocket text frame.
    ///
    /// Data after `close`, `upgrade` and `noop` is ignored, as the reference does; an empty ping or pong
    /// payload decodes as `None`. The `b` prefix is not accepted here: v4 clients send binary as binary
    /// frames, and `b` belongs to polling payloads only.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Empty`] for an empty frame, [`DecodeError::UnknownType`] for any first character other
    /// than `0` to `6`.
    pub fn from_text_frame(frame: &str) -> Result<Self, DecodeError> {
        let mut chars = frame.chars();
        let Some(kind) = chars.next() else {
            return Err(DecodeError::Empty);
        };
        let data = chars.as_str();
        let optional = || (!data.is_empty()).then(|| data.to_owned());
        Ok(match kind {
            '0' => Self::Open(data.to_owned()),
            '1' => Self::Close,
            '2' => Self::Ping(optional()),
            '3' => Self::Pong(optional()),
            '4' => Self::Message(Payload::Text(data.to_owned())),
            '5' => Self::Upgrade,
            '6' => Self::Noop,
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// A WebSocket binary frame is always a binary Message.
    #[must_use]
    pub fn from_binary_frame(frame: Bytes) -> Self {
        Self::Message(Payload::Binary(frame))
    }
}

/// Polling payload (v4): packets joined with '\x1e'; binary messages as 'b' + standard base64.
///
/// Text data must not contain `\x1e` (it would split the packet on decode). Socket.IO headers never do, as
/// JSON escapes control characters, unless a namespace name carries one.
#[must_use]
pub fn encode_payload(packets: &[Packet]) -> String {
    let mut out = String::new();
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        packet.push_payload_segment(&mut out);
    }
    out
}

/// Encodes as many whole packets as fit in `max_bytes` (at least one), returning the text and how many were
/// consumed.
///
/// The size counts UTF-8 bytes, separators included. The first packet is always taken, even when it alone
/// is larger than `max_bytes`, so that a poll always makes progress; for an empty slice the result is
/// `("", 0)`.
#[must_use]
pub fn encode_payload_bounded(packets: &[Packet], max_bytes: usize) -> (String, usize) {
    let mut out = String::new();
    let mut used = 0;
    for packet in packets {
        let before = out.len();
        if used > 0 {
            out.push(SEPARATOR);
        }
        packet.push_payload_segment(&mut out);
        if used > 0 && out.len() > max_bytes {
            out.truncate(before);
            break;
        }
        used += 1;
    }
    (out, used)
}

/// Decodes a long-polling payload (a POST body, or a GET body on the client side).
///
/// # Errors
///
/// The first packet that does not decode makes the whole payload fail: [`DecodeError::Empty`] for an empty
/// body or an empty packet between separators, [`DecodeError::UnknownType`], or
/// [`DecodeError::InvalidBase64`] for a bad `b` packet.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, DecodeError> {
    payload_packets(body).collect()
}

/// The packets of a long-polling payload, each decoded when the iteration reaches it (errors as
/// [`decode_payload`], one per bad packet). What a server holds is then one packet at a time, not every packet
/// of the body at once: a 1 MB body of one-byte packets is 500,000 [`Packet`]s, some 20 MB as a `Vec`.
pub fn payload_packets(body: &str) -> impl Iterator<Item = Result<Packet, DecodeError>> + '_ {
    body.split(SEPARATOR)
        .map(|segment| match segment.strip_prefix('b') {
            Some(encoded) => B64_DECODE
                .decode(encoded)
                .map(|data| Packet::Message(Payload::Binary(Bytes::from(data))))
                .map_err(|_| DecodeError::InvalidBase64),
            None => Packet::from_text_frame(segment),
        })
}

/// The JSON of an `open` packet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The Engine.IO session id.
    pub sid: String,
    /// Transports the client may upgrade to: `["websocket"]` on polling, `[]` on a WebSocket.
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the client has to answer a ping.
    pub ping_timeout: u64,
    /// Largest payload, in bytes, the client may send in one polling request or frame.
    pub max_payload: u64,
}

impl Handshake {
    /// The handshake JSON, keys in the reference order
    /// (`{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "sid": self.sid,
            "upgrades": self.upgrades,
            "pingInterval": self.ping_interval,
            "pingTimeout": self.ping_timeout,
            "maxPayload": self.max_payload,
        })
        .to_string()
    }

    /// The `open` packet that carries this handshake.
    #[must_use]
    pub fn to_packet(&self) -> Packet {
        Packet::Open(self.to_json())
    }

    /// Parses the JSON of an `open` packet (for clients and tests).
    ///
    /// # Errors
    ///
    /// When the text is not a JSON object with the five fields.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(data: &str) -> Packet {
        Packet::Message(Payload::Text(data.to_owned()))
    }

    fn binary(data: &[u8]) -> Packet {
        Packet::Message(Payload::Binary(Bytes::copy_from_slice(data)))
    }

    #[test]
    fn text_frames_of_every_packet_type() {
        let cases = [
            (Packet::Open(r#"{"sid":"x"}"#.to_owned()), r#"0{"sid":"x"}"#),
            (Packet::Close, "1"),
            (Packet::Ping(None), "2"),
            (Packet::Ping(Some("probe".to_owned())), "2probe"),
            (Packet::Pong(None), "3"),
            (Packet::Pong(Some("probe".to_owned())), "3probe"),
            (text("hello"), "4hello"),
            (text(""), "4"),
            (Packet::Upgrade, "5"),
            (Packet::Noop, "6"),
        ];
        for (packet, frame) in cases {
            assert_eq!(packet.to_text_frame().as_deref(), Some(frame), "{packet:?}");
            assert_eq!(Packet::from_text_frame(frame), Ok(packet), "{frame}");
        }
    }

    #[test]
    fn binary_message_has_no_text_frame() {
        assert_eq!(binary(&[1, 2, 3]).to_text_frame(), None);
        assert_eq!(
            Packet::from_binary_frame(Bytes::from_static(&[1, 2, 3])),
            binary(&[1, 2, 3])
        );
        assert_eq!(Packet::from_binary_frame(Bytes::new()), binary(&[]));
    }

    #[test]
    fn text_frame_keeps_utf8_and_separators_verbatim() {
        assert_eq!(Packet::from_text_frame("4héllo €"), Ok(text("héllo €")));
        assert_eq!(Packet::from_text_frame("4a\x1eb"), Ok(text("a\x1eb")));
    }

    #[test]
    fn trailing_data_after_dataless_types_is_ignored() {
        assert_eq!(Packet::from_text_frame("1xyz"), Ok(Packet::Close));
        assert_eq!(Packet::from_text_frame("5probe"), Ok(Packet::Upgrade));
        assert_eq!(Packet::from_text_frame("6x"), Ok(Packet::Noop));
    }

    #[test]
    fn empty_ping_data_is_none() {
        assert_eq!(
            Packet::Ping(Some(String::new())).to_text_frame().as_deref(),
            Some("2")
        );
        assert_eq!(Packet::from_text_frame("2"), Ok(Packet::Ping(None)));
    }

    #[test]
    fn malformed_text_frames() {
        assert_eq!(Packet::from_text_frame(""), Err(DecodeError::Empty));
        // The EIO test suite's "closes the session upon invalid packet format".
        assert_eq!(Packet::from_text_frame("abc"), Err(DecodeError::UnknownType('a')));
        assert_eq!(Packet::from_text_frame("7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(
            Packet::from_text_frame("9hello"),
            Err(DecodeError::UnknownType('9'))
        );
        assert_eq!(Packet::from_text_frame("é"), Err(DecodeError::UnknownType('é')));
        assert_eq!(Packet::from_text_frame(" 4"), Err(DecodeError::UnknownType(' ')));
        // `b` is a polling-payload prefix only.
        assert_eq!(
            Packet::from_text_frame("bAQIDBA=="),
            Err(DecodeError::UnknownType('b'))
        );
    }

    #[test]
    fn payload_examples_from_the_spec() {
        assert_eq!(
            decode_payload("4hello\x1e2\x1e4world"),
            Ok(vec![text("hello"), Packet::Ping(None), text("world")])
        );
        assert_eq!(
            decode_payload("4hello\x1ebAQIDBA=="),
            Ok(vec![text("hello"), binary(&[1, 2, 3, 4])])
        );
        assert_eq!(
            encode_payload(&[text("hello"), binary(&[1, 2, 3, 4])]),
            "4hello\x1ebAQIDBA=="
        );
        assert_eq!(
            encode_payload(&[text("hello"), Packet::Ping(None), text("world")]),
            "4hello\x1e2\x1e4world"
        );
    }

    #[test]
    fn payload_of_one_packet_has_no_separator() {
        assert_eq!(encode_payload(&[Packet::Noop]), "6");
        assert_eq!(decode_payload("6"), Ok(vec![Packet::Noop]));
        assert_eq!(decode_payload("1"), Ok(vec![Packet::Close]));
        assert_eq!(encode_payload(&[]), "");
    }

    #[test]
    fn payload_base64_variants() {
        assert_eq!(decode_payload("b"), Ok(vec![binary(&[])]));
        assert_eq!(
            decode_payload("bAQIDBA"),
            Ok(vec![binary(&[1, 2, 3, 4])]),
            "unpadded is accepted"
        );
        assert_eq!(decode_payload("b+/8="), Ok(vec![binary(&[0xfb, 0xff])]));
        assert_eq!(encode_payload(&[binary(&[0xfb, 0xff])]), "b+/8=");
        assert_eq!(encode_payload(&[binary(&[])]), "b");
    }

    #[test]
    fn malformed_payloads() {
        assert_eq!(decode_payload(""), Err(DecodeError::Empty));
        assert_eq!(decode_payload("abc"), Err(DecodeError::UnknownType('a')));
        assert_eq!(decode_payload("4a\x1e\x1e4b"), Err(DecodeError::Empty));
        assert_eq!(decode_payload("4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode_payload("\x1e4a"), Err(DecodeError::Empty));
        assert_eq!(decode_payload("4a\x1e8"), Err(DecodeError::UnknownType('8')));
        assert_eq!(decode_payload("b!!!"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode_payload("bAQ=D"), Err(DecodeError::InvalidBase64));
        assert_eq!(
            decode_payload("b-_8"),
            Err(DecodeError::InvalidBase64),
            "URL-safe alphabet is not standard"
        );
        // EIO v3 length-prefixed framing is not v4: the length's first digit reads as a type, like the reference.
        assert_eq!(decode_payload("1:2"), Ok(vec![Packet::Close]));
        assert_eq!(decode_payload("12:4hello"), Ok(vec![Packet::Close]));
    }

    #[test]
    fn bounded_payload_takes_whole_packets() {
        let packets = [text("aaaa"), text("bbbb"), text("cccc")];
        // Each packet is 5 bytes; two with a separator are 11.
        assert_eq!(
            encode_payload_bounded(&packets, 11),
            ("4aaaa\x1e4bbbb".to_owned(), 2)
        );
        assert_eq!(encode_payload_bounded(&packets, 10), ("4aaaa".to_owned(), 1));
        assert_eq!(
            encode_payload_bounded(&packets, 17),
            (encode_payload(&packets), 3)
        );
        assert_eq!(
            encode_payload_bounded(&packets, 1_000_000),
            (encode_payload(&packets), 3)
        );
    }

    #[test]
    fn bounded_payload_always_takes_the_first_packet() {
        let packets = [text(&"x".repeat(100)), text("y")];
        let (body, used) = encode_payload_bounded(&packets, 10);
        assert_eq!(used, 1);
        assert_eq!(body.len(), 101);
        assert_eq!(encode_payload_bounded(&packets, 0).1, 1);
        assert_eq!(encode_payload_bounded(&[], 10), (String::new(), 0));
    }

    #[test]
    fn bounded_payload_counts_base64_size() {
        let packets = [binary(&[0; 3]), binary(&[0; 3])];
        // "bAAAA" is 5 bytes.
        assert_eq!(encode_payload_bounded(&packets, 10).1, 1);
        assert_eq!(encode_payload_bounded(&packets, 11).1, 2);
    }

    #[test]
    fn handshake_json() {
        let handshake = Handshake {
            sid: "lv_VI97HAXpY6yYWAAAC".to_owned(),
            upgrades: vec!["websocket".to_owned()],
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
        };
        let json = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(handshake.to_json(), json);
        assert_eq!(handshake.to_packet().to_text_frame(), Some(format!("0{json}")));
        assert_eq!(Handshake::parse(json).ok(), Some(handshake));
        assert!(Handshake::parse("{}").is_err());
    }
}
