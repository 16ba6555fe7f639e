//! Engine.IO's refusals: the HTTP answers a request gets when the protocol, or a limit, says no.

use std::time::Duration;

/// A request Engine.IO refuses with `400` and its JSON body `{"code", "message"}` (the codes and messages of the
/// reference server, which clients and the official test suites read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineError {
    /// `transport` is missing or names a transport the server does not serve (code 0).
    TransportUnknown,
    /// `sid` names no open session (code 1).
    SessionIdUnknown,
    /// A handshake that is not a `GET`, or a method the endpoint does not take (code 2).
    BadHandshakeMethod,
    /// Anything else the protocol rules out: a second poll, a post to a WebSocket session, an undecodable
    /// payload (code 3).
    BadRequest,
    /// `EIO` is missing or not `4` (code 5).
    UnsupportedProtocolVersion,
}

impl EngineError {
    /// The `code` of the JSON body.
    pub fn code(self) -> u8 {
        match self {
            EngineError::TransportUnknown => 0,
            EngineError::SessionIdUnknown => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The `message` of the JSON body.
    pub fn message(self) -> &'static str {
        match self {
            EngineError::TransportUnknown => "Transport unknown",
            EngineError::SessionIdUnknown => "Session ID unknown",
            EngineError::BadHandshakeMethod => "Bad handshake method",
            EngineError::BadRequest => "Bad request",
            EngineError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The JSON body.
    pub fn body(self) -> serde_json::Value {
        serde_json::json!({"code": self.code(), "message": self.message()})
    }
}

/// A handshake refused by the limits per client network, before a session opened: answered `429` with
/// `Retry-After` and a body of Engine.IO's shape (code 4, "Forbidden" in the protocol), so that clients treat it as
/// a refused handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRefused {
    /// The client's network holds [`crate::EngineConfig::max_sessions_per_client`] sessions already.
    TooManySessions,
    /// The client's network opened [`crate::EngineConfig::handshakes_per_client_per_minute`] sessions just now;
    /// the next one is allowed after this long.
    TooManyHandshakes {
        /// When the next handshake is allowed.
        retry_after: Duration,
    },
}

impl HandshakeRefused {
    /// The `Retry-After` value, in whole seconds (at least 1).
    pub fn retry_after_secs(self) -> u64 {
        match self {
            HandshakeRefused::TooManySessions => 10,
            HandshakeRefused::TooManyHandshakes { retry_after } => {
                retry_after.as_millis().div_ceil(1000).max(1) as u64
            }
        }
    }

    /// The JSON body.
    pub fn body(self) -> serde_json::Value {
        let message = match self {
            HandshakeRefused::TooManySessions => "Too many sessions from this address",
            HandshakeRefused::TooManyHandshakes { .. } => "Too many handshakes from this address",
        };
        serde_json::json!({"code": 4, "message": message})
    }
}

/// Why an Engine.IO request was refused: a protocol rule (`400`) or a limit (`429`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The protocol refuses the request.
    Protocol(EngineError),
    /// A limit per client network refuses the handshake.
    Limited(HandshakeRefused),
}

impl From<EngineError> for Refused {
    fn from(error: EngineError) -> Self {
        Refused::Protocol(error)
    }
}

impl From<HandshakeRefused> for Refused {
    fn from(refused: HandshakeRefused) -> Self {
        Refused::Limited(refused)
    }
}

impl Refused {
    /// The HTTP status: `400` or `429`.
    pub fn status(self) -> u16 {
        match self {
            Refused::Protocol(_) => 400,
            Refused::Limited(_) => 429,
        }
    }

    /// `Retry-After` in seconds, for a limit.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            Refused::Protocol(_) => None,
            Refused::Limited(refused) => Some(refused.retry_after_secs()),
        }
    }

    /// The JSON body.
    pub fn body(self) -> serde_json::Value {
        match self {
            Refused::Protocol(error) => error.body(),
            Refused::Limited(refused) => refused.body(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_reference_servers_codes() {
        assert_eq!(
            EngineError::UnsupportedProtocolVersion.body(),
            serde_json::json!({"code": 5, "message": "Unsupported protocol version"})
        );
        let limited = Refused::from(HandshakeRefused::TooManyHandshakes {
            retry_after: Duration::from_millis(1_200),
        });
        assert_eq!((limited.status(), limited.retry_after_secs()), (429, Some(2)));
        assert_eq!(limited.body()["code"], 4);
        assert_eq!(HandshakeRefused::TooManySessions.retry_after_secs(), 10);
    }
}
