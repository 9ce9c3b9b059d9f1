//! Where a Redis round trip's time goes on this machine: the same `PING`, one client, timed from
//! a blocking socket, from a tokio socket on a current-thread runtime and on the multi-threaded
//! runtime the kit's runs use (in a task of it), through redis-rs's multiplexed connection on
//! that runtime, and by `redis-benchmark` (its p50, when installed). Each is run in turn, three
//! rounds, so that a slow or fast spell of the machine falls on all of them; the table gives each
//! one's median p50 over the rounds, in µs. A last line times what no round trip shows: redis-rs
//! parsing a token's `HGETALL` reply (ten fields) into strings, with no I/O.
//!
//! Usage: `cargo run --release -p tokenstore-bench --example redis_round_trip [-- URL]`, with
//! `TOKENSTORE_REDIS_URL` or `redis://127.0.0.1:6379` by default (a `redis://host:port` URL
//! without a password).

use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A way of timing a round trip: given the server's `host:port` and URL, its p50 in µs.
type Way = fn(&str, &str) -> Option<f64>;

/// Round trips timed per way and round, after as many untimed.
const CALLS: usize = 3000;
const PING: &[u8] = b"PING\r\n";
const PONG: usize = b"+PONG\r\n".len();

fn main() {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("TOKENSTORE_REDIS_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let address = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let ways: [(&str, Way); 5] = [
        ("blocking socket (std::net)", |a, _| Some(blocking(a))),
        ("tokio socket, current-thread runtime", |a, _| {
            Some(tokio_socket(
                tokio::runtime::Builder::new_current_thread(),
                a,
            ))
        }),
        ("tokio socket, the kit's runtime", |a, _| {
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            rt.worker_threads(4);
            Some(tokio_socket(rt, a))
        }),
        ("redis-rs multiplexed, the kit's runtime", |_, url| {
            Some(multiplexed(url))
        }),
        ("redis-benchmark -c 1 PING (its p50)", |a, _| {
            redis_benchmark(a)
        }),
    ];
    let mut p50s: Vec<Vec<f64>> = vec![Vec::new(); ways.len()];
    for _ in 0..3 {
        for (k, (_, way)) in ways.iter().enumerate() {
            if let Some(us) = way(&address, &url) {
                p50s[k].push(us);
            }
        }
    }
    println!("{:44} {:>10}", "PING from", "p50 (µs)");
    let parse = parse_reply();
    for ((name, _), mut runs) in ways.iter().zip(p50s) {
        runs.sort_by(f64::total_cmp);
        match runs.get(runs.len() / 2) {
            Some(us) => println!("{name:44} {us:>10.1}"),
            None => println!("{name:44} {:>10}", "-"),
        }
    }
    println!(
        "{:44} {parse:>10.1}",
        "redis-rs parse of an HGETALL reply, no I/O"
    );
}

/// The p50 of redis-rs parsing a token's `HGETALL` reply into its field/value strings, in µs.
fn parse_reply() -> f64 {
    let fields = [
        ("id", "5000"),
        ("user_name", "user5000@example.com"),
        ("client_id", "1000.CLIENTIDCLIENTIDCLIENTID0"),
        ("client_secret", "0123456789abcdef0123456789abcdef01234567"),
        (
            "refresh_token",
            "1000.0123456789abcdef0123456789abcdef.0123456789abcdef",
        ),
        (
            "access_token",
            "1000.0123456789abcdef0123456789abcdef.fedcba9876543210",
        ),
        (
            "grant_token",
            "1000.0123456789abcdef0123456789abcdef.0011223344556677",
        ),
        ("expiry_time", "1700000000000"),
        ("redirect_url", "https://example.com/callback"),
        ("api_domain", "https://www.zohoapis.com"),
    ];
    let mut reply = format!("*{}\r\n", fields.len() * 2);
    for value in fields.iter().flat_map(|(f, v)| [f, v]) {
        reply.push_str(&format!("${}\r\n{value}\r\n", value.len()));
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let value = redis::parse_redis_value(reply.as_bytes()).expect("a RESP reply");
        let strings: Vec<String> = redis::from_redis_value(value).expect("strings");
        times.push(started.elapsed());
        assert_eq!(strings.len(), 20);
    }
    p50(times)
}

/// The p50 of `times`, in µs.
fn p50(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e6
}

fn blocking(address: &str) -> f64 {
    let mut socket = std::net::TcpStream::connect(address).expect("Redis answers");
    socket.set_nodelay(true).expect("TCP_NODELAY");
    let mut reply = [0u8; 64];
    let mut times = Vec::with_capacity(CALLS);
    for k in 0..2 * CALLS {
        let started = Instant::now();
        socket.write_all(PING).expect("write");
        let mut got = 0;
        while got < PONG {
            got += socket.read(&mut reply[got..]).expect("read");
        }
        if k >= CALLS {
            times.push(started.elapsed());
        }
    }
    p50(times)
}

fn tokio_socket(mut runtime: tokio::runtime::Builder, address: &str) -> f64 {
    let rt = runtime.enable_all().build().expect("a runtime");
    let address = address.to_owned();
    rt.block_on(async move {
        tokio::spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(address)
                .await
                .expect("Redis answers");
            socket.set_nodelay(true).expect("TCP_NODELAY");
            let mut reply = [0u8; 64];
            let mut times = Vec::with_capacity(CALLS);
            for k in 0..2 * CALLS {
                let started = Instant::now();
                socket.write_all(PING).await.expect("write");
                let mut got = 0;
                while got < PONG {
                    got += socket.read(&mut reply[got..]).await.expect("read");
                }
                if k >= CALLS {
                    times.push(started.elapsed());
                }
            }
            p50(times)
        })
        .await
        .expect("the task ends")
    })
}

fn multiplexed(url: &str) -> f64 {
    let rt = tokenstore_suite::runtime();
    let url = url.to_owned();
    rt.block_on(async move {
        tokio::spawn(async move {
            let client = redis::Client::open(url).expect("a Redis URL");
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .expect("Redis answers");
            let mut times = Vec::with_capacity(CALLS);
            for k in 0..2 * CALLS {
                let started = Instant::now();
                let _: String = redis::cmd("PING")
                    .query_async(&mut conn)
                    .await
                    .expect("PONG");
                if k >= CALLS {
                    times.push(started.elapsed());
                }
            }
            p50(times)
        })
        .await
        .expect("the task ends")
    })
}

/// `redis-benchmark`'s own p50 (`p50=0.055 msec` in its `-q` line), in µs.
fn redis_benchmark(address: &str) -> Option<f64> {
    let (host, port) = address.rsplit_once(':')?;
    let out = std::process::Command::new("redis-benchmark")
        .args(["-h", host, "-p", port, "-q", "-c", "1", "-n", "20000"])
        .arg("PING")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let after = text.rsplit("p50=").next()?;
    let msec: f64 = after.split_whitespace().next()?.parse().ok()?;
    Some(msec * 1000.0)
}
