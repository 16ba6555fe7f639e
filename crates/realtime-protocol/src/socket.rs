//! Socket.IO v5 packets, carried inside Engine.IO messages.
//!
//! A packet is a text header `<type>[<n>-][<nsp>,][<ack id>][<JSON>]`, followed for `BINARY_EVENT` and
//! `BINARY_ACK` by `n` binary Engine.IO messages, the attachments. In the JSON each attachment is replaced by
//! `{"_placeholder":true,"num":i}`. [`decode`] parses and validates a header; a [`Reassembler`] waits for
//! its attachments.
//!
//! Validity follows the reference parser (`socket.io-parser` 4.2.x): CONNECT carries an object or nothing,
//! DISCONNECT nothing, CONNECT_ERROR an object or a string, EVENT a non-empty array starting with a
//! non-reserved event name (a string) or a number, ACK an array. It is stricter in four places, each one
//! something no conforming encoder produces:
//!
//! * the EVENT, ACK and CONNECT_ERROR payloads are mandatory (the specification says so; the reference
//!   parser lets an absent payload through);
//! * an empty header is an error (JavaScript's `Number("")` makes it a CONNECT to `/` in the reference);
//! * the attachment count and the ack id are plain decimal digits (no `Number()` coercion of `" 1"` or
//!   `"1e0"`), and an ack id above `u64::MAX` is an error;
//! * the placeholders of a binary packet must number exactly `0..n`, once each, `n` being the announced
//!   count (the reference only checks `num < n` when it substitutes them).

use bytes::Bytes;
use serde_json::{Map, Value};

/// Most attachments one binary packet may announce (the reference parser's `maxAttachments` default).
pub const MAX_ATTACHMENTS: usize = 10;

/// Event names a peer may not send: they have a meaning of their own in the reference implementations.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Socket.IO packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: join a namespace (client), or accept the join (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: the answer to an event that had an ack id.
    Ack,
    /// `4`: the join was refused.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an ack with binary attachments.
    BinaryAck,
}

impl PacketKind {
    /// The type digit on the wire.
    #[must_use]
    pub fn as_char(self) -> char {
        match self {
            Self::Connect => '0',
            Self::Disconnect => '1',
            Self::Event => '2',
            Self::Ack => '3',
            Self::ConnectError => '4',
            Self::BinaryEvent => '5',
            Self::BinaryAck => '6',
        }
    }

    /// The packet type for a wire digit.
    #[must_use]
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0' => Self::Connect,
            '1' => Self::Disconnect,
            '2' => Self::Event,
            '3' => Self::Ack,
            '4' => Self::ConnectError,
            '5' => Self::BinaryEvent,
            '6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Whether the packet type carries attachments (`BINARY_EVENT`, `BINARY_ACK`).
    #[must_use]
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// A Socket.IO v5 packet. `data` holds JSON with binary parts replaced by `{"_placeholder":true,"num":i}`;
/// `attachments` holds the buffers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The digit that starts the packet (`0` CONNECT ... `6` BINARY_ACK).
    pub kind: PacketKind,
    /// The namespace, `"/"` by default; it starts with `/` and contains no `,`.
    pub namespace: String,
    /// The acknowledgement id: on an event, the sender wants an ack; on an ack, the event it answers.
    pub ack_id: Option<u64>,
    /// The JSON payload, with placeholders where the binary parts were.
    pub data: Option<Value>,
    /// The binary parts, placeholder `num` `i` being `attachments[i]`. Empty for non-binary kinds.
    pub attachments: Vec<Bytes>,
}

/// Why a Socket.IO packet could not be decoded or reassembled. Every case should close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty header.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type `0` to `6`.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A binary packet's attachment count is missing, not an integer, zero, or not followed by `-`.
    #[error("illegal attachment count")]
    IllegalAttachments,
    /// A binary packet announces more attachments than allowed.
    #[error("too many attachments (at most {max})")]
    TooManyAttachments {
        /// The limit in force.
        max: usize,
    },
    /// The ack id does not fit in a `u64`.
    #[error("ack id out of range")]
    InvalidAckId,
    /// A namespace that does not start with `/` or contains `,` (only [`Packet::validate`] reports it: the
    /// wire syntax cannot produce one).
    #[error("invalid namespace")]
    InvalidNamespace,
    /// The payload is not JSON.
    #[error("invalid JSON payload: {0}")]
    InvalidJson(String),
    /// The payload is JSON of the wrong shape for the packet type.
    #[error("invalid {kind:?} payload: {reason}")]
    InvalidPayload {
        /// The type whose payload rules were broken.
        kind: PacketKind,
        /// What is wrong.
        reason: &'static str,
    },
    /// An object with `"_placeholder":true` that is not `{"_placeholder":true,"num":i}` with `i` below
    /// the attachment count, or a `num` used twice.
    #[error("illegal attachment placeholder")]
    IllegalPlaceholder,
    /// The number of placeholders differs from the number of attachments.
    #[error("{announced} attachments announced but {found} placeholders found")]
    PlaceholderMismatch {
        /// Attachments announced by the header (or present on the packet).
        announced: usize,
        /// Placeholders in the JSON.
        found: usize,
    },
    /// A binary message arrived while no binary packet was waiting for attachments.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedAttachment,
    /// A header arrived while a binary packet was still waiting for attachments.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedPacket,
}

