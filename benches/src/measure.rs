//! The measured operations and their p50/p99: each operation is timed call by call on a spread
//! of tokens, and the floor (when the backend has one) right after, in the same run.

use crate::setup::Bench;
use crate::workload;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokenstore_backends::LoadOp;
use tokenstore_core::{Field, Token};

/// An operation a benchmark times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    FindByUserName,
    FindByAccessToken,
    FindByGrantToken,
    FindByRefreshToken,
    FindById,
    SaveUpdate,
    SaveRefresh,
    SaveInsert,
    GetTokens,
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::FindByUserName,
        Op::FindByAccessToken,
        Op::FindByGrantToken,
        Op::FindByRefreshToken,
        Op::FindById,
        Op::SaveUpdate,
        Op::SaveRefresh,
        Op::SaveInsert,
        Op::GetTokens,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::FindByUserName => "find_token/user_name",
            Op::FindByAccessToken => "find_token/access_token",
            Op::FindByGrantToken => "find_token/grant_token",
            Op::FindByRefreshToken => "find_token/refresh_token",
            Op::FindById => "find_token_by_id",
            Op::SaveUpdate => "save_token/update",
            Op::SaveRefresh => "save_token/refresh",
            Op::SaveInsert => "save_token/insert",
            Op::GetTokens => "get_tokens",
        }
    }

    /// Whether the backend's floor does this operation's work bare: a lookup by the same field,
    /// or for an update, a one-field write of the same token ([`tokenstore_backends::Floor`]).
    fn has_floor(self) -> bool {
        self.field().is_some() || self.load_op() == Some(LoadOp::Save)
    }

    /// The field a lookup matches on, and so the floor's column.
    pub fn field(self) -> Option<Field> {
        match self {
            Op::FindByUserName => Some(Field::UserName),
            Op::FindByAccessToken => Some(Field::AccessToken),
            Op::FindByGrantToken => Some(Field::GrantToken),
            Op::FindByRefreshToken => Some(Field::RefreshToken),
            Op::FindById => Some(Field::Id),
            _ => None,
        }
    }

    /// The operation of the server's own load tool that does the same work, when there is one:
    /// a lookup by the same field (by id for `find_token_by_id`), an update of one field of a
    /// token chosen by user name (for both kinds of update).
    pub fn load_op(self) -> Option<LoadOp> {
        match self {
            Op::SaveUpdate | Op::SaveRefresh => Some(LoadOp::Save),
            lookup => lookup.field().map(LoadOp::Find),
        }
    }

    /// The probe a find sends for the i-th token: only the fields its key needs.
    fn probe(self, t: &Token) -> Token {
        let with_client = |mut p: Token| {
            p.client_id = t.client_id.clone();
            p.client_secret = t.client_secret.clone();
            p
        };
        match self {
            Op::FindByUserName => Token {
                user_name: t.user_name.clone(),
                ..Token::default()
            },
            Op::FindByAccessToken => Token {
                access_token: t.access_token.clone(),
                ..Token::default()
            },
            Op::FindByGrantToken => with_client(Token {
                grant_token: t.grant_token.clone(),
                ..Token::default()
            }),
            _ => with_client(Token {
                refresh_token: t.refresh_token.clone(),
                ..Token::default()
            }),
        }
    }

    /// Runs the operation once on the store, for the `k`-th sample on token `i`.
    pub async fn run(self, bench: &Bench, i: usize, k: usize) -> Result<(), String> {
        self.call(bench, i, k).send(bench).await
    }

    /// The call the `k`-th sample on token `i` sends, made before it is timed.
    pub fn call(self, bench: &Bench, i: usize, k: usize) -> Call {
        let t = workload::token(i);
        let kind = match self {
            Op::FindById => Sent::FindById(t.id.clone().unwrap_or_default()),
            Op::SaveUpdate => Sent::Save(Token {
                user_name: t.user_name.clone(),
                access_token: Some(format!("1000.updated.{k}")),
                ..Token::default()
            }),
            Op::SaveRefresh => Sent::Save(workload::refreshed(t, format!("1000.refreshed.{k}"))),
            Op::SaveInsert => {
                let mut new = workload::token(bench.size + 1_000_000 + k);
                new.id = None;
                Sent::Save(new)
            }
            Op::GetTokens => Sent::GetTokens,
            find => Sent::Find(find.probe(&t)),
        };
        Call { op: self, i, kind }
    }
}

