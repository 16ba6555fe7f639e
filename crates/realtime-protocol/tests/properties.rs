//! Property tests: decoding never panics, and encoding then decoding gives the packet back.

use bytes::Bytes;
use epop_realtime_protocol::engine::{self, Payload};
use epop_realtime_protocol::socket::{self, PacketKind, Reassembler, placeholder};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks like the protocol often enough to reach deep into the decoders.
fn protocol_like_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-6b][0-9\\-/,\\[\\]{}\":a-z_ \u{1e}]{0,48}",
        "2\\[\"a\",-?[0-9]{1,40}(\\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?\\]",
        "[56][0-9]{0,3}-(/[a-z]{0,4},)?[0-9]{0,3}\\[\"[a-z]{0,3}\"(,\\{\"_placeholder\":(true|false),\"num\":[0-9\"a-z-]{1,3}\\})*\\]",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z0-9 ]{0,6}", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_\\-/.é]{1,12}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z:_\\-]{0,12}"
            .prop_filter("reserved", |name| !socket::RESERVED_EVENTS
                .contains(&name.as_str()))
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Arguments, with `attachments` placeholders scattered through them.
fn args_with_placeholders(attachments: usize) -> impl Strategy<Value = Vec<Value>> {
    (
        prop::collection::vec(json_value(), 0..4),
        prop::collection::vec(any::<bool>(), attachments),
    )
        .prop_map(|(mut args, nest)| {
            for (num, nested) in nest.into_iter().enumerate() {
                let slot = if nested {
                    serde_json::json!({ "file": placeholder(num) })
                } else {
                    placeholder(num)
                };
                let at = num % (args.len() + 1);
                args.insert(at, slot);
            }
            args
        })
}

fn buffers(count: usize) -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from),
        count,
    )
}

/// Any valid Socket.IO packet.
fn socket_packet() -> impl Strategy<Value = socket::Packet> {
    let ack_id = prop::option::of(any::<u64>());
    let event = (
        namespace(),
        event_name(),
        0..=socket::MAX_ATTACHMENTS,
        ack_id.clone(),
    )
        .prop_flat_map(|(namespace, name, count, ack_id)| {
            (args_with_placeholders(count), buffers(count)).prop_map(move |(args, attachments)| {
                let mut all = vec![name.clone()];
                all.extend(args);
                socket::Packet::event(&namespace, Value::Array(all), ack_id, attachments)
            })
        });
    let ack =
        (namespace(), 0..=socket::MAX_ATTACHMENTS, any::<u64>()).prop_flat_map(|(namespace, count, id)| {
            (args_with_placeholders(count), buffers(count)).prop_map(move |(args, attachments)| {
                socket::Packet::ack(&namespace, id, Value::Array(args), attachments)
            })
        });
    let object = || {
        prop::collection::vec(("[a-z]{1,6}", json_value()), 0..4)
            .prop_map(|e| Value::Object(e.into_iter().collect()))
    };
    prop_oneof![
        event,
        ack,
        (namespace(), prop::option::of(object())).prop_map(|(ns, auth)| socket::Packet::connect(&ns, auth)),
        (namespace(), any::<String>(), prop::option::of(any::<String>()))
            .prop_map(|(ns, sid, pid)| socket::Packet::connect_ok(&ns, &sid, pid.as_deref())),
        (namespace(), any::<String>()).prop_map(|(ns, message)| socket::Packet::connect_error(&ns, &message)),
        (namespace(), any::<String>()).prop_map(|(ns, message)| socket::Packet {
            kind: PacketKind::ConnectError,
            namespace: ns,
            ack_id: None,
            data: Some(Value::from(message)),
            attachments: Vec::new(),
        }),
        namespace().prop_map(|ns| socket::Packet::disconnect(&ns)),
    ]
}

/// Any Engine.IO packet whose text carries no record separator (which polling cannot frame).
fn engine_packet() -> impl Strategy<Value = engine::Packet> {
    let text = "[^\u{1e}]{0,24}";
    let data = "[^\u{1e}]{1,12}";
    prop_oneof![
        text.prop_map(engine::Packet::Open),
        Just(engine::Packet::Close),
        prop::option::of(data).prop_map(engine::Packet::Ping),
        prop::option::of(data).prop_map(engine::Packet::Pong),
        text.prop_map(|t| engine::Packet::Message(Payload::Text(t))),
        prop::collection::vec(any::<u8>(), 0..48)
            .prop_map(|b| engine::Packet::Message(Payload::Binary(Bytes::from(b)))),
        Just(engine::Packet::Upgrade),
        Just(engine::Packet::Noop),
    ]
}