/// The placeholder that stands for attachment `num` in a binary packet's JSON:
/// `{"_placeholder":true,"num":num}`.
#[must_use]
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// Whether a JSON object is a placeholder (has `"_placeholder": true`), well-formed or not.
fn is_placeholder(object: &Map<String, Value>) -> bool {
    matches!(object.get("_placeholder"), Some(Value::Bool(true)))
}

/// Visits every placeholder object in `data`, depth first, without recursion.
fn for_each_placeholder<E>(
    data: &Value,
    mut visit: impl FnMut(&Map<String, Value>) -> Result<(), E>,
) -> Result<(), E> {
    let mut stack = vec![data];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(object) if is_placeholder(object) => visit(object)?,
            Value::Object(object) => stack.extend(object.values().rev()),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }
    Ok(())
}

/// Checks that the placeholders in `data` are exactly `0..count`, each once and well-formed.
fn check_placeholders(data: Option<&Value>, count: usize) -> Result<(), DecodeError> {
    let mut seen = vec![false; count];
    let mut found = 0_usize;
    if let Some(data) = data {
        for_each_placeholder(data, |object| {
            found += 1;
            let num = object.get("num").and_then(Value::as_u64);
            let slot = num
                .filter(|_| object.len() == 2)
                .and_then(|num| usize::try_from(num).ok())
                .and_then(|num| seen.get_mut(num));
            match slot {
                Some(slot) if !*slot => {
                    *slot = true;
                    Ok(())
                }
                _ => Err(DecodeError::IllegalPlaceholder),
            }
        })?;
    }
    if found == count {
        Ok(())
    } else {
        Err(DecodeError::PlaceholderMismatch {
            announced: count,
            found,
        })
    }
}

/// Checks a payload's shape against its packet type, as the reference parser's `isPayloadValid` does.
fn check_payload(kind: PacketKind, data: Option<&Value>) -> Result<(), DecodeError> {
    let invalid = |reason| Err(DecodeError::InvalidPayload { kind, reason });
    match kind {
        PacketKind::Connect => match data {
            None | Some(Value::Object(_)) => Ok(()),
            Some(_) => invalid("must be an object or absent"),
        },
        PacketKind::Disconnect => match data {
            None => Ok(()),
            Some(_) => invalid("must be absent"),
        },
        PacketKind::ConnectError => match data {
            Some(Value::Object(_) | Value::String(_)) => Ok(()),
            _ => invalid("must be an object or a string"),
        },
        PacketKind::Event | PacketKind::BinaryEvent => match data {
            Some(Value::Array(args)) => match args.first() {
                Some(Value::Number(_)) => Ok(()),
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    invalid("reserved event name")
                }
                Some(Value::String(_)) => Ok(()),
                Some(_) => invalid("event name must be a string or a number"),
                None => invalid("must be a non-empty array"),
            },
            _ => invalid("must be a non-empty array"),
        },
        PacketKind::Ack | PacketKind::BinaryAck => match data {
            Some(Value::Array(_)) => Ok(()),
            _ => invalid("must be an array"),
        },
    }
}

/// The namespace to store: `"/"` for an empty name.
fn namespace_or_root(namespace: &str) -> String {
    if namespace.is_empty() {
        "/".to_owned()
    } else {
        namespace.to_owned()
    }
}

impl Packet {
    /// Builds an EVENT (or BINARY_EVENT when attachments are present).
    ///
    /// `args` is the array of the event name and its arguments; with attachments it must hold one
    /// [`placeholder`] per attachment, numbered in order.
    #[must_use]
    pub fn event(namespace: &str, args: Value, ack_id: Option<u64>, attachments: Vec<Bytes>) -> Self {
        let kind = if attachments.is_empty() {
            PacketKind::Event
        } else {
            PacketKind::BinaryEvent
        };
        Self {
            kind,
            namespace: namespace_or_root(namespace),
            ack_id,
            data: Some(args),
            attachments,
        }
    }

    /// Builds an ACK (or BINARY_ACK when attachments are present) answering event `ack_id`.
    ///
    /// `args` is the array of results; placeholders as for [`Packet::event`].
    #[must_use]
    pub fn ack(namespace: &str, ack_id: u64, args: Value, attachments: Vec<Bytes>) -> Self {
        let kind = if attachments.is_empty() {
            PacketKind::Ack
        } else {
            PacketKind::BinaryAck
        };
        Self {
            kind,
            namespace: namespace_or_root(namespace),
            ack_id: Some(ack_id),
            data: Some(args),
            attachments,
        }
    }

    /// Builds a client's CONNECT with an optional `auth` object: `0[nsp,][{auth}]`.
    #[must_use]
    pub fn connect(namespace: &str, auth: Option<Value>) -> Self {
        Self {
            kind: PacketKind::Connect,
            namespace: namespace_or_root(namespace),
            ack_id: None,
            data: auth,
            attachments: Vec::new(),
        }
    }

    /// Builds the server's CONNECT answer: `0[nsp,]{"sid":…[,"pid":…]}`.
    #[must_use]
    pub fn connect_ok(namespace: &str, sid: &str, pid: Option<&str>) -> Self {
        let mut data = Map::new();
        data.insert("sid".to_owned(), Value::from(sid));
        if let Some(pid) = pid {
            data.insert("pid".to_owned(), Value::from(pid));
        }
        Self::connect(namespace, Some(Value::Object(data)))
    }