/// One call of an operation, its arguments made.
pub struct Call {
    op: Op,
    i: usize,
    kind: Sent,
}

enum Sent {
    Find(Token),
    FindById(String),
    Save(Token),
    GetTokens,
}

impl Call {
    /// Sends the call to the bench's store: an error names the backend and the operation; a
    /// lookup that finds nothing is an error too.
    pub async fn send(self, bench: &Bench) -> Result<(), String> {
        let store = &bench.store;
        let name = self.op.name();
        let failed = |e: tokenstore_core::StoreError| format!("{} {name}: {e}", bench.backend);
        match self.kind {
            Sent::FindById(id) => store.find_token_by_id(&id).await.map(drop).map_err(failed),
            Sent::Save(mut token) => store.save_token(&mut token).await.map_err(failed),
            Sent::GetTokens => store.get_tokens().await.map(drop).map_err(failed),
            Sent::Find(probe) => match store.find_token(&probe).await.map_err(failed)? {
                Some(_) => Ok(()),
                None => Err(format!(
                    "{} {name}: token {} not found",
                    bench.backend, self.i
                )),
            },
        }
    }
}

/// One operation's latency at one size, and the floors' when there are: the same driver's
/// cheapest lookup, and the server's own client. Times are nanoseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpResult {
    pub backend: String,
    pub op: String,
    pub size: usize,
    pub p50_ns: u64,
    pub p99_ns: u64,
    /// The p50 of the backend's raw floor: the cheapest lookup its driver allows, or for
    /// `save_token/update` and `save_token/refresh` its bare one-field write of the same token.
    pub floor_p50_ns: Option<u64>,
    /// The p50 of the driver's bare round trip to the server (`PING`, the protocol's ping, an
    /// empty query), timed between the lookups: what a call costs before the server does any work.
    #[serde(default)]
    pub round_trip_p50_ns: Option<u64>,
    pub samples: usize,
    /// The server's own client (`redis-benchmark`, `pgbench`, `mysqlslap`) doing the same
    /// operation on the same data from one connection, measured right after.
    #[serde(default)]
    pub native_tool: Option<String>,
    /// That client's mean latency: one over its operations per second (the tools report a rate,
    /// not a median).
    #[serde(default)]
    pub native_mean_ns: Option<u64>,
}

impl OpResult {
    /// p50 over the floor's p50.
    pub fn ratio(&self) -> Option<f64> {
        self.floor_p50_ns
            .map(|f| self.p50_ns as f64 / f.max(1) as f64)
    }

    /// p50 over the server's own client's mean latency: 1.0 is the server's own round trip.
    pub fn native_ratio(&self) -> Option<f64> {
        self.native_mean_ns
            .map(|n| self.p50_ns as f64 / n.max(1) as f64)
    }
}

/// The times of one or more rounds of [`measure`], in nanoseconds: the store's calls, the
/// floor's lookups and the driver's bare round trips.
#[derive(Default)]
pub struct Samples {
    times: Vec<u64>,
    floor_times: Vec<u64>,
    trip_times: Vec<u64>,
}

impl Samples {
    /// Adds the times of another round.
    pub fn extend(&mut self, other: Samples) {
        self.times.extend(other.times);
        self.floor_times.extend(other.floor_times);
        self.trip_times.extend(other.trip_times);
    }

    /// The p50 and p99 of the times of `op` on `bench`, with the floor's and the round trip's p50.
    pub fn result(mut self, bench: &Bench, op: Op) -> OpResult {
        let p50 = |v: &mut Vec<u64>| (!v.is_empty()).then(|| percentile(v, 50));
        OpResult {
            backend: bench.backend.clone(),
            op: op.name().to_owned(),
            size: bench.size,
            p50_ns: percentile(&mut self.times, 50),
            p99_ns: percentile(&mut self.times, 99),
            floor_p50_ns: p50(&mut self.floor_times),
            round_trip_p50_ns: p50(&mut self.trip_times),
            samples: self.times.len(),
            native_tool: None,
            native_mean_ns: None,
        }
    }
}

