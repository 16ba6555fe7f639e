//! Mentions in task comments: `<@USER_ID>`, as in chat, where `USER_ID` is a UUID. The parser only finds the
//! candidates; the service keeps those who are members of the task's project (anyone else is plain text).

use epop_core::UserId;

/// The most distinct users one comment can mention; further candidates are ignored.
pub const MAX_MENTIONS: usize = 50;

/// The distinct user ids mentioned in `body`, in the order they first appear, at most [`MAX_MENTIONS`].
pub fn mentioned(body: &str) -> Vec<UserId> {
    let mut found: Vec<UserId> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        // A UUID is 36 characters: a longer candidate is not a mention (and is not parsed).
        if let Some(end) = rest.find('>')
            && end <= 36
            && let Ok(id) = rest[..end].parse::<UserId>()
        {
            if !found.contains(&id) {
                found.push(id);
                if found.len() == MAX_MENTIONS {
                    break;
                }
            }
            rest = &rest[end + 1..];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_distinct_mentions_in_order() {
        let a = UserId::new();
        let b = UserId::new();
        let body = format!("hi <@{b}> and <@{a}>, again <@{b}>");
        assert_eq!(mentioned(&body), vec![b, a]);
    }

    #[test]
    fn ignores_what_is_not_a_mention() {
        let a = UserId::new();
        for body in [
            "no mention".to_owned(),
            "<@not-a-uuid>".to_owned(),
            format!("<@{a}"),
            format!("<{a}>"),
            format!("<@ {a}>"),
            "<@".to_owned(),
            "<@>".to_owned(),
            "<@é>".to_owned(),
        ] {
            assert!(mentioned(&body).is_empty(), "{body}");
        }
        assert_eq!(mentioned(&format!("<@<@{a}>")), vec![a]);
    }

    #[test]
    fn keeps_at_most_the_bound() {
        let body: String = (0..MAX_MENTIONS + 5)
            .map(|_| format!("<@{}> ", UserId::new()))
            .collect();
        assert_eq!(mentioned(&body).len(), MAX_MENTIONS);
    }
}