    /// Builds a CONNECT_ERROR: `4[nsp,]{"message":…}`.
    #[must_use]
    pub fn connect_error(namespace: &str, message: &str) -> Self {
        let mut data = Map::new();
        data.insert("message".to_owned(), Value::from(message));
        Self {
            kind: PacketKind::ConnectError,
            namespace: namespace_or_root(namespace),
            ack_id: None,
            data: Some(Value::Object(data)),
            attachments: Vec::new(),
        }
    }

    /// Builds a CONNECT_ERROR with extra details: `4[nsp,]{"message":…,"data":…}`.
    #[must_use]
    pub fn connect_error_with_data(namespace: &str, message: &str, details: Value) -> Self {
        let mut packet = Self::connect_error(namespace, message);
        if let Some(Value::Object(data)) = &mut packet.data {
            data.insert("data".to_owned(), details);
        }
        packet
    }

    /// Builds a DISCONNECT: `1[nsp,]`.
    #[must_use]
    pub fn disconnect(namespace: &str) -> Self {
        Self {
            kind: PacketKind::Disconnect,
            namespace: namespace_or_root(namespace),
            ack_id: None,
            data: None,
            attachments: Vec::new(),
        }
    }

    /// Header text (what goes inside an EIO message): `<type>[<n>-][<nsp>,][<id>][<json>]`, namespace
    /// omitted when "/".
    ///
    /// For binary kinds, `n` is the number of attachments, or, for a header still waiting for them, the number
    /// of placeholders. The JSON is compact and keeps object keys in order. The namespace is written as is:
    /// it must start with `/` and contain no `,` (see [`Packet::validate`]).
    #[must_use]
    pub fn encode_header(&self) -> String {
        let json = self.data.as_ref().map(Value::to_string);
        let mut out = String::with_capacity(24 + self.namespace.len() + json.as_ref().map_or(0, String::len));
        out.push(self.kind.as_char());
        if self.kind.is_binary() {
            let count = if self.attachments.is_empty() {
                self.expected_attachments()
            } else {
                self.attachments.len()
            };
            out.push_str(&count.to_string());
            out.push('-');
        }
        if !self.namespace.is_empty() && self.namespace != "/" {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            out.push_str(&id.to_string());
        }
        if let Some(json) = json {
            out.push_str(&json);
        }
        out
    }

    /// The whole packet as EIO messages: the header as Text, then each attachment as Binary.
    ///
    /// They must be sent back to back, with no other packet of the same connection in between.
    #[must_use]
    pub fn to_engine_messages(&self) -> Vec<crate::engine::Payload> {
        let mut messages = Vec::with_capacity(1 + self.attachments.len());
        messages.push(crate::engine::Payload::Text(self.encode_header()));
        messages.extend(
            self.attachments
                .iter()
                .cloned()
                .map(crate::engine::Payload::Binary),
        );
        messages
    }

    /// Number of attachments the header announces (for reassembly).
    ///
    /// For a binary kind this is the number of placeholders in `data`, which [`decode`] guarantees equals the
    /// count written in the header; other kinds announce none.
    #[must_use]
    pub fn expected_attachments(&self) -> usize {
        if !self.kind.is_binary() {
            return 0;
        }
        let mut count = 0_usize;
        if let Some(data) = &self.data {
            let counted: Result<(), std::convert::Infallible> = for_each_placeholder(data, |_| {
                count += 1;
                Ok(())
            });
            let Ok(()) = counted;
        }
        count
    }

    /// Checks a complete packet against the rules [`decode`] enforces: the namespace starts with `/` and has
    /// no `,`, the payload suits the type, a binary packet has at least one attachment and one well-formed
    /// placeholder for each, and other kinds have none.
    ///
    /// # Errors
    ///
    /// The first rule broken.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if !self.namespace.starts_with('/') || self.namespace.contains(',') {
            return Err(DecodeError::InvalidNamespace);
        }
        check_payload(self.kind, self.data.as_ref())?;
        if self.kind.is_binary() {
            if self.attachments.is_empty() {
                return Err(DecodeError::IllegalAttachments);
            }
            check_placeholders(self.data.as_ref(), self.attachments.len())
        } else if self.attachments.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::InvalidPayload {
                kind: self.kind,
                reason: "attachments on a non-binary packet",
            })
        }
    }
}

/// Parses a header (text EIO message). For BINARY_* packets, `attachments` is empty and
/// `expected_attachments()` says how many binary messages must follow.
///
/// The attachment count may be at most [`MAX_ATTACHMENTS`]; see [`decode_with_max_attachments`].
///
/// # Errors
///
/// Any malformed or invalid header; see [`DecodeError`].
pub fn decode(text: &str) -> Result<Packet, DecodeError> {
    decode_with_max_attachments(text, MAX_ATTACHMENTS)
}

