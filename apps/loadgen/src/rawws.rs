//! A minimal WebSocket client for the fan-out benchmark: the handshake, unmasked server frames parsed in place
//! from one read buffer, and masked text frames out. It exists so that the load generator's own cost per
//! delivery (one core receiving hundreds of thousands of frames a second) stays far below the gateway's:
//! no allocation, no UTF-8 validation and no stream/sink machinery per frame, and every frame that one `read`
//! brought in is handled before the next.
//!
//! It accepts what the benchmark needs and refuses the rest: the server's frames must be unfragmented (the
//! gateway never fragments); a fragmented or reserved frame ends the connection with an error.

use std::io;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Read buffer kept per connection; a larger frame grows it for as long as it is being read.
const READ_BUFFER: usize = 2048;
/// Longest response head accepted in the handshake.
const MAX_HEAD: usize = 8192;
/// Largest frame accepted from the server.
const MAX_FRAME: usize = 16 << 20;

/// What a frame from the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opcode {
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

/// A frame found in the read buffer: its opcode, and where its payload and the frame end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) opcode: Opcode,
    payload_start: usize,
    end: usize,
}

/// Finds the first complete frame in `data`; `Ok(None)` if more bytes are needed.
pub(crate) fn parse(data: &[u8]) -> io::Result<Option<Found>> {
    let &[first, second, ..] = data else {
        return Ok(None);
    };
    if first & 0x80 == 0 || first & 0x70 != 0 || second & 0x80 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "fragmented, reserved or masked frame from the server",
        ));
    }
    let opcode = match first & 0x0f {
        0x1 => Opcode::Text,
        0x2 => Opcode::Binary,
        0x8 => Opcode::Close,
        0x9 => Opcode::Ping,
        0xa => Opcode::Pong,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected opcode {other:#x}"),
            ));
        }
    };
    let (len, header) = match second & 0x7f {
        126 => match data.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match data.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX), 10),
            None => return Ok(None),
        },
        short => (usize::from(short), 2),
    };
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
    }
    let end = header + len;
    Ok((data.len() >= end).then_some(Found {
        opcode,
        payload_start: header,
        end,
    }))
}

/// A client WebSocket connection.
pub(crate) struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
}

impl RawWs {
    /// Connects to `addr` (`host:port`) and upgrades `path_and_query`.
    pub(crate) async fn connect(addr: &str, path_and_query: &str) -> io::Result<Self> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buf = vec![0u8; READ_BUFFER.max(MAX_HEAD)];
        let mut end = 0;
        let head_end = loop {
            if let Some(at) = buf[..end].windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if end == buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response head too long",
                ));
            }
            let n = stream.read(&mut buf[end..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            end += n;
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            let status = String::from_utf8_lossy(&buf[..head_end.min(64)]).into_owned();
            return Err(io::Error::other(format!("upgrade refused: {status}")));
        }
        let mut ws = Self {
            stream,
            buf,
            start: head_end,
            end,
            out: Vec::new(),
        };
        ws.compact();
        Ok(ws)
    }

    /// Moves unread bytes to the front and gives back memory a large frame took.
    fn compact(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() > READ_BUFFER && self.end <= READ_BUFFER {
            self.buf.truncate(READ_BUFFER);
            self.buf.shrink_to_fit();
        }
    }

    /// The next complete frame already read, if any; its payload is [`RawWs::payload`] until
    /// [`RawWs::consume`].
    pub(crate) fn next_buffered(&self) -> io::Result<Option<Found>> {
        parse(&self.buf[self.start..self.end])
    }

    /// The payload of a frame that [`RawWs::next_buffered`] returned.
    pub(crate) fn payload(&self, frame: &Found) -> &[u8] {
        &self.buf[self.start + frame.payload_start..self.start + frame.end]
    }

    /// Drops a handled frame from the buffer.
    pub(crate) fn consume(&mut self, frame: &Found) {
        self.start += frame.end;
    }

    /// Reads more bytes from the socket (waiting for them); `Ok(0)` when the server closed the connection.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        self.compact();
        if self.end == self.buf.len() {
            // A frame larger than the buffer: make room for all of it (header at most 10 bytes).
            let whole_frame = self.payload_len_hint().map_or(0, |len| len.saturating_add(10));
            let grown = whole_frame.max(self.buf.len() * 2).min(MAX_FRAME + 10);
            self.buf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// The payload length a partly read frame header announces.
    fn payload_len_hint(&self) -> Option<usize> {
        let data = &self.buf[self.start..self.end];
        match data.get(1)? & 0x7f {
            126 => Some(usize::from(u16::from_be_bytes([*data.get(2)?, *data.get(3)?]))),
            127 => usize::try_from(u64::from_be_bytes(data.get(2..10)?.try_into().ok()?)).ok(),
            short => Some(usize::from(short)),
        }
    }

    /// Sends one masked frame with `opcode` (0x1 text, 0x8 close).
    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        // The masking key only has to be present; the server unmasks with it.
        const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x2e];
        self.out.clear();
        self.out.push(0x80 | opcode);
        match payload.len() {
            len @ 0..=125 => self.out.push(0x80 | len as u8),
            len @ 126..=0xffff => {
                self.out.push(0x80 | 126);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                self.out.push(0x80 | 127);
                self.out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        self.out.extend_from_slice(&MASK);
        self.out
            .extend(payload.iter().enumerate().map(|(i, byte)| byte ^ MASK[i % 4]));
        self.stream.write_all(&self.out).await
    }

    /// Sends a text frame.
    pub(crate) async fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send_frame(0x1, text.as_bytes()).await
    }

    /// Sends a close frame (status 1000) and stops writing.
    pub(crate) async fn close(&mut self) -> io::Result<()> {
        self.send_frame(0x8, &1000u16.to_be_bytes()).await?;
        self.stream.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_once_complete() {
        let mut frame = vec![0x81, 5];
        frame.extend_from_slice(b"hello");
        assert_eq!(parse(&frame[..4]).unwrap(), None);
        let found = parse(&frame).unwrap().unwrap();
        assert_eq!(found.opcode, Opcode::Text);
        assert_eq!(&frame[found.payload_start..found.end], b"hello");

        let mut long = vec![0x82, 126, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        let found = parse(&long).unwrap().unwrap();
        assert_eq!(
            (found.opcode, found.end - found.payload_start),
            (Opcode::Binary, 256)
        );
        assert_eq!(parse(&long[..100]).unwrap(), None);
    }

    #[test]
    fn fragmented_and_masked_frames_are_refused() {
        assert!(parse(&[0x01, 0]).is_err());
        assert!(parse(&[0x81, 0x80, 0, 0, 0, 0]).is_err());
        assert!(parse(&[0x83, 0]).is_err());
    }
}
