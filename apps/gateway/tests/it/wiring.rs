//! Wiring separate from running: building the state starts nothing, and `Background` starts the roles that
//! publish committed events and stops them on `shutdown`.

use crate::helpers::{PASSWORD, base_vars};
use epop_auth::{NewAccount, Role};
use epop_core::DomainEvent;
use epop_gateway::app;
use epop_gateway::background::Background;
use epop_gateway::config::Config;
use epop_test_support::TestDatabase;
use secrecy::SecretString;
use std::time::Duration;

#[tokio::test]
async fn committed_events_are_published_only_once_the_background_runs_and_shutdown_stops_it() {
    // The Web Push client is built on rustls with ring, as `main` installs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDatabase::create().await.unwrap();
    let config = Config::from_source(&base_vars(&db)).unwrap();
    app::prepare_database(&config).await.unwrap();
    let (state, sequencer) = app::build_state(config).await.unwrap();
    let mut events = state.events.subscribe();
    let user = state
        .auth
        .create_user(NewAccount {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            password: SecretString::from(PASSWORD),
            role: Role::Member,
        })
        .await
        .unwrap();
    let group = state.chat.create_group(user.id, "Team", &[]).await.unwrap();

    // Without the background roles, the outbox row stays where it is (the relay polls every 500 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        events.try_recv().is_err(),
        "an event was published before the background started"
    );

    let background = Background::start(&state, sequencer).unwrap();
    let published = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the relay publishes once started")
        .unwrap();
    assert_eq!(published.position, 1);
    assert!(
        matches!(published.event, DomainEvent::ConversationCreated { conversation_id, .. } if conversation_id == group.id),
        "{published:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), background.shutdown())
        .await
        .expect("every background role stops within the bound");
}
