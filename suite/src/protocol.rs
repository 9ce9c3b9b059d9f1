//! The harness's side of the adapter protocol (`specs/adapter-protocol.md`): a child process
//! that fronts a store (an adapter, or `tokenstore-check serve`), its stores as [`TokenStore`]s,
//! and [`ProcessStore`], a store in another process the processes and crash tiers drive.
//!
//! Requests are written as JSON lines; a reader thread hands each response to the request with
//! its `seq`, which waits for at most the timeout. A protocol 2 adapter may have several requests
//! in flight (the concurrency tier's clients call at once) and answers them in any order; a
//! protocol 1 adapter gets one request at a time. A child that hangs, exits or writes anything
//! that is not a response is killed and reported with the tail of its stderr, and every later
//! call fails with that report, so a broken adapter fails the run instead of hanging it.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};

/// How long an adapter may take to answer one request, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const STDERR_LINES: usize = 20;

/// A running adapter process. Requests are written under a lock and answered through the
/// reader thread, which hands each response to the request with its `seq`: a protocol 2 adapter
/// may have several requests in flight and answer them in any order; a protocol 1 adapter is
/// sent one request at a time.
pub(crate) struct Process {
    command: String,
    child: Mutex<Child>,
    pid: u32,
    stdin: Mutex<ChildStdin>,
    /// Requests sent and not yet answered, by seq.
    pending: Arc<Mutex<Pending>>,
    pub(crate) stderr: Arc<Mutex<VecDeque<String>>>,
    /// The thread that reads the child's stderr into `stderr`, until the pipe closes.
    stderr_reader: Mutex<Option<std::thread::JoinHandle<()>>>,
    seq: AtomicU64,
    timeout: Duration,
    /// Whether requests may overlap (the adapter speaks protocol 2); else they take turns.
    overlapping: AtomicBool,
    turn: Mutex<()>,
    /// Why the adapter can no longer be used, once it broke.
    broken: Mutex<Option<String>>,
    /// What the adapter saw the store do that its answers cannot say (a `findings` member of a
    /// response): rule and message, until a check takes them.
    pub(crate) findings: Mutex<Vec<(&'static str, String)>>,
}

/// What the reader thread hands a waiting request: its response, or why none can come.
type Delivery = Result<Value, Unanswered>;

/// The requests in flight: seq, and where to deliver the response.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u64, mpsc::Sender<Delivery>>,
    /// Set once the adapter's stdout broke: every later request gets it at once.
    closed: Option<Unanswered>,
}

/// Why a request got no response.
#[derive(Clone, Debug)]
enum Unanswered {
    /// The adapter closed its stdout (it exited).
    Exited,
    /// It wrote a line that is not a JSON response.
    NotJson(String),
    /// It answered a seq no request in flight has.
    WrongSeq(Value),
}

impl Pending {
    /// Fails every request in flight, and every later one, with `why`.
    fn close(&mut self, why: Unanswered) {
        for (_, waiter) in self.waiting.drain() {
            let _ = waiter.send(Err(why.clone()));
        }
        self.closed.get_or_insert(why);
    }
}

/// An error answer of the adapter, or the adapter's failure.
pub(crate) enum CallError {
    Answer {
        kind: String,
        message: String,
        field: Option<String>,
        /// The rule the store broke, when the adapter could not prepare storage (`reset`).
        rule: Option<String>,
    },
    Broken(String),
}

/// Reads the adapter's responses and hands each to the request with its seq.
fn route_responses(stdout: ChildStdout, pending: Arc<Mutex<Pending>>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let value: Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(_) => {
                pending
                    .lock()
                    .expect("not poisoned")
                    .close(Unanswered::NotJson(line));
                return;
            }
        };
        let mut pending = pending.lock().expect("not poisoned");
        let waiter = value["seq"]
            .as_u64()
            .and_then(|seq| pending.waiting.remove(&seq));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(Ok(value));
            }
            None => {
                pending.close(Unanswered::WrongSeq(value["seq"].clone()));
                return;
            }
        }
    }
    pending
        .lock()
        .expect("not poisoned")
        .close(Unanswered::Exited);
}

