//! Crash consistency: a process saves, updates and deletes tokens one call after another on a
//! storage and is killed with SIGKILL at a random moment; then the storage is opened again and
//! must hold every write the process was told succeeded, exactly, and nothing never written. The
//! call in flight at the kill may have happened or not, but whole or not at all.

use crate::call::{call, describe_answer, Answer, Op};
use crate::fixture::Storage;
use crate::show;
use proptest::prelude::RngExt;
use proptest::test_runner::TestRng;
use std::collections::BTreeMap;
use std::time::Duration;
use tokenstore_core::{Token, TokenStore};

/// What a series of kills found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Survived {
    /// Processes killed, each in the middle of its writes.
    pub kills: usize,
    /// Writes acknowledged before the kills, all of them checked afterwards.
    pub acknowledged: usize,
    /// Acknowledged tokens missing or altered after a kill (a store that passes has 0).
    pub lost: usize,
}

/// One write of the killed process.
#[derive(Clone, Debug)]
enum Write {
    Insert(Token),
    Update(Token),
    Delete(String),
}

/// What a message of [`survive_kills`] holds when a store could not be opened on the storage:
/// the opening is `store.reopens`' matter (a store killed mid-write that leaves storage no
/// store opens fails this tier when `store.reopens` holds in its own check).
pub const OPENING_FAILED: &str = "the storage does not open: ";

/// How the failure of the `get_tokens` that reads what survived a kill reads, after the kill.
pub const LISTING_FAILED: &str = "get_tokens() = Err(";

/// The tokens by user name, as the writes acknowledged so far left them.
type Expected = BTreeMap<String, Token>;

/// Kill moments and write choices, the same for the same seed.
struct Dice(TestRng);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0.random_range(0..below.max(1))
    }
}

/// The most tokens the writes keep stored, so that every kill's check stays small.
const MOST_TOKENS: usize = 100;

fn next_write(expected: &Expected, dice: &mut Dice, n: usize) -> Write {
    let users: Vec<&Token> = expected.values().collect();
    let roll = match users.len() {
        0 => 0,
        len if len >= MOST_TOKENS => 6 + dice.roll(4),
        _ => dice.roll(10),
    };
    match roll {
        0..=5 => Write::Insert(Token {
            user_name: Some(format!("user-{n}")),
            refresh_token: Some(format!("refresh-{n}")),
            access_token: Some(format!("access-{n}")),
            expiry_time: Some(format!("{}", 1_700_000_000_000u64 + n as u64)),
            ..Token::default()
        }),
        6..=8 => {
            let target = users[dice.roll(users.len() as u64) as usize];
            Write::Update(Token {
                user_name: target.user_name.clone(),
                access_token: Some(format!("access-{n}")),
                expiry_time: Some(format!("{}", 1_800_000_000_000u64 + n as u64)),
                ..Token::default()
            })
        }
        _ => {
            let target = users[dice.roll(users.len() as u64) as usize];
            Write::Delete(target.id.clone().unwrap_or_default())
        }
    }
}

/// Applies `write` to `out`, with the id the store gave an insert.
fn apply_to(out: &mut Expected, write: &Write, id: Option<String>) {
    match write {
        Write::Insert(t) => {
            let user = t.user_name.clone().unwrap_or_default();
            out.insert(user, Token { id, ..t.clone() });
        }
        Write::Update(t) => {
            let user = t.user_name.clone().unwrap_or_default();
            if let Some(stored) = out.get_mut(&user) {
                *stored = t.merged_over(stored);
            }
        }
        Write::Delete(id) => out.retain(|_, t| t.id.as_deref() != Some(id.as_str())),
    }
}

/// Makes `write`; the id of the token it inserted (an insert's), or why it failed.
async fn apply(store: &dyn TokenStore, write: &Write) -> Result<Option<String>, String> {
    let op = match write {
        Write::Insert(t) | Write::Update(t) => Op::Save(t.clone()),
        Write::Delete(id) => Op::Delete(id.clone()),
    };
    match (call(store, &op).await, write) {
        (Answer::Saved(None), Write::Insert(t)) => {
            // A store that does not write the id back (rule save.id-written-back) is judged
            // on what it keeps: the id it stored is the one a lookup by user name gives.
            let probe = Token {
                user_name: t.user_name.clone(),
                ..Token::default()
            };
            match call(store, &Op::Find(probe)).await {
                Answer::Found(found) => Ok(found.and_then(|f| f.id)),
                other => Err(describe_answer(&other)),
            }
        }
        (Answer::Saved(id), _) => Ok(id),
        (Answer::Done, _) => Ok(None),
        (other, _) => Err(describe_answer(&other)),
    }
}

/// The most writes a process makes before the one it is killed in.
const WRITES_BEFORE_KILL: u64 = 8;

/// Tokens saved before the first kill, by a store that is not killed: a store that rewrites
/// all it holds at every write is then killed in writes of a realistic size, not of a few bytes.
/// A store that refuses one of these saves is killed holding what it held then.
const HELD_BEFORE_KILLS: usize = 48;

