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