impl Process {
    pub(crate) fn spawn(command: &[String], timeout: Duration) -> Result<Process, String> {
        let (program, args) = command
            .split_first()
            .ok_or("the adapter command is empty")?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the adapter {program:?}: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let pending = Arc::new(Mutex::new(Pending::default()));
        let routed = pending.clone();
        std::thread::spawn(move || route_responses(stdout, routed));
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let keep = tail.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut tail = keep.lock().expect("not poisoned");
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Process {
            command: command.join(" "),
            pid: child.id(),
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            pending,
            stderr: tail,
            stderr_reader: Mutex::new(Some(stderr_reader)),
            seq: AtomicU64::new(0),
            timeout,
            overlapping: AtomicBool::new(false),
            turn: Mutex::new(()),
            broken: Mutex::new(None),
            findings: Mutex::new(Vec::new()),
        })
    }

    fn broken(&self) -> Option<String> {
        self.broken.lock().expect("not poisoned").clone()
    }

    /// Sends one request and waits for its answer, at most the timeout.
    pub(crate) fn call(&self, op: &str, mut request: Value) -> Result<Value, CallError> {
        let _turn = (!self.overlapping.load(Ordering::SeqCst))
            .then(|| self.turn.lock().expect("not poisoned"));
        if let Some(why) = self.broken() {
            return Err(CallError::Broken(why));
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        request["seq"] = json!(seq);
        request["op"] = json!(op);
        let (send, answer) = mpsc::channel();
        {
            let mut pending = self.pending.lock().expect("not poisoned");
            match &pending.closed {
                Some(why) => {
                    let _ = send.send(Err(why.clone()));
                }
                None => {
                    pending.waiting.insert(seq, send);
                }
            }
        }
        let written = {
            let mut stdin = self.stdin.lock().expect("not poisoned");
            writeln!(stdin, "{request}").and_then(|()| stdin.flush())
        };
        let answer = match written {
            Err(e) => Err(format!("cannot send {op}: {e}")),
            Ok(()) => match answer.recv_timeout(self.timeout) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(Unanswered::Exited)) | Err(RecvTimeoutError::Disconnected) => Err(format!(
                    "exited before answering {op}{}",
                    self.exit_status()
                )),
                Ok(Err(Unanswered::NotJson(line))) => Err(format!(
                    "answered {op} with a line that is not JSON: {}",
                    crate::show::value(&line)
                )),
                Ok(Err(Unanswered::WrongSeq(got))) => {
                    Err(format!("answered {op} with seq {got} instead of {seq}"))
                }
                Err(RecvTimeoutError::Timeout) => Err(format!(
                    "did not answer {op} within {} s",
                    self.timeout.as_secs_f32()
                )),
            },
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(why) => return Err(CallError::Broken(self.break_with(why))),
        };
        self.keep_findings(&answer);
        if let Some(error) = answer.get("error") {
            let text = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
            return Err(CallError::Answer {
                kind: text("kind").unwrap_or_else(|| "other".into()),
                message: text("message").unwrap_or_default(),
                field: text("field"),
                rule: text("rule"),
            });
        }
        match answer.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(CallError::Broken(self.break_with(format!(
                "answered {op} with neither ok nor error: {answer}"
            )))),
        }
    }

    /// Keeps the findings a response carries: `[{"rule": RULE, "message": TEXT}]`. A finding of
    /// a rule the spec does not have is the adapter's mistake: it is logged and left out.
    fn keep_findings(&self, answer: &Value) {
        for finding in answer["findings"].as_array().into_iter().flatten() {
            let rule = finding["rule"].as_str().unwrap_or_default();
            let message = finding["message"].as_str().unwrap_or_default().to_owned();
            match crate::rules::rule(rule) {
                Some(rule) => self
                    .findings
                    .lock()
                    .expect("not poisoned")
                    .push((rule.id.as_str(), message)),
                None => eprintln!(
                    "adapter `{}` reported a finding of {rule:?}, which is not a rule: {message}",
                    self.command
                ),
            }
        }
    }

    /// The adapter process's id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// How many sockets the adapter process holds open (its connections to servers, TCP or
    /// Unix), read from `/proc/PID/fd`; `None` where `/proc` cannot tell (not Linux).
    pub(crate) fn sockets(&self) -> Option<usize> {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid)).ok()?;
        Some(
            fds.filter_map(Result::ok)
                .filter(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|link| link.to_string_lossy().starts_with("socket:"))
                })
                .count(),
        )
    }

    /// Kills the child and records why, with the tail of its stderr. The first reason stays.
    fn break_with(&self, why: String) -> String {
        {
            let mut child = self.child.lock().expect("not poisoned");
            let _ = child.kill();
            let _ = child.wait();
        }
        // The child is gone: its stderr reader reaches the pipe's end once it has read what the
        // child wrote last (unless a process the child started holds the pipe: then at most
        // half a second is waited).
        if let Some(reader) = self.stderr_reader.lock().expect("not poisoned").take() {
            for _ in 0..50 {
                if reader.is_finished() {
                    let _ = reader.join();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let tail: Vec<String> = self
            .stderr
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect();
        let tail = if tail.is_empty() {
            "(empty)".to_owned()
        } else {
            tail.join(" | ")
        };
        let report = format!("adapter `{}` {why}; its stderr ends: {tail}", self.command);
        self.broken
            .lock()
            .expect("not poisoned")
            .get_or_insert(report)
            .clone()
    }

    /// The exit status of a child that closed its stdout, waiting up to a second for it.
    fn exit_status(&self) -> String {
        for _ in 0..50 {
            if let Ok(Some(status)) = self.child.lock().expect("not poisoned").try_wait() {
                return format!(" ({status})");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        String::new()
    }

    /// The exit code of a child that has exited, if it has.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.child
            .lock()
            .expect("not poisoned")
            .try_wait()
            .ok()
            .flatten()
            .and_then(|s| s.code())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let child = self.child.get_mut().expect("not poisoned");
        if self.broken.get_mut().expect("not poisoned").is_none() {
            let stdin = self.stdin.get_mut().expect("not poisoned");
            let seq = self.seq.load(Ordering::SeqCst) + 1;
            let _ = writeln!(stdin, "{}", json!({"seq": seq, "op": "shutdown"}));
            let _ = stdin.flush();
            for _ in 0..20 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

pub(crate) type Shared = Arc<Process>;

/// Runs `work`, which waits on a child process (for at most the timeout), telling a
/// multi-threaded runtime that this thread blocks, so other tasks move to other workers meanwhile.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The hello request: the protocol, and how long the harness waits for an answer (an adapter may
/// answer a call that never settles as an error just before that).
pub(crate) fn hello_request(timeout: Duration) -> Value {
    json!({"protocol": PROTOCOL, "timeout_ms": timeout.as_millis() as u64})
}

/// The newest protocol this harness speaks; it speaks every older one too.
const PROTOCOL: u64 = 2;

/// Checks the protocol the adapter's hello names, and lets requests overlap from then on when
/// it is 2: the adapter answers them in any order.
pub(crate) fn agree_protocol(process: &Process, hello: &Value) -> Result<u64, String> {
    match hello.get("protocol").and_then(Value::as_u64) {
        Some(version @ 1..=PROTOCOL) => {
            process.overlapping.store(version >= 2, Ordering::SeqCst);
            Ok(version)
        }
        other => Err(format!(
            "the adapter speaks protocol {other:?}; this tokenstore-check speaks 1 and 2"
        )),
    }
}

/// Runs one call to the adapter.
pub(crate) async fn call(
    process: &Shared,
    op: &'static str,
    request: Value,
) -> Result<Value, CallError> {
    blocking(|| process.call(op, request))
}

pub(crate) fn store_error(e: CallError, id: Option<&str>) -> StoreError {
    match e {
        CallError::Broken(why) => StoreError::Backend {
            message: why,
            source: None,
        },
        CallError::Answer {
            kind,
            message,
            field,
            ..
        } => match kind.as_str() {
            "NotFound" => StoreError::NotFound {
                id: id.unwrap_or_default().to_owned(),
            },
            "Conflict" => StoreError::Conflict(message),
            "refused" => StoreError::Refused { message },
            "InvalidToken" => {
                match field.and_then(|f| Field::ALL.into_iter().find(|x| x.name() == f)) {
                    Some(field) => StoreError::invalid(field, message),
                    // The spec's refusal names the field; one that does not is just an error.
                    None => StoreError::Backend {
                        message: format!("InvalidToken naming no field: {message}"),
                        source: None,
                    },
                }
            }
            _ => StoreError::Backend {
                message: format!("the store raised: {message}"),
                source: None,
            },
        },
    }
}

/// The limits an adapter declares in its hello: `{"max_chars": {"user_name": 255, ...},
/// "forbidden_chars": ["\u0000", ...]}`, both optional. They live as long as the run.
pub(crate) fn declared_limits(declared: &Value) -> Result<Limits, String> {
    let mut max_chars = Vec::new();
    if let Some(fields) = declared["max_chars"].as_object() {
        for (name, max) in fields {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    format!("the adapter declares a limit for {name:?}, which is not a token field")
                })?;
            let max = max.as_u64().ok_or_else(|| {
                format!("the adapter's limit for {name} is {max}, not a number of characters")
            })?;
            max_chars.push((field, max as usize));
        }
    }
    let mut forbidden_chars = Vec::new();
    for c in declared["forbidden_chars"].as_array().into_iter().flatten() {
        let mut chars = c.as_str().unwrap_or_default().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => {
                let name: &'static str = format!("the character U+{:04X}", c as u32).leak();
                forbidden_chars.push((c, name));
            }
            _ => {
                return Err(format!(
                    "the adapter declares {c} forbidden: want one character per string"
                ))
            }
        }
    }
    Ok(Limits {
        max_chars: max_chars.leak(),
        forbidden_chars: forbidden_chars.leak(),
    })
}

/// A store opened by another process on a storage: what the processes and crash tiers drive.
/// The process is stopped when this is dropped, or killed with SIGKILL by [`ProcessStore::kill`].
pub struct ProcessStore {
    pub store: Arc<dyn TokenStore>,
    pid: u32,
    /// Keeps the process alive as long as the store is used.
    _process: Shared,
}

impl ProcessStore {
    /// Starts `command` (an adapter, or `tokenstore-check serve`), shakes hands, attaches it to
    /// the storage in `dir` (or to the storage it is configured with, when `None`), and opens
    /// `namespace` there.
    pub async fn start(
        command: &[String],
        dir: Option<&Path>,
        namespace: &str,
        timeout: Duration,
    ) -> Result<ProcessStore, StoreError> {
        blocking(|| Self::start_blocking(command, dir, namespace, timeout))
    }

    /// Takes a started process of `spares`, attaches it to the storage in `dir` (or to the
    /// storage it is configured with, when `None`), and opens `namespace` there.
    pub async fn start_spare(
        spares: &Spares,
        dir: Option<&Path>,
        namespace: &str,
    ) -> Result<ProcessStore, StoreError> {
        blocking(|| Self::attached(spares.take()?, dir, namespace))
    }

    fn start_blocking(
        command: &[String],
        dir: Option<&Path>,
        namespace: &str,
        timeout: Duration,
    ) -> Result<ProcessStore, StoreError> {
        Self::attached(started(command, timeout)?, dir, namespace)
    }

    fn attached(
        process: Process,
        dir: Option<&Path>,
        namespace: &str,
    ) -> Result<ProcessStore, StoreError> {
        let pid = process.pid;
        process
            .call("attach", json!({"dir": dir}))
            .map_err(|e| store_error(e, None))?;
        let opened = process
            .call("reopen", json!({"namespace": namespace}))
            .map_err(|e| store_error(e, None))?;
        let process = Arc::new(process);
        Ok(ProcessStore {
            store: Arc::new(AdapterStore {
                process: process.clone(),
                handle: opened["store"].clone(),
            }),
            pid,
            _process: process,
        })
    }

    /// Kills the process with SIGKILL, at once, even while a call is in flight: that call then
    /// fails with a Backend error.
    pub fn kill(&self) {
        self.killer()();
    }

    /// A function that kills the process with SIGKILL, for another thread to call while this
    /// store is still held (so the process is not yet waited for and its pid not reused).
    pub fn killer(&self) -> impl FnOnce() + Send + 'static {
        let pid = libc::pid_t::try_from(self.pid).expect("a child's pid fits pid_t");
        move || {
            // SAFETY: kill(2) of a child this harness started and has not yet waited for.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// `command` started and through its hello, on a thread that may block: a process attached to
/// no storage yet.
pub(crate) async fn restarted(
    command: &[String],
    timeout: Duration,
) -> Result<Process, StoreError> {
    blocking(|| started(command, timeout))
}

/// `command` started and through its hello: a process attached to no storage yet.
fn started(command: &[String], timeout: Duration) -> Result<Process, StoreError> {
    let broken = |why: String| StoreError::Backend {
        message: why,
        source: None,
    };
    let process = Process::spawn(command, timeout).map_err(broken)?;
    let hello = process
        .call("hello", hello_request(timeout))
        .map_err(|e| store_error(e, None))?;
    agree_protocol(&process, &hello).map_err(broken)?;
    Ok(process)
}

/// How many processes [`Spares`] keeps starting ahead of need.
const SPARES: usize = 2;

/// Processes of one command started ahead of need, each through its hello, so that a check
/// that starts many one after another (the crash tier's writers, the processes tier's clients)
/// waits for a start only when it outpaces [`SPARES`] starts at once: a Node.js adapter that
/// loads the SDK takes more than a second to start. A spare is attached to no storage until it
/// is taken; those never taken are shut down when the `Spares` is dropped.
pub struct Spares {
    command: Vec<String>,
    timeout: Duration,
    warming: Mutex<VecDeque<std::thread::JoinHandle<Result<Process, StoreError>>>>,
}

impl Spares {
    /// Spares of `command`, none started until the first is taken.
    pub fn new(command: &[String], timeout: Duration) -> Spares {
        Spares {
            command: command.to_vec(),
            timeout,
            warming: Mutex::new(VecDeque::new()),
        }
    }

    /// A started process: the oldest spare (waiting for it to finish starting), or one started
    /// now when none is; either way [`SPARES`] more are starting when this returns.
    fn take(&self) -> Result<Process, StoreError> {
        let next = {
            let mut warming = self.warming.lock().expect("not poisoned");
            let next = warming.pop_front();
            while warming.len() < SPARES {
                let (command, timeout) = (self.command.clone(), self.timeout);
                warming.push_back(std::thread::spawn(move || started(&command, timeout)));
            }
            next
        };
        match next {
            Some(spare) => spare.join().unwrap_or_else(|_| {
                Err(StoreError::Backend {
                    message: "starting a spare adapter process panicked".into(),
                    source: None,
                })
            }),
            None => started(&self.command, self.timeout),
        }
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        for spare in self.warming.get_mut().expect("not poisoned").drain(..) {
            drop(spare.join());
        }
    }
}

/// One store instance inside the adapter.
pub(crate) struct AdapterStore {
    pub(crate) process: Shared,
    pub(crate) handle: Value,
}

impl AdapterStore {
    async fn call(
        &self,
        op: &'static str,
        mut request: Value,
        id: Option<&str>,
    ) -> Result<Value, StoreError> {
        request["store"] = self.handle.clone();
        call(&self.process, op, request)
            .await
            .map_err(|e| store_error(e, id))
    }
}

fn token_of(value: &Value) -> Result<Token, StoreError> {
    serde_json::from_value(value.clone()).map_err(|e| StoreError::Backend {
        message: format!(
            "the adapter sent a token that is not ten strings or nulls ({e}): {value}"
        ),
        source: None,
    })
}

#[async_trait]
impl TokenStore for AdapterStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        let answer = self
            .call("find_token", json!({"token": probe}), None)
            .await?;
        match &answer["found"] {
            Value::Null => Ok(None),
            found => token_of(found).map(Some),
        }
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        let answer = self
            .call("save_token", json!({"token": token}), None)
            .await?;
        token.id = token_of(&answer["caller"])?.id;
        Ok(())
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        self.call("delete_token", json!({"id": id}), Some(id))
            .await
            .map(drop)
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        let answer = self.call("get_tokens", json!({}), None).await?;
        answer
            .as_array()
            .ok_or_else(|| StoreError::Backend {
                message: format!("get_tokens answered {answer}, not a list"),
                source: None,
            })?
            .iter()
            .map(token_of)
            .collect()
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        self.call("delete_tokens", json!({}), None).await.map(drop)
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        match self
            .call("find_token_by_id", json!({"id": id}), Some(id))
            .await?
        {
            Value::Null => Err(StoreError::Backend {
                message: format!(
                    "find_token_by_id({}) returned nothing instead of raising NotFound",
                    crate::show::value(id)
                ),
                source: None,
            }),
            found => token_of(&found),
        }
    }
}
