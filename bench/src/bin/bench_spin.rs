//! `bench-spin`: a closed-loop HTTP/1.1 load generator that never sleeps, for the
//! pinned warm path.
//!
//! Why not only oha: on this kind of guest an idle vCPU halts at once, and waking a
//! halted vCPU costs the *sender* several microseconds of kernel time. When the broker
//! answers faster than oha reads, oha's thread sleeps in `epoll_wait` between answers,
//! and nearly every answer the broker writes pays that wake-up on the broker's core: the
//! load generator's idleness is billed to the server, more the slower the endpoint (it
//! is absent from `/healthz`, where oha never idles). A client on another machine costs
//! the broker a NIC interrupt, not a local wake-up. This generator keeps its own core
//! busy instead: it polls for readiness in a loop, so no answer ever has to wake it, and
//! what the broker's core spends is the broker's work.
//!
//! One thread, `CONNECTIONS` keep-alive connections, each with one request in flight
//! (closed loop: the next request goes out when the answer is whole), and epoll
//! (through mio) asked with a zero timeout in a loop: it never blocks, and only the
//! sockets with data are read. Answers must carry `Content-Length` (the broker's do);
//! anything else ends the run with an error.
//!
//! ```text
//! bench-spin URL CONNECTIONS SECONDS [BODY_FILE]   # GET, or POST BODY_FILE as JSON
//! ```
//! Prints one JSON object shaped like oha's `--output-format json` (the fields the
//! report reads: `summary.requestsPerSec`, `summary.successRate`,
//! `statusCodeDistribution`, `latencyPercentiles.p50`/`p99` in seconds).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read as _, Write as _};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use license_bench::results::percentile;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// One connection and the request it has in flight.
struct Connection {
    stream: TcpStream,
    /// Bytes of the current answer read so far.
    read: Vec<u8>,
    /// How much of the request is still to be written.
    unsent: usize,
    sent_at: Instant,
}

/// A whole answer at the front of `buf`: its status and its length in bytes.
fn whole_answer(buf: &[u8]) -> anyhow::Result<Option<(u16, usize)>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("the answer's head is not UTF-8")?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {:?}", head.lines().next()))?;
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .context("an answer without Content-Length: bench-spin reads only those")?;
    let total = head_end + 4 + length;
    Ok((buf.len() >= total).then_some((status, total)))
}

fn request_bytes(url: &str, body: Option<&[u8]>) -> anyhow::Result<(String, Vec<u8>)> {
    let rest = url
        .strip_prefix("http://")
        .context("the URL must start with http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut request = match body {
        None => format!("GET {path} HTTP/1.1\r\nhost: {authority}\r\n\r\n").into_bytes(),
        Some(body) => {
            let mut r = format!(
                "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
    };
    request.shrink_to_fit();
    Ok((authority.to_owned(), request))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, connections, seconds, rest @ ..] = args.as_slice() else {
        bail!("usage: bench-spin URL CONNECTIONS SECONDS [BODY_FILE]");
    };
    let connections: usize = connections.parse().context("CONNECTIONS is a number")?;
    let seconds: f64 = seconds.parse().context("SECONDS is a number")?;
    ensure!(
        connections > 0 && seconds > 0.0,
        "CONNECTIONS and SECONDS must be above 0"
    );
    let body = match rest.first() {
        None => None,
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {path}"))?),
    };
    let (authority, request) = request_bytes(url, body.as_deref())?;

    let mut poll = Poll::new().context("creating the poller")?;
    let mut pool = Vec::with_capacity(connections);
    for i in 0..connections {
        let stream = std::net::TcpStream::connect(&authority)
            .with_context(|| format!("connecting to {authority}"))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)?;
        pool.push(Connection {
            stream,
            read: Vec::with_capacity(4096),
            unsent: request.len(),
            sent_at: Instant::now(),
        });
    }

    let run = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut latencies: Vec<f64> = Vec::with_capacity(1 << 20);
    let mut chunk = [0u8; 16 * 1024];
    let mut events = Events::with_capacity(connections);
    for c in &mut pool {
        c.send(&request)?;
    }
    while started.elapsed() < run {
        // A zero timeout: epoll_wait returns at once, so this thread never sleeps and
        // no answer has to wake it. One system call tells which sockets have data, so
        // the sockets are not each read (and locked) on every turn of the loop.
        poll.poll(&mut events, Some(Duration::ZERO))?;
        for event in events.iter() {
            let c = &mut pool[event.token().0];
            // Edge-triggered: read until the socket is empty.
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => bail!("the server closed a keep-alive connection"),
                    Ok(n) => c.read.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e).context("reading an answer"),
                }
            }
            if let Some((status, length)) = whole_answer(&c.read)? {
                ensure!(
                    c.read.len() == length,
                    "an answer came that nobody asked for"
                );
                c.read.clear();
                *statuses.entry(status).or_default() += 1;
                latencies.push(c.sent_at.elapsed().as_secs_f64());
                c.unsent = request.len();
                c.sent_at = Instant::now();
            }
        }
        // The next request on every connection that has room for it (a request is a
        // few hundred bytes, so this is one write each, almost always).
        for c in &mut pool {
            if c.unsent > 0 {
                c.send(&request)?;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let answered: u64 = statuses.values().sum();
    let ok: u64 = statuses
        .iter()
        .filter(|(s, _)| (200..300).contains(*s))
        .map(|(_, n)| n)
        .sum();
    latencies.sort_by(f64::total_cmp);
    let report = serde_json::json!({
        "summary": {
            "requestsPerSec": answered as f64 / elapsed,
            "successRate": if answered == 0 { 0.0 } else { ok as f64 / answered as f64 },
            "total": elapsed,
        },
        "statusCodeDistribution": statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect::<BTreeMap<_, _>>(),
        "latencyPercentiles": {
            "p50": percentile(&latencies, 50.0),
            "p99": percentile(&latencies, 99.0),
        },
        "generator": "bench-spin",
        "connections": pool.len(),
    });
    println!("{report}");
    Ok(())
}

impl Connection {
    /// Writes what is left of `request`; a full socket buffer leaves the rest for the
    /// next turn.
    fn send(&mut self, request: &[u8]) -> anyhow::Result<()> {
        while self.unsent > 0 {
            let from = request.len() - self.unsent;
            match self.stream.write(&request[from..]) {
                Ok(n) => self.unsent -= n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e).context("writing a request"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_whole_only_with_its_whole_body() {
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(whole_answer(&answer[..answer.len() - 1]).unwrap(), None);
        assert_eq!(whole_answer(answer).unwrap(), Some((200, answer.len())));
        assert_eq!(whole_answer(b"HTTP/1.1 429 Too").unwrap(), None);
        assert!(whole_answer(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    #[test]
    fn a_post_carries_its_length_and_body() {
        let (authority, bytes) = request_bytes("http://127.0.0.1:8080/v1/x", Some(b"{}")).unwrap();
        assert_eq!(authority, "127.0.0.1:8080");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("POST /v1/x HTTP/1.1\r\n"), "{text}");
        assert!(text.ends_with("content-length: 2\r\n\r\n{}"), "{text}");
        assert!(request_bytes("https://x/", None).is_err());
    }
}