/// Saves [`HELD_BEFORE_KILLS`] tokens, then kills `kills` writing processes on `storage`, one
/// after another, and checks the storage after each. Each process is killed inside a write:
/// the killer starts when a write chosen at random (one of the first [`WRITES_BEFORE_KILL`]) is
/// sent, and strikes after a random delay of up to twice the mean time of the writes
/// acknowledged so far (at most `max_delay`), so that the kills meet writes half done, not
/// processes idle between them.
pub async fn survive_kills(
    storage: &dyn Storage,
    kills: usize,
    max_delay: Duration,
    seed: u64,
) -> Result<Survived, String> {
    let mut dice = Dice(crate::seed::seeded_rng(seed));
    let mut expected = Expected::new();
    let mut survived = Survived::default();
    let mut n = 0;
    let mut write_time = WriteTime::default();
    let first = storage
        .open(crate::MAIN_NAMESPACE)
        .await
        .map_err(|e| format!("before the kills: {OPENING_FAILED}{e}"))?;
    while expected.len() < HELD_BEFORE_KILLS {
        n += 1;
        let write = next_write(&Expected::new(), &mut dice, n);
        match apply(&*first, &write).await {
            Ok(id) => apply_to(&mut expected, &write, id),
            Err(_) => {
                // A store that refuses a save before any kill (ids it cannot tell apart, say)
                // is judged for that by the rules of saves; the kills go on from what it holds,
                // the refused save landed or not.
                let held = first
                    .get_tokens()
                    .await
                    .map_err(|e| format!("before the kills: {LISTING_FAILED}{e})"))?;
                expected = judge(&expected, Some(&write), &held)
                    .map_err(|why| format!("before the kills, after a refused save: {why}"))?;
                break;
            }
        }
    }
    drop(first);
    let held_before = expected.len();
    for kill in 0..kills {
        let writer = storage
            .spawn(crate::MAIN_NAMESPACE)
            .await
            .map_err(|e| format!("starting writer process {}: {e}", kill + 1))?;
        let doomed = dice.roll(WRITES_BEFORE_KILL);
        let mut sigkill = Some(writer.killer());
        let mut killer = None;
        let mut made = 0;
        let in_flight = loop {
            n += 1;
            let write = next_write(&expected, &mut dice, n);
            if made == doomed {
                let window = (write_time.mean() * 2).min(max_delay).as_micros() as u64;
                let delay = Duration::from_micros(dice.roll(window + 1));
                let sigkill = sigkill.take().expect("one kill per process");
                // The killer is a thread of its own: calls to a process may block the task that
                // makes them until they are answered.
                killer = Some(std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    sigkill();
                }));
            }
            made += 1;
            let started = std::time::Instant::now();
            match apply(&*writer.store, &write).await {
                Ok(id) => {
                    write_time.add(started.elapsed());
                    apply_to(&mut expected, &write, id);
                    survived.acknowledged += 1;
                }
                Err(_) => break write,
            }
        };
        if let Some(killer) = killer {
            killer
                .join()
                .map_err(|_| "the killer thread panicked".to_owned())?;
        } else if let Some(sigkill) = sigkill {
            // A write failed before the doomed one was sent: the process dies now.
            sigkill();
        }
        drop(writer);
        survived.kills += 1;
        let reader = storage
            .open(crate::MAIN_NAMESPACE)
            .await
            .map_err(|e| format!("after kill {}: {OPENING_FAILED}{e}", kill + 1))?;
        let held = reader
            .get_tokens()
            .await
            .map_err(|e| format!("after kill {}: {LISTING_FAILED}{e})", kill + 1))?;
        match judge(&expected, Some(&in_flight), &held) {
            Ok(now) => expected = now,
            Err(why) => {
                survived.lost += 1;
                return Err(format!(
                    "after kill {} ({} tokens saved before the first kill by a store not killed, then {} writes acknowledged by the killed processes): {why}",
                    kill + 1,
                    held_before,
                    survived.acknowledged
                ));
            }
        }
    }
    Ok(survived)
}

/// The mean time of the acknowledged writes so far (1 ms before the first).
#[derive(Default)]
struct WriteTime {
    total: Duration,
    writes: u32,
}

impl WriteTime {
    fn add(&mut self, took: Duration) {
        self.total += took;
        self.writes += 1;
    }

    fn mean(&self) -> Duration {
        if self.writes == 0 {
            Duration::from_millis(1)
        } else {
            self.total / self.writes
        }
    }
}

/// What the storage holds after a kill, if it is what the acknowledged writes left, with or
/// without the one in flight; else what is wrong.
fn judge(
    expected: &Expected,
    in_flight: Option<&Write>,
    held: &[Token],
) -> Result<Expected, String> {
    let mut by_user = Expected::new();
    for t in held {
        let user = t.user_name.clone().unwrap_or_default();
        // How a store spells an absent value is rule token.absent-empty's business.
        if by_user.insert(user, t.clone().normalized()).is_some() {
            return Err(format!(
                "two stored tokens for one user: {}",
                show::token(t)
            ));
        }
    }
    if &by_user == expected {
        return Ok(by_user);
    }
    if let Some(write) = in_flight {
        let inserted_id = match write {
            Write::Insert(t) => by_user
                .get(t.user_name.as_deref().unwrap_or_default())
                .and_then(|stored| stored.id.clone()),
            _ => None,
        };
        let mut landed = expected.clone();
        apply_to(&mut landed, write, inserted_id);
        if by_user == landed {
            return Ok(by_user);
        }
    }
    let lost: Vec<String> = expected
        .iter()
        .filter(|(user, t)| by_user.get(*user) != Some(t))
        .map(|(_, t)| show::token(t))
        .collect();
    let extra: Vec<String> = by_user
        .iter()
        .filter(|(user, _)| !expected.contains_key(*user))
        .map(|(_, t)| show::token(t))
        .collect();
    Err(format!(
        "the storage holds {} tokens, want {} (the call in flight may land or not); acknowledged but missing or altered: [{}]; never acknowledged: [{}]",
        held.len(),
        expected.len(),
        lost.join(", "),
        extra.join(", ")
    ))
}