/// [`decode`] with another limit on the attachment count.
///
/// # Errors
///
/// As [`decode`], with [`DecodeError::TooManyAttachments`] above `max_attachments`.
pub fn decode_with_max_attachments(text: &str, max_attachments: usize) -> Result<Packet, DecodeError> {
    let mut chars = text.chars();
    let Some(type_char) = chars.next() else {
        return Err(DecodeError::Empty);
    };
    let kind = PacketKind::from_char(type_char).ok_or(DecodeError::UnknownType(type_char))?;
    let mut rest = chars.as_str();

    // `<n>-`: the attachment count of a binary packet.
    let mut announced = 0;
    if kind.is_binary() {
        let Some((digits, after)) = rest.split_once('-') else {
            return Err(DecodeError::IllegalAttachments);
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::IllegalAttachments);
        }
        let too_many = DecodeError::TooManyAttachments { max: max_attachments };
        announced = digits.parse::<usize>().map_err(|_| too_many.clone())?;
        if announced == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        if announced > max_attachments {
            return Err(too_many);
        }
        rest = after;
    }

    // `<nsp>,`: present when the next character is `/`; it ends at `,` or at the end of the text.
    let namespace = if rest.starts_with('/') {
        let (namespace, after) = rest.split_once(',').unwrap_or((rest, ""));
        rest = after;
        namespace
    } else {
        "/"
    };

    // `<id>`: a run of digits.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack_id = if digits == 0 {
        None
    } else {
        let (id, after) = rest.split_at(digits);
        rest = after;
        Some(id.parse::<u64>().map_err(|_| DecodeError::InvalidAckId)?)
    };

    // `<json>`: everything left.
    let data = if rest.is_empty() {
        None
    } else {
        Some(serde_json::from_str::<Value>(rest).map_err(|e| DecodeError::InvalidJson(e.to_string()))?)
    };

    check_payload(kind, data.as_ref())?;
    if kind.is_binary() {
        check_placeholders(data.as_ref(), announced)?;
    }
    Ok(Packet {
        kind,
        namespace: namespace.to_owned(),
        ack_id,
        data,
        attachments: Vec::new(),
    })
}

/// Collects binary attachments for a partially received packet.
///
/// One per connection: headers and attachments of different packets never interleave on the wire.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// The header waiting for attachments, and how many it needs in all.
    pending: Option<(Packet, usize)>,
}

impl Reassembler {
    /// A reassembler with nothing pending.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a decoded header; returns Some(packet) when complete (no attachments needed), else buffers it.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedPacket`] while a previous binary packet still waits for attachments (the
    /// pending packet stays), or a validation error when a binary header arrives already complete but
    /// invalid.
    pub fn start(&mut self, header: Packet) -> Result<Option<Packet>, DecodeError> {
        if self.pending.is_some() {
            return Err(DecodeError::UnexpectedPacket);
        }
        if !header.kind.is_binary() {
            return Ok(Some(header));
        }
        let expected = header.expected_attachments();
        if header.attachments.len() >= expected {
            header.validate()?;
            return Ok(Some(header));
        }
        self.pending = Some((header, expected));
        Ok(None)
    }

    /// Feed a binary EIO message; returns the completed packet when the last attachment arrives; error if no
    /// packet is waiting.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnexpectedAttachment`] when no packet is waiting, or a validation error for the
    /// completed packet (it is then dropped).
    pub fn push_attachment(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some((packet, expected)) = &mut self.pending else {
            return Err(DecodeError::UnexpectedAttachment);
        };
        packet.attachments.push(data);
        if packet.attachments.len() < *expected {
            return Ok(None);
        }
        let Some((packet, _)) = self.pending.take() else {
            return Err(DecodeError::UnexpectedAttachment);
        };
        packet.validate()?;
        Ok(Some(packet))
    }

    /// Whether a binary packet is waiting for attachments.
    #[must_use]
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops any packet waiting for attachments.
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Payload;
    use serde_json::json;

    fn ok(text: &str) -> Packet {
        match decode(text) {
            Ok(packet) => packet,
            Err(error) => panic!("{text:?} should decode: {error}"),
        }
    }

    fn err(text: &str) -> DecodeError {
        match decode(text) {
            Ok(packet) => panic!("{text:?} should not decode, got {packet:?}"),
            Err(error) => error,
        }
    }

    fn invalid_payload(text: &str) {
        assert!(
            matches!(
                decode(text),
                Err(DecodeError::InvalidPayload { .. } | DecodeError::InvalidJson(_))
            ),
            "{text:?}: {:?}",
            decode(text)
        );
    }

    fn packet(kind: PacketKind, namespace: &str, ack_id: Option<u64>, data: Option<Value>) -> Packet {
        Packet {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            data,
            attachments: Vec::new(),
        }
    }

    fn bin(data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }

    /// Encodes, checks the text, decodes back (reassembling attachments) and checks equality.
    fn round_trip(packet: &Packet, header: &str) {
        assert_eq!(packet.encode_header(), header);
        let messages = packet.to_engine_messages();
        assert_eq!(messages.len(), 1 + packet.attachments.len());
        let mut reassembler = Reassembler::new();
        let mut done = None;
        for message in messages {
            done = match message {
                Payload::Text(text) => reassembler.start(ok(&text)),
                Payload::Binary(data) => reassembler.push_attachment(data),
            }
            .unwrap_or_else(|error| panic!("{header:?}: {error}"));
        }
        assert!(!reassembler.is_waiting());
        assert_eq!(done.as_ref(), Some(packet), "{header:?}");
    }

