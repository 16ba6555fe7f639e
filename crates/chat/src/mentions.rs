//! Mentions in a message's text (`docs/api.md`, Mentions): `<@USER_ID>` names a user, `<!here>` the members
//! online now, `<!all>` every member.
//!
//! [`parse`] is pure: it reads what the text says, in order, each user once, and nothing else (a `<@…>` that
//! is not a UUID is plain text). Who of them counts (members only; who is online for `<!here>`; the size bound
//! of `<!here>` and `<!all>`) is decided by the service, which knows the conversation.

use epop_core::UserId;
use std::sync::Arc;

/// What a text mentions, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMentions {
    /// The users named with `<@USER_ID>`, each once, in the order of their first mention.
    pub users: Vec<UserId>,
    /// `<!here>` appears.
    pub here: bool,
    /// `<!all>` appears.
    pub all: bool,
}

impl ParsedMentions {
    /// Whether the text mentions anyone.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && !self.here && !self.all
    }
}

/// Reads the mentions of `content`. A user id is the hyphenated UUID form (any letter case); anything else
/// between `<@` and `>` is not a mention.
pub fn parse(content: &str) -> ParsedMentions {
    let mut parsed = ParsedMentions::default();
    let mut rest = content;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!here>") {
            parsed.here = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix("<!all>") {
            parsed.all = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix("<@")
            && let Some(id) = after.get(..36)
            && after[36..].starts_with('>')
            && let Some(user) = hyphenated_uuid(id)
        {
            if !parsed.users.contains(&user) {
                parsed.users.push(user);
            }
            rest = &after[37..];
        } else {
            rest = &rest[1..];
        }
    }
    parsed
}

/// A UUID in its 36-character hyphenated form only (no braces, URN or simple form).
fn hyphenated_uuid(text: &str) -> Option<UserId> {
    let hyphens_in_place = text
        .char_indices()
        .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
    if !hyphens_in_place {
        return None;
    }
    uuid::Uuid::try_parse(text).ok().map(UserId::from)
}

/// What a message mentions once resolved against its conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResolvedMentions {
    /// The named users who are members (the sender included when named), as the message shows them.
    pub(crate) users: Vec<UserId>,
    /// `<!here>` was written.
    pub(crate) here: bool,
    /// `<!all>` was written.
    pub(crate) all: bool,
    /// Everyone the message mentions, the sender left out: the named members, the members online for
    /// `<!here>`, every member for `<!all>`; each once.
    pub(crate) targets: Vec<UserId>,
}

/// Who of a set of users is connected right now (on any node): the real-time layer knows, the chat crate asks.
#[async_trait::async_trait]
pub trait OnlineUsers: Send + Sync {
    /// Those of `users` with at least one connected socket.
    async fn online(&self, users: &[UserId]) -> Vec<UserId>;
}

/// Nobody is online: for a service without a real-time layer (`<!here>` then mentions no one).
#[derive(Debug, Clone, Copy, Default)]
pub struct NobodyOnline;

#[async_trait::async_trait]
impl OnlineUsers for NobodyOnline {
    async fn online(&self, _users: &[UserId]) -> Vec<UserId> {
        Vec::new()
    }
}

