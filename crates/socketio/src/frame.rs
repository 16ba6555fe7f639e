//! Outgoing Engine.IO packets, encoded once and shared.
//!
//! An [`OutFrame`] holds the complete server-to-client WebSocket frame (RFC 6455 header, then the Engine.IO
//! text or the binary message). Server frames are never masked, so the bytes are the same for every socket:
//! a broadcast encodes its event once, and each socket's queue holds a reference-counted handle to the same
//! buffer, which the WebSocket writer hands to the kernel as it is. Long-polling reads the Engine.IO form (the
//! bytes after the header) from the same buffer.

use base64::Engine as _;
use bytes::{BufMut as _, Bytes, BytesMut};
use epop_realtime_protocol::engine::{Packet, Payload, SEPARATOR};

const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PONG: u8 = 0xA;
const FIN: u8 = 0x80;

/// One outgoing Engine.IO packet in its WebSocket frame form (cheap to clone: the buffer is shared).
#[derive(Clone, PartialEq, Eq)]
pub struct OutFrame {
    wire: Bytes,
    header_len: u8,
    binary: bool,
}

impl std::fmt::Debug for OutFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let payload = self.payload();
        if self.binary {
            write!(f, "OutFrame::Binary({} bytes)", payload.len())
        } else {
            write!(f, "OutFrame::Text({:?})", String::from_utf8_lossy(payload))
        }
    }
}

/// Writes a frame header for a payload of `len` bytes (server frames: no mask).
fn put_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.put_u8(FIN | opcode);
    if len < 126 {
        out.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(126);
        out.put_u16(len);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
}

fn header_len(len: usize) -> usize {
    if len < 126 {
        2
    } else if len <= usize::from(u16::MAX) {
        4
    } else {
        10
    }
}

fn frame(opcode: u8, parts: &[&[u8]]) -> (Bytes, u8) {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let header = header_len(len);
    let mut out = BytesMut::with_capacity(header + len);
    put_header(&mut out, opcode, len);
    for part in parts {
        out.extend_from_slice(part);
    }
    (out.freeze(), header as u8)
}

impl OutFrame {
    /// A text frame carrying an Engine.IO packet's text form (`4…`, `2`, `0{…}`).
    pub fn text(engine_text: &str) -> Self {
        let (wire, header_len) = frame(OPCODE_TEXT, &[engine_text.as_bytes()]);
        Self {
            wire,
            header_len,
            binary: false,
        }
    }

    /// An Engine.IO message (`4` + text, or a binary frame).
    pub fn message(payload: &Payload) -> Self {
        match payload {
            Payload::Text(text) => {
                let (wire, header_len) = frame(OPCODE_TEXT, &[b"4", text.as_bytes()]);
                Self {
                    wire,
                    header_len,
                    binary: false,
                }
            }
            Payload::Binary(bytes) => {
                let (wire, header_len) = frame(OPCODE_BINARY, &[bytes]);
                Self {
                    wire,
                    header_len,
                    binary: true,
                }
            }
        }
    }

    /// Any Engine.IO packet.
    pub fn packet(packet: &Packet) -> Self {
        match packet {
            Packet::Message(payload) => Self::message(payload),
            other => Self::text(&other.to_text_frame().unwrap_or_default()),
        }
    }

    /// The whole WebSocket frame, header included.
    pub fn wire(&self) -> &Bytes {
        &self.wire
    }

    /// The whole WebSocket frame, owned.
    pub fn into_wire(self) -> Bytes {
        self.wire
    }

    /// The Engine.IO packet: its text form (UTF-8) or the binary message.
    pub fn payload(&self) -> &[u8] {
        &self.wire[usize::from(self.header_len)..]
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// Appends the long-polling form: the text as is, a binary message as `b` + standard base64.
    fn push_polling(&self, out: &mut String) {
        if self.binary {
            out.push('b');
            base64::engine::general_purpose::STANDARD.encode_string(self.payload(), out);
        } else {
            // Built from `&str` only, so the payload is UTF-8; the lossy path is never taken.
            out.push_str(&String::from_utf8_lossy(self.payload()));
        }
    }
}

/// The frame that answers a client's WebSocket ping (at most 125 bytes of its data echoed).
pub fn pong_frame(data: &[u8]) -> Bytes {
    let data = &data[..data.len().min(125)];
    frame(OPCODE_PONG, &[data]).0
}

/// A WebSocket close frame with no status.
pub fn close_frame() -> Bytes {
    frame(OPCODE_CLOSE, &[]).0
}

/// A long-polling payload from as many whole frames as fit in `max_bytes` (at least one); returns the text and
/// how many frames it took.
pub fn encode_polling<'a>(
    frames: impl IntoIterator<Item = &'a OutFrame>,
    max_bytes: usize,
) -> (String, usize) {
    let mut out = String::new();
    let mut used = 0;
    for frame in frames {
        let before = out.len();
        if used > 0 {
            out.push(SEPARATOR);
        }
        frame.push_polling(&mut out);
        if used > 0 && out.len() > max_bytes {
            out.truncate(before);
            break;
        }
        used += 1;
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_message_is_one_unmasked_frame_with_the_engine_prefix() {
        let frame = OutFrame::message(&Payload::Text("2[\"hi\"]".into()));
        let mut expected = vec![0x81, 8];
        expected.extend_from_slice(b"42[\"hi\"]");
        assert_eq!(frame.wire().as_ref(), expected.as_slice());
        assert_eq!(frame.payload(), b"42[\"hi\"]");
        assert!(!frame.is_binary());
    }

    #[test]
    fn lengths_use_the_16_and_64_bit_forms_past_125_and_65535_bytes() {
        let medium = OutFrame::message(&Payload::Binary(Bytes::from(vec![7u8; 300])));
        assert_eq!(&medium.wire()[..4], &[0x82, 126, 0x01, 0x2C]);
        assert_eq!(medium.payload().len(), 300);
        let large = OutFrame::message(&Payload::Binary(Bytes::from(vec![7u8; 70_000])));
        assert_eq!(&large.wire()[..2], &[0x82, 127]);
        assert_eq!(&large.wire()[2..10], &70_000u64.to_be_bytes());
        assert_eq!(large.payload().len(), 70_000);
    }

    #[test]
    fn polling_joins_frames_and_base64s_binary_within_the_bound() {
        let frames = [
            OutFrame::packet(&Packet::Ping(None)),
            OutFrame::message(&Payload::Binary(Bytes::from_static(&[1, 2, 3]))),
            OutFrame::message(&Payload::Text("x".repeat(50))),
        ];
        assert_eq!(encode_polling(&frames[..2], 1000), ("2\x1ebAQID".to_owned(), 2));
        let (text, used) = encode_polling(&frames, 10);
        assert_eq!((text.as_str(), used), ("2\x1ebAQID", 2));
        let (text, used) = encode_polling(&frames[2..], 10);
        assert_eq!((text.len(), used), (51, 1), "the first frame is always taken");
    }

    #[test]
    fn control_frames() {
        assert_eq!(close_frame().as_ref(), &[0x88, 0]);
        assert_eq!(pong_frame(b"ab").as_ref(), &[0x8A, 2, b'a', b'b']);
        assert_eq!(pong_frame(&[0; 200]).len(), 127);
    }
}
