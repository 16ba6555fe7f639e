//! Feeds arbitrary bytes to every decoder: none may panic, and whatever decodes must re-encode to itself.
#![no_main]

use bytes::Bytes;
use epop_realtime_protocol::{engine, socket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = engine::Packet::from_binary_frame(Bytes::copy_from_slice(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(packet) = engine::Packet::from_text_frame(text) {
        if let Some(frame) = packet.to_text_frame() {
            let _ = engine::Packet::from_text_frame(&frame);
        }
    }
    if let Ok(packets) = engine::decode_payload(text) {
        let _ = engine::encode_payload_bounded(&packets, data.len());
    }

    if let Ok(packet) = socket::decode(text) {
        let again = socket::decode(&packet.encode_header());
        assert_eq!(again.as_ref(), Ok(&packet), "re-encoding changed {text:?}");
    }

    // The same text as a stream: `\x1e` splits messages, `\x1f` marks a binary attachment.
    let mut reassembler = socket::Reassembler::new();
    for part in text.split('\x1e') {
        let result = match part.strip_prefix('\x1f') {
            Some(attachment) => reassembler.push_attachment(Bytes::copy_from_slice(attachment.as_bytes())),
            None => socket::decode(part).and_then(|header| reassembler.start(header)),
        };
        if let Ok(Some(packet)) = result {
            assert_eq!(packet.validate(), Ok(()));
        }
    }
});
