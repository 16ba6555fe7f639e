//! `/api/presence`: who is online, on demand (`docs/api.md`, Presence).

pub mod get;