/// Times up to `samples` calls of `op`, stopping early once `budget` is spent and at least 10
/// calls are timed; the timed calls are numbered from `first`, the warm-up's after them (an
/// insert, measured in one round, writes a token of its own at every call). Lookups alternate, [`BLOCK`] tokens at a time, with the floor's lookups of
/// the same tokens and as many of the driver's bare round trips, so that the three see the
/// machine in the same state: on a shared machine, loopback round trips can halve or double from
/// one second to the next, which would skew ratios taken from runs one after the other.
///
/// Before timing, a lookup runs back to back for [`WARM_UP`] (at most a quarter of `budget`), so
/// that it is timed in the steady state the server's own tool is measured in: on this project's
/// machine, a loopback round trip right after an idle pause is up to three times faster than in a
/// busy loop, for a fifth of a second. A save or `get_tokens`, which change or read the whole
/// store, is warmed up by 5 calls only.
pub async fn measure(
    bench: &Bench,
    op: Op,
    samples: usize,
    first: usize,
    budget: Duration,
) -> Result<Samples, String> {
    let indexes = workload::probe_indexes(bench.size, samples);
    let floor = bench.floor.as_deref().filter(|_| op.has_floor());
    let warm_up = match op.field() {
        Some(_) => WARM_UP.min(budget / 4),
        None => Duration::ZERO,
    };
    let warming = Instant::now();
    for (k, &i) in indexes.iter().cycle().enumerate() {
        if k >= samples.min(5) && warming.elapsed() >= warm_up {
            break;
        }
        op.run(bench, i, first + samples + k).await?;
        if let Some(floor) = floor {
            floor_call(bench, floor, op, i, k).await?;
            floor.round_trip().await?;
        }
    }
    let (mut times, mut floor_times, mut trip_times) = (Vec::new(), Vec::new(), Vec::new());
    let started_all = Instant::now();
    for (block, indexes) in indexes.chunks(BLOCK).enumerate() {
        for (k, &i) in indexes.iter().enumerate() {
            let call = op.call(bench, i, first + block * BLOCK + k);
            let started = Instant::now();
            call.send(bench).await?;
            times.push(started.elapsed().as_nanos() as u64);
        }
        if let Some(floor) = floor {
            for (k, &i) in indexes.iter().enumerate() {
                if let Some(time) = floor_call(bench, floor, op, i, block * BLOCK + k).await? {
                    floor_times.push(time);
                }
            }
            for _ in indexes {
                let started = Instant::now();
                if floor.round_trip().await? {
                    trip_times.push(started.elapsed().as_nanos() as u64);
                }
            }
        }
        if times.len() >= 10 && started_all.elapsed() > budget {
            break;
        }
    }
    Ok(Samples {
        times,
        floor_times,
        trip_times,
    })
}

/// How many calls of one kind run in a row before the next kind (the store's lookups, the
/// floor's, the bare round trips): few enough that the three see the machine in the same state,
/// enough that each runs on a connection it has just used, as it would alone.
const BLOCK: usize = 16;

/// How long a lookup runs back to back before it is timed.
pub const WARM_UP: Duration = Duration::from_millis(300);

/// The floor's work of `op` on token `i` (the `k`-th such call), timed in nanoseconds: its
/// lookup by the operation's field, or its bare write for an update; `None` when the floor has
/// no bare write.
async fn floor_call(
    bench: &Bench,
    floor: &dyn tokenstore_backends::Floor,
    op: Op,
    i: usize,
    k: usize,
) -> Result<Option<u64>, String> {
    let t = workload::token(i);
    let id = t.id.clone().unwrap_or_default();
    let Some(field) = op.field() else {
        let (user, value) = (
            t.user_name.clone().unwrap_or_default(),
            format!("1000.floor.{k}"),
        );
        let started = Instant::now();
        let wrote = floor.write(&user, &id, &value).await?;
        return Ok(wrote.then(|| started.elapsed().as_nanos() as u64));
    };
    let value = t.get(field).unwrap_or_default().to_owned();
    let started = Instant::now();
    let found = floor.lookup(field, &value, &id).await?;
    let elapsed = started.elapsed().as_nanos() as u64;
    if !found {
        return Err(format!(
            "{} floor: token {i} not found by {field}",
            bench.backend
        ));
    }
    Ok(Some(elapsed))
}

fn percentile(values: &mut [u64], p: usize) -> u64 {
    values.sort_unstable();
    let rank = (values.len() * p).div_ceil(100).max(1) - 1;
    values.get(rank).copied().unwrap_or(0)
}