/// The default [`OnlineUsers`].
pub(crate) fn nobody() -> Arc<dyn OnlineUsers> {
    Arc::new(NobodyOnline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4e5f";
    const B: &str = "0190F1C2-7A8B-7C3D-9E4F-0A1B2C3D4E60";

    fn id(text: &str) -> UserId {
        UserId::from(uuid::Uuid::parse_str(text).unwrap())
    }

    #[test]
    fn users_are_read_in_order_each_once_in_any_case() {
        let parsed = parse(&format!("hi <@{A}> and <@{B}>, again <@{A}>"));
        assert_eq!(parsed.users, vec![id(A), id(B)]);
        assert!(!parsed.here && !parsed.all);
        assert!(!parsed.is_empty());
    }

    #[test]
    fn here_and_all_are_flags() {
        let parsed = parse("<!here> ping <!all><!all>");
        assert!(parsed.here && parsed.all && parsed.users.is_empty());
        assert!(parse("<!HERE> <!everyone> <! all> <!all").is_empty());
    }

    #[test]
    fn anything_else_is_plain_text() {
        let simple = A.replace('-', "");
        for text in [
            "",
            "no mentions",
            "<@>",
            "<@not-a-uuid>",
            &format!("<@{simple}>"),
            &format!("<@{{{A}}}>"),
            &format!("<@urn:uuid:{A}>"),
            &format!("<@{A}"),
            &format!("<@ {A}>"),
            &format!("<@{A}x>"),
            &format!("@{A}"),
            "<<<<@",
            "<@0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4e5->",
            "<@0190f1c2-7a8b-7c3d-9e4f0-a1b2c3d4e5f>",
        ] {
            assert!(parse(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn mentions_are_found_next_to_other_text_and_multibyte_characters() {
        let parsed = parse(&format!("字<<@{A}>>字<!here>é"));
        assert_eq!(parsed.users, vec![id(A)]);
        assert!(parsed.here);
        // A `<@` cut short by the end of the text, or by a multi-byte character, is not a mention (no panic).
        assert!(parse("<@0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4e").is_empty());
        assert!(parse("<@0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4字>").is_empty());
    }
}

/// Property tests (docs/api.md, Mentions): on any text the parser never panics, and on text made of mentions,
/// near-misses and plain words it finds exactly the mentions written, in order, each user once. CI runs them
/// with the unit tests; `bench/fuzz.sh` fuzzes the same parser (`fuzz/fuzz_targets/mentions.rs`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// What a piece of text is, and what it should add to the parse.
    #[derive(Debug, Clone)]
    enum Piece {
        Plain(String),
        User(usize, bool),
        Here,
        All,
        NearMiss(String),
    }

    const USERS: [&str; 3] = [
        "0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4e5f",
        "0190f1c2-7a8b-7c3d-9e4f-0a1b2c3d4e60",
        "7d444840-9dc0-11d1-b245-5ffdce74fad2",
    ];

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[^<>]{0,12}".prop_map(Piece::Plain),
            (0..USERS.len(), any::<bool>()).prop_map(|(n, upper)| Piece::User(n, upper)),
            Just(Piece::Here),
            Just(Piece::All),
            prop_oneof![
                Just("<@".to_owned()),
                Just("<!her>".to_owned()),
                Just("<!ALL>".to_owned()),
                Just(format!("<@{}", USERS[0])),
                Just(format!("<@{{{}}}>", USERS[1])),
                Just(format!("<@{}>", USERS[2].replace('-', ""))),
                Just(format!("<@{}>", &USERS[0][..35])),
                Just(format!("<@{}x>", USERS[1])),
                Just(format!("<@ {}>", USERS[2])),
            ]
            .prop_map(Piece::NearMiss),
        ]
    }

    fn text_of(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|piece| match piece {
                Piece::Plain(text) | Piece::NearMiss(text) => text.clone(),
                Piece::User(n, true) => format!("<@{}>", USERS[*n].to_uppercase()),
                Piece::User(n, false) => format!("<@{}>", USERS[*n]),
                Piece::Here => "<!here>".to_owned(),
                Piece::All => "<!all>".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_text_parses_without_panicking(text in any::<String>()) {
            let parsed = parse(&text);
            let mut users = parsed.users.clone();
            users.dedup();
            prop_assert_eq!(users.len(), parsed.users.len());
        }

        #[test]
        fn the_mentions_written_are_the_mentions_found(pieces in proptest::collection::vec(piece(), 0..16)) {
            let mut expected = ParsedMentions::default();
            for piece in &pieces {
                match piece {
                    Piece::User(n, _) => {
                        let user = hyphenated_uuid(USERS[*n]).expect("a test id");
                        if !expected.users.contains(&user) {
                            expected.users.push(user);
                        }
                    }
                    Piece::Here => expected.here = true,
                    Piece::All => expected.all = true,
                    Piece::Plain(_) | Piece::NearMiss(_) => {}
                }
            }
            prop_assert_eq!(parse(&text_of(&pieces)), expected);
        }
    }
}