    #[test]
    fn kinds_and_chars() {
        for c in '0'..='6' {
            let kind = PacketKind::from_char(c).unwrap();
            assert_eq!(kind.as_char(), c);
            assert_eq!(kind.is_binary(), c == '5' || c == '6');
        }
        assert_eq!(PacketKind::from_char('7'), None);
        assert_eq!(PacketKind::from_char('a'), None);
    }

    // The "Packet encoding" tables of the specification, encoded and decoded.

    #[test]
    fn spec_connect_examples() {
        round_trip(&Packet::connect("/", None), "0");
        round_trip(
            &Packet::connect_ok("/", "wZX3oN0bSVIhsaknAAAI", None),
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
        );
        round_trip(&Packet::connect("/admin", None), "0/admin,");
        round_trip(
            &Packet::connect_ok("/admin", "oSO0OpakMV_3jnilAAAA", None),
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
        );
        round_trip(
            &Packet::connect_error("/", "Not authorized"),
            r#"4{"message":"Not authorized"}"#,
        );
        round_trip(
            &Packet::connect("/admin", Some(json!({"token": "123"}))),
            r#"0/admin,{"token":"123"}"#,
        );
    }

    #[test]
    fn spec_event_examples() {
        round_trip(&Packet::event("/", json!(["foo"]), None, vec![]), r#"2["foo"]"#);
        round_trip(
            &Packet::event("/admin", json!(["bar"]), None, vec![]),
            r#"2/admin,["bar"]"#,
        );
        round_trip(
            &Packet::event(
                "/",
                json!(["baz", placeholder(0)]),
                None,
                vec![bin(&[1, 2, 3, 4])],
            ),
            r#"51-["baz",{"_placeholder":true,"num":0}]"#,
        );
        round_trip(
            &Packet::event(
                "/admin",
                json!(["baz", placeholder(0), placeholder(1)]),
                None,
                vec![bin(&[1, 2]), bin(&[3, 4])],
            ),
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        );
    }

    #[test]
    fn spec_ack_examples() {
        round_trip(
            &Packet::event("/", json!(["foo"]), Some(12), vec![]),
            r#"212["foo"]"#,
        );
        round_trip(&Packet::ack("/", 12, json!([]), vec![]), "312[]");
        round_trip(
            &Packet::event("/admin", json!(["foo"]), Some(13), vec![]),
            r#"2/admin,13["foo"]"#,
        );
        round_trip(
            &Packet::ack("/admin", 13, json!(["bar"]), vec![]),
            r#"3/admin,13["bar"]"#,
        );
        round_trip(
            &Packet::event(
                "/",
                json!(["foo", placeholder(0)]),
                Some(14),
                vec![bin(&[1, 2, 3, 4])],
            ),
            r#"51-14["foo",{"_placeholder":true,"num":0}]"#,
        );
        round_trip(&Packet::ack("/", 14, json!(["bar"]), vec![]), r#"314["bar"]"#);
        round_trip(
            &Packet::ack("/", 15, json!(["bar", placeholder(0)]), vec![bin(&[1, 2, 3, 4])]),
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        );
        // From the sample session.
        round_trip(
            &Packet::ack("/admin", 1, json!([placeholder(0)]), vec![bin(b"x")]),
            r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
        );
    }

    #[test]
    fn spec_disconnect_examples() {
        round_trip(&Packet::disconnect("/"), "1");
        round_trip(&Packet::disconnect("/admin"), "1/admin,");
    }

    #[test]
    fn connect_ok_with_pid_and_error_with_data() {
        round_trip(
            &Packet::connect_ok("/", "s", Some("p")),
            r#"0{"sid":"s","pid":"p"}"#,
        );
        round_trip(
            &Packet::connect_error_with_data("/custom", "Forbidden", json!({"code": 4})),
            r#"4/custom,{"message":"Forbidden","data":{"code":4}}"#,
        );
    }

    #[test]
    fn empty_namespace_in_constructors_is_root() {
        assert_eq!(Packet::disconnect("").namespace, "/");
        assert_eq!(
            Packet::event("", json!(["a"]), None, vec![]).encode_header(),
            r#"2["a"]"#
        );
    }

    // Inputs of the Socket.IO conformance test suite.

    #[test]
    fn test_suite_connects() {
        assert_eq!(ok("0"), packet(PacketKind::Connect, "/", None, None));
        assert_eq!(
            ok(r#"0{"token":"123"}"#),
            packet(PacketKind::Connect, "/", None, Some(json!({"token": "123"})))
        );
        assert_eq!(
            ok("0/custom,"),
            packet(PacketKind::Connect, "/custom", None, None)
        );
        assert_eq!(
            ok(r#"0/custom,{"token":"abc"}"#),
            packet(
                PacketKind::Connect,
                "/custom",
                None,
                Some(json!({"token": "abc"}))
            )
        );
        // No trailing comma: the namespace runs to the end.
        assert_eq!(ok("0/random"), packet(PacketKind::Connect, "/random", None, None));
        assert_eq!(ok("0/custom"), packet(PacketKind::Connect, "/custom", None, None));
    }

    #[test]
    fn test_suite_disconnects() {
        assert_eq!(ok("1"), packet(PacketKind::Disconnect, "/", None, None));
        assert_eq!(
            ok("1/custom"),
            packet(PacketKind::Disconnect, "/custom", None, None)
        );
        assert_eq!(
            ok("1/admin"),
            packet(PacketKind::Disconnect, "/admin", None, None)
        );
        assert_eq!(
            ok("1/admin,"),
            packet(PacketKind::Disconnect, "/admin", None, None)
        );
    }

    #[test]
    fn test_suite_messages() {
        assert_eq!(
            ok(r#"2["message",1,"2",{"3":[true]}]"#),
            packet(
                PacketKind::Event,
                "/",
                None,
                Some(json!(["message", 1, "2", {"3": [true]}]))
            )
        );
        assert_eq!(
            ok(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#),
            packet(
                PacketKind::Event,
                "/",
                Some(456),
                Some(json!(["message-with-ack", 1, "2", {"3": [false]}]))
            )
        );
        assert_eq!(
            ok(r#"3456[1,"2",{"3":[false]}]"#).data,
            Some(json!([1, "2", {"3": [false]}]))
        );
        // "4abc" is an EIO message "abc"; "42{}" is EVENT "{}"; "42abc[…]" has junk before the JSON.
        assert_eq!(err("abc"), DecodeError::UnknownType('a'));
        invalid_payload("2{}");
        invalid_payload(r#"2abc["message-with-ack",1,"2",{"3":[false]}]"#);
    }

    #[test]
    fn test_suite_binary_event() {
        let header = ok(r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
        assert_eq!(header.kind, PacketKind::BinaryEvent);
        assert_eq!(header.expected_attachments(), 2);
        assert!(header.attachments.is_empty());
        let mut reassembler = Reassembler::new();
        assert_eq!(reassembler.start(header.clone()), Ok(None));
        assert!(reassembler.is_waiting());
        assert_eq!(reassembler.push_attachment(bin(&[1, 2, 3])), Ok(None));
        assert!(reassembler.is_waiting());
        let done = reassembler.push_attachment(bin(&[4, 5, 6])).unwrap().unwrap();
        assert!(!reassembler.is_waiting());
        assert_eq!(done.attachments, vec![bin(&[1, 2, 3]), bin(&[4, 5, 6])]);
        assert_eq!(done.data, header.data);
        // Echoing it re-encodes the same header.
        let echo = Packet::event("/", done.data.clone().unwrap(), None, done.attachments.clone());
        assert_eq!(
            echo.encode_header(),
            r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
    }

    // The reference parser's invalid inputs (socket.io-parser test/parser.js and test/buffer.js).

    #[test]
    fn reference_invalid_payloads() {
        invalid_payload(r#"442["some","data""#);
        invalid_payload(r#"0/admin,"invalid""#);
        invalid_payload("0[]");
        invalid_payload("1/admin,{}");
        invalid_payload(r#"2/admin,"invalid"#);
        invalid_payload("2/admin,{}");
        invalid_payload(r#"2[{"toString":"foo"}]"#);
        invalid_payload(r#"2[true,"foo"]"#);
        invalid_payload(r#"2[null,"bar"]"#);
        invalid_payload(r#"2["connect"]"#);
        invalid_payload(r#"2["disconnect","123"]"#);
    }

    #[test]
    fn every_reserved_event_name_is_rejected() {
        for name in RESERVED_EVENTS {
            invalid_payload(&format!(r#"2["{name}"]"#));
            invalid_payload(&format!(r#"51-["{name}",{{"_placeholder":true,"num":0}}]"#));
            // As an argument, or in an ack, the names are fine.
            assert!(decode(&format!(r#"2["x","{name}"]"#)).is_ok());
            assert!(decode(&format!(r#"3["{name}"]"#)).is_ok());
        }
        assert!(decode(r#"2["Connect"]"#).is_ok());
    }

    #[test]
    fn reference_illegal_attachment_counts() {
        for text in [
            "5",
            "51",
            "50-",
            "5a-",
            "51.23-",
            "5-",
            "6",
            "6-[]",
            "5 1-[\"a\"]",
            "5+1-[\"a\"]",
            "51e0-[\"a\"]",
        ] {
            assert_eq!(err(text), DecodeError::IllegalAttachments, "{text:?}");
        }
    }

    #[test]
    fn too_many_attachments() {
        let too_many = DecodeError::TooManyAttachments { max: MAX_ATTACHMENTS };
        assert_eq!(err(r#"511-["a"]"#), too_many);
        assert_eq!(err(r#"599999999999999999999999-["a"]"#), too_many);
        let ten: Vec<Value> = (0..10).map(placeholder).collect();
        let mut args = vec![json!("a")];
        args.extend(ten);
        let text = format!("510-{}", Value::Array(args));
        assert_eq!(ok(&text).expected_attachments(), 10);
        // The reference test with maxAttachments = 2.
        assert_eq!(
            decode_with_max_attachments(
                r#"53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#,
                2
            ),
            Err(DecodeError::TooManyAttachments { max: 2 })
        );
    }

    #[test]
    fn unknown_types() {
        assert_eq!(err("999"), DecodeError::UnknownType('9'));
        assert_eq!(err("7"), DecodeError::UnknownType('7'));
        assert_eq!(err(" 0"), DecodeError::UnknownType(' '));
        assert_eq!(err("é"), DecodeError::UnknownType('é'));
        assert_eq!(err(""), DecodeError::Empty);
    }

    #[test]
    fn payload_presence_rules() {
        // EVENT, ACK and CONNECT_ERROR need a payload.
        invalid_payload("2");
        invalid_payload("2/admin,");
        invalid_payload("212");
        invalid_payload("3");
        invalid_payload("312");
        invalid_payload("4");
        invalid_payload("4/admin,");
        invalid_payload("2[]");
        // CONNECT: object or nothing.
        invalid_payload("0null");
        invalid_payload(r#"0"token""#);
        invalid_payload("0/admin,[]");
        // DISCONNECT: nothing.
        invalid_payload("1[]");
        invalid_payload(r#"1"bye""#);
        // CONNECT_ERROR: object or string.
        assert_eq!(ok(r#"4"Unauthorized""#).data, Some(json!("Unauthorized")));
        invalid_payload("4[]");
        invalid_payload("4null");
        // ACK: any array.
        assert_eq!(ok("3[]").data, Some(json!([])));
        invalid_payload("3{}");
        invalid_payload(r#"3"x""#);
        // EVENT with a numeric name.
        assert_eq!(ok(r#"2[1,"a",{}]"#).data, Some(json!([1, "a", {}])));
        assert_eq!(ok("2[-1.5]").data, Some(json!([-1.5])));
    }

    #[test]
    fn ack_ids() {
        assert_eq!(ok(r#"2007["a"]"#).ack_id, Some(7));
        assert_eq!(ok(&format!(r#"2{}["a"]"#, u64::MAX)).ack_id, Some(u64::MAX));
        assert_eq!(err(r#"218446744073709551616["a"]"#), DecodeError::InvalidAckId);
        assert_eq!(
            err(r#"2/admin,99999999999999999999999["a"]"#),
            DecodeError::InvalidAckId
        );
        // The reference accepts an id on any type; so do we.
        assert_eq!(ok("1/admin,5").ack_id, Some(5));
        assert_eq!(ok(r#"0/admin,3{"token":"1"}"#).ack_id, Some(3));
        // An ack without an id parses: the receiver ignores an ack it cannot match.
        assert_eq!(ok("3[]").ack_id, None);
    }

    #[test]
    fn namespaces() {
        assert_eq!(ok(r#"2/,["a"]"#).namespace, "/");
        assert_eq!(ok("0/").namespace, "/");
        assert_eq!(ok(r#"2/a/b-c_d.é,["x"]"#).namespace, "/a/b-c_d.é");
        // Without a comma the namespace swallows the rest, so this EVENT has no payload.
        invalid_payload(r#"2/admin["a"]"#);
        // A namespace only starts at `/` right after the type (and count): here `/` is not JSON.
        invalid_payload(r#"21/admin,["a"]"#);
        assert_eq!(
            ok(r#"51-/admin,["a",{"_placeholder":true,"num":0}]"#).namespace,
            "/admin"
        );
    }

    #[test]
    fn json_details() {
        // Whitespace around the JSON is JSON's business.
        assert_eq!(ok(r#"2 ["a"] "#).data, Some(json!(["a"])));
        invalid_payload("2 ");
        invalid_payload(r#"2["a"]x"#);
        invalid_payload(r#"2["a"]["b"]"#);
        // serde_json's recursion limit (128) stops a deep payload without overflowing the stack.
        let deep = format!("2[\"a\",{}{}]", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(decode(&deep), Err(DecodeError::InvalidJson(_))));
        // Numbers survive decode → encode → decode exactly (serde_json's `float_roundtrip`).
        for text in [
            r#"2["a",1222222222222222222222222222222222222222]"#,
            r#"2["a",0.1,2.2250738585072014e-308,1.7976931348623157e308,-0]"#,
        ] {
            let once = ok(text);
            assert_eq!(ok(&once.encode_header()), once, "{text}");
        }
        // Object key order is kept.
        let text = r#"2["a",{"z":1,"a":2,"m":3}]"#;
        assert_eq!(ok(text).encode_header(), text);
    }

    #[test]
    fn placeholders_must_match_the_count() {
        // The reference accepts these; no encoder produces them.
        assert_eq!(
            err(r#"51-["hello"]"#),
            DecodeError::PlaceholderMismatch {
                announced: 1,
                found: 0
            }
        );
        assert_eq!(
            err(r#"51-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#),
            DecodeError::IllegalPlaceholder
        );
        assert_eq!(
            err(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#),
            DecodeError::IllegalPlaceholder
        );
        assert_eq!(
            err(r#"52-["a",{"_placeholder":true,"num":1}]"#),
            DecodeError::PlaceholderMismatch {
                announced: 2,
                found: 1
            }
        );
        // Out of order is fine.
        assert_eq!(
            ok(r#"52-["a",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]"#)
                .expected_attachments(),
            2
        );
    }

    #[test]
    fn reference_illegal_placeholders() {
        assert_eq!(
            err(r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#),
            DecodeError::IllegalPlaceholder
        );
        assert_eq!(
            err(r#"51-["hello",{"_placeholder":true,"num":1}]"#),
            DecodeError::IllegalPlaceholder
        );
        for bad in [
            r#"{"_placeholder":true}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":0.5}"#,
            r#"{"_placeholder":true,"num":0,"extra":1}"#,
            r#"{"_placeholder":true,"num":null}"#,
        ] {
            assert_eq!(
                err(&format!(r#"51-["a",{bad}]"#)),
                DecodeError::IllegalPlaceholder,
                "{bad}"
            );
        }
        // Objects that merely look like placeholders are plain data.
        assert_eq!(
            ok(r#"51-["a",{"_placeholder":false,"num":7},{"_placeholder":true,"num":0}]"#)
                .expected_attachments(),
            1
        );
        // In a non-binary packet placeholders are plain data too (the reference does not substitute them).
        assert_eq!(
            ok(r#"2["a",{"_placeholder":true,"num":3}]"#).expected_attachments(),
            0
        );
    }

    #[test]
    fn reassembler_rejects_out_of_order_messages() {
        let mut reassembler = Reassembler::new();
        // Binary data without a header.
        assert_eq!(
            reassembler.push_attachment(bin(b"world")),
            Err(DecodeError::UnexpectedAttachment)
        );
        // A header while attachments are pending.
        let header = ok(r#"51-["hello",{"_placeholder":true,"num":0}]"#);
        assert_eq!(reassembler.start(header), Ok(None));
        assert_eq!(
            reassembler.start(ok(r#"2["hello"]"#)),
            Err(DecodeError::UnexpectedPacket)
        );
        assert!(reassembler.is_waiting(), "the pending packet stays");
        reassembler.reset();
        assert!(!reassembler.is_waiting());
        // After a reset, decoding resumes (the reference's destroy()).
        assert_eq!(
            reassembler.start(ok(r#"2["hello"]"#)).unwrap().unwrap().data,
            Some(json!(["hello"]))
        );
    }

    #[test]
    fn reassembler_passes_plain_packets_through() {
        let mut reassembler = Reassembler::new();
        for text in ["0", "1/admin", r#"2["a"]"#, "3[]", r#"4{"message":"x"}"#] {
            assert_eq!(reassembler.start(ok(text)), Ok(Some(ok(text))));
            assert!(!reassembler.is_waiting());
        }
    }

    #[test]
    fn reassembler_validates_hand_built_packets() {
        let mut reassembler = Reassembler::new();
        // Complete already: accepted when valid.
        let complete = Packet::event("/", json!(["a", placeholder(0)]), None, vec![bin(b"x")]);
        assert_eq!(reassembler.start(complete.clone()), Ok(Some(complete)));
        // A binary kind with no placeholder and no attachment is not a valid packet.
        let empty = packet(PacketKind::BinaryEvent, "/", None, Some(json!(["a"])));
        assert_eq!(reassembler.start(empty), Err(DecodeError::IllegalAttachments));
        assert!(!reassembler.is_waiting());
    }

    #[test]
    fn validate_rules() {
        assert_eq!(Packet::event("/", json!(["a"]), None, vec![]).validate(), Ok(()));
        let mut no_slash = Packet::disconnect("/");
        no_slash.namespace = "admin".to_owned();
        assert_eq!(no_slash.validate(), Err(DecodeError::InvalidNamespace));
        let mut comma = Packet::disconnect("/");
        comma.namespace = "/a,b".to_owned();
        assert_eq!(comma.validate(), Err(DecodeError::InvalidNamespace));
        let mut attached = Packet::event("/", json!(["a"]), None, vec![]);
        attached.attachments.push(bin(b"x"));
        assert!(matches!(
            attached.validate(),
            Err(DecodeError::InvalidPayload { .. })
        ));
        // Attachments without placeholders.
        let missing = Packet::event("/", json!(["a"]), None, vec![bin(b"x")]);
        assert_eq!(
            missing.validate(),
            Err(DecodeError::PlaceholderMismatch {
                announced: 1,
                found: 0
            })
        );
        assert!(matches!(
            Packet::event("/", json!(["connect"]), None, vec![]).validate(),
            Err(DecodeError::InvalidPayload { .. })
        ));
    }

    #[test]
    fn header_of_a_waiting_packet_announces_its_placeholders() {
        let header = ok(r#"61-7[{"_placeholder":true,"num":0}]"#);
        assert_eq!(header.encode_header(), r#"61-7[{"_placeholder":true,"num":0}]"#);
    }

    #[test]
    fn engine_messages_keep_attachments_in_order() {
        let packet = Packet::event(
            "/",
            json!(["files", {"b": placeholder(1), "a": placeholder(0)}]),
            Some(3),
            vec![bin(b"first"), bin(b"second")],
        );
        assert_eq!(
            packet.to_engine_messages(),
            vec![
                Payload::Text(
                    r#"52-3["files",{"b":{"_placeholder":true,"num":1},"a":{"_placeholder":true,"num":0}}]"#
                        .to_owned()
                ),
                Payload::Binary(bin(b"first")),
                Payload::Binary(bin(b"second")),
            ]
        );
        round_trip(
            &packet,
            r#"52-3["files",{"b":{"_placeholder":true,"num":1},"a":{"_placeholder":true,"num":0}}]"#,
        );
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            DecodeError::UnknownType('9').to_string(),
            "unknown packet type '9'"
        );
        assert_eq!(
            DecodeError::InvalidPayload {
                kind: PacketKind::Event,
                reason: "reserved event name"
            }
            .to_string(),
            "invalid Event payload: reserved event name"
        );
    }
}
