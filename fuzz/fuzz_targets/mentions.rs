//! The mention parser (docs/api.md, Mentions): any message text parses without a panic, each user at most once,
//! and every user it finds is written in the text as `<@id>`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = epop_chat::mentions::parse(text);
    let lower = text.to_lowercase();
    for (n, user) in parsed.users.iter().enumerate() {
        assert!(!parsed.users[..n].contains(user), "{user} found twice");
        assert!(lower.contains(&format!("<@{user}>")), "{user} is not written in {text:?}");
    }
    assert_eq!(parsed.here, text.contains("<!here>"));
    assert_eq!(parsed.all, text.contains("<!all>"));
});