/// Feeds a packet's messages through decode and a reassembler.
fn decode_messages(messages: Vec<Payload>) -> Result<Option<socket::Packet>, socket::DecodeError> {
    let mut reassembler = Reassembler::new();
    let mut done = None;
    for message in messages {
        done = match message {
            Payload::Text(text) => reassembler.start(socket::decode(&text)?)?,
            Payload::Binary(data) => reassembler.push_attachment(data)?,
        };
    }
    Ok(done)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn text_decoders_never_panic(text in protocol_like_text()) {
        let _ = engine::Packet::from_text_frame(&text);
        let _ = engine::decode_payload(&text);
        if let Ok(packet) = socket::decode(&text) {
            // Whatever decodes is a valid header that re-encodes to something that decodes the same.
            let again = socket::decode(&packet.encode_header());
            prop_assert_eq!(again.as_ref(), Ok(&packet));
            let mut reassembler = Reassembler::new();
            let _ = reassembler.start(packet);
        }
    }

    #[test]
    fn byte_decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&data);
        let _ = engine::decode_payload(&text);
        let _ = engine::Packet::from_text_frame(&text);
        let _ = socket::decode(&text);
        let packet = engine::Packet::from_binary_frame(Bytes::from(data.clone()));
        prop_assert_eq!(packet, engine::Packet::Message(Payload::Binary(Bytes::from(data))));
    }

    #[test]
    fn reassembler_never_panics(steps in prop::collection::vec(prop_oneof![
        protocol_like_text().prop_map(Payload::Text),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| Payload::Binary(Bytes::from(b))),
    ], 0..16)) {
        let mut reassembler = Reassembler::new();
        for step in steps {
            let result = match step {
                Payload::Text(text) => socket::decode(&text).and_then(|header| reassembler.start(header)),
                Payload::Binary(data) => reassembler.push_attachment(data),
            };
            if let Ok(Some(packet)) = result {
                prop_assert_eq!(packet.validate(), Ok(()));
            }
        }
    }

    #[test]
    fn socket_packets_round_trip(packet in socket_packet()) {
        prop_assert_eq!(packet.validate(), Ok(()));
        prop_assert_eq!(packet.expected_attachments(), packet.attachments.len());
        let decoded = decode_messages(packet.to_engine_messages());
        prop_assert_eq!(decoded, Ok(Some(packet)));
    }

    #[test]
    fn socket_packets_round_trip_through_polling(packet in socket_packet()) {
        // The header and its attachments, as a polling payload and back.
        let messages: Vec<engine::Packet> =
            packet.to_engine_messages().into_iter().map(engine::Packet::Message).collect();
        let body = engine::encode_payload(&messages);
        let back = engine::decode_payload(&body);
        prop_assert_eq!(back.as_ref(), Ok(&messages));
        let payloads = messages.into_iter().filter_map(|m| match m {
            engine::Packet::Message(payload) => Some(payload),
            _ => None,
        }).collect();
        prop_assert_eq!(decode_messages(payloads), Ok(Some(packet)));
    }

    #[test]
    fn engine_frames_round_trip(packet in engine_packet()) {
        match packet.to_text_frame() {
            Some(frame) => prop_assert_eq!(engine::Packet::from_text_frame(&frame), Ok(packet)),
            None => {
                let engine::Packet::Message(Payload::Binary(data)) = &packet else {
                    return Err(TestCaseError::fail("only binary messages lack a text frame"));
                };
                prop_assert_eq!(engine::Packet::from_binary_frame(data.clone()), packet);
            }
        }
    }

    #[test]
    fn engine_payloads_round_trip(packets in prop::collection::vec(engine_packet(), 1..8)) {
        let body = engine::encode_payload(&packets);
        prop_assert_eq!(engine::decode_payload(&body), Ok(packets));
    }

    #[test]
    fn bounded_payloads_split_on_packet_boundaries(
        packets in prop::collection::vec(engine_packet(), 0..8),
        max in 0_usize..96,
    ) {
        let (body, used) = engine::encode_payload_bounded(&packets, max);
        prop_assert_eq!(used == 0, packets.is_empty());
        prop_assert!(body.len() <= max || used == 1);
        prop_assert_eq!(&body, &engine::encode_payload(&packets[..used]));
        if used < packets.len() {
            // The next packet would not have fitted.
            let longer = engine::encode_payload(&packets[..=used]);
            prop_assert!(longer.len() > max);
        }
        if used > 0 {
            prop_assert_eq!(engine::decode_payload(&body), Ok(packets[..used].to_vec()));
        }
    }
}
