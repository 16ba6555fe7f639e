//! `epop-chat` on its own: a group conversation with messages, a thread and full-text search against a
//! PostgreSQL database, with no HTTP server.
//!
//! ```text
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/epop_example cargo run -p epop-chat --example conversation
//! ```
//!
//! Applies EPOP's migrations, adds two people to the `users` directory (what `epop-auth` would own; an embedder
//! may fill it from its own accounts, as `epop_test_support::add_person` does), then: a group, messages with an idempotent retry, a thread reply, the
//! history read back in pages of two by cursor, and a search. Files live in a temporary local directory.

use epop_chat::{ChatService, ChatSettings, MessagePage, SearchFilter, Sent, ThreadReply};
use epop_core::clock::SystemClock;
use epop_core::id::UserId;
use epop_core::page::PageRequest;
use epop_storage::events::OutboxNotifier;
use epop_storage::object_store::LocalStore;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL database the example may migrate"))?;
    epop_storage::migrate::run_pending(&url).await?;
    let pool = epop_storage::db::build_pool(&url, 4)?;

    // Two people in the shared directory; an unusable password: they never sign in through EPOP.
    let ann = UserId::from(epop_test_support::add_person(&pool, "Ann").await?);
    let bob = UserId::from(epop_test_support::add_person(&pool, "Bob").await?);

    let files = std::env::temp_dir().join("epop-chat-example");
    let store = LocalStore::new(
        files,
        "http://127.0.0.1:8080",
        "local-signing-key".to_owned().into(),
    );
    let chat = ChatService::new(
        pool,
        Arc::new(store),
        OutboxNotifier::default(),
        Arc::new(SystemClock),
        ChatSettings::default(),
    );

    let group = chat.create_group(ann, "Launch", &[bob]).await?;
    println!("group {} with {} members", group.id, group.members.len());
    let mut first = None;
    for n in 1..=5 {
        let sent = chat
            .send(
                ann,
                group.id,
                &format!("status update {n}"),
                None,
                &[],
                None,
                None,
            )
            .await?;
        first.get_or_insert(message_of(&sent).id);
    }
    // A retry with the same client id gives the first message back instead of a second one.
    let once = chat
        .send(bob, group.id, "ready to ship", Some("bob-1"), &[], None, None)
        .await?;
    let again = chat
        .send(bob, group.id, "ready to ship", Some("bob-1"), &[], None, None)
        .await?;
    println!(
        "a retried send stored nothing new: {}",
        matches!(again, Sent::Existing(ref m) if m.id == message_of(&once).id)
    );
    let root = first.ok_or_else(|| anyhow::anyhow!("no message sent"))?;
    let reply = ThreadReply {
        root,
        send_to_conversation: false,
    };
    chat.send(bob, group.id, "on it", None, &[], Some(reply), None)
        .await?;

    // The history, newest first, two at a time.
    let mut page = chat.messages(bob, group.id, &MessagePage::Latest, 2).await?;
    let mut pages = 1;
    loop {
        for message in &page.items {
            println!("  #{} {}", message.seq, message.content);
        }
        let Some(cursor) = page.next_cursor.take() else {
            break;
        };
        page = chat
            .messages(bob, group.id, &MessagePage::Cursor(cursor), 2)
            .await?;
        pages += 1;
    }
    println!("{pages} pages");

    let found = chat
        .search(bob, "ship", &SearchFilter::default(), &PageRequest::default())
        .await?;
    println!("search for \"ship\": {} message(s)", found.items.len());
    Ok(())
}

/// The message a send stored, or found stored before.
fn message_of(sent: &Sent) -> &epop_core::model::Message {
    match sent {
        Sent::Created(message) | Sent::Existing(message) => message,
    }
}
