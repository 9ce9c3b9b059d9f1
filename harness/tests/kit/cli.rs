//! tokenstore-check as a user meets it: its JSON and JUnit contracts, its exit statuses, its
//! one-line errors, and replay files.

use serde_json::Value;
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
        .args(args)
        .output()
        .expect("tokenstore-check runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains(needle), "{err:?} does not mention {needle:?}");
}

#[test]
fn json_report_has_the_ci_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&[
        "run",
        "--backend",
        "memory",
        "--backend",
        "list",
        "--cases",
        "8",
        "--seed",
        "3",
        "--format",
        "json",
        "--replay-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let stores = report["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 2);
    let rule_count = tokenstore_suite::rules::rules().len();
    for store in stores {
        assert!(store["name"].is_string());
        assert!(store["profile"].is_object());
        let rules = store["rules"].as_array().unwrap();
        assert_eq!(rules.len(), rule_count);
        for rule in rules {
            assert!(rule["id"].is_string() && rule["level"].is_string());
            assert!(["pass", "fail", "skip"].contains(&rule["status"].as_str().unwrap()));
            assert!(rule.get("message").is_some() && rule.get("repro").is_some());
        }
        let summary = &store["summary"];
        assert_eq!(summary["failed"], 0);
        let total = summary["passed"].as_u64().unwrap() + summary["skipped"].as_u64().unwrap();
        assert_eq!(total as usize, rule_count);
    }
}

#[test]
fn junit_report_has_one_testcase_per_rule_and_store() {
    let out = check(&[
        "run",
        "--backend",
        "memory",
        "--cases",
        "4",
        "--seed",
        "1",
        "--format",
        "junit",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        tokenstore_suite::rules::rules().len()
    );
    assert!(xml.contains("name=\"save.fresh-id-unique\""));
    assert!(xml.contains("<skipped"), "memory skips store.durable");
}

#[test]
fn bad_arguments_get_one_line_and_exit_2() {
    assert_one_line_error(
        &check(&["run", "--backend", "nosuch"]),
        "unknown backend \"nosuch\"",
    );
    assert_one_line_error(&check(&["run", "--cases", "many"]), "--cases");
    assert_one_line_error(&check(&["run", "--format", "xml"]), "xml");
    assert_one_line_error(&check(&["frobnicate"]), "frobnicate");
}

#[test]
fn broken_replay_files_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    assert_one_line_error(
        &check(&["replay", garbage.to_str().unwrap(), "--backend", "memory"]),
        "not a replay file",
    );
    let missing = dir.path().join("missing.json");
    assert_one_line_error(
        &check(&["replay", missing.to_str().unwrap(), "--backend", "memory"]),
        "cannot read",
    );
    let wrong_format = dir.path().join("v9.json");
    std::fs::write(&wrong_format, r#"{"format":"tokenstore-replay/9","backend":"x","rule":"r","message":"m","seed":1,"steps":[]}"#).unwrap();
    assert_one_line_error(
        &check(&[
            "replay",
            wrong_format.to_str().unwrap(),
            "--backend",
            "memory",
        ]),
        "tokenstore-replay/9",
    );
}

#[test]
fn replay_runs_saved_steps_and_reports_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seq.json");
    let steps = r#"[
        {"save": {"id": null, "fields": [["user_name", "alice"], ["refresh_token", "t1"]]}},
        {"save": {"id": null, "fields": [["user_name", "alice"], ["access_token", "t2"]]}},
        {"find_by_id": {"fresh": 0}},
        "get_tokens",
        {"delete": {"fresh": 0}},
        "reopen"
    ]"#;
    std::fs::write(&file, format!(r#"{{"format":"tokenstore-replay/1","backend":"broken","rule":"save.merge","message":"m","seed":1,"steps":{steps}}}"#)).unwrap();
    let shown = check(&[
        "replay",
        file.to_str().unwrap(),
        "--backend",
        "memory",
        "--show-secrets",
    ]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("save_token({user_name:\"alice\", access_token:\"t2\"}) = Ok, id \"1\""),
        "{text}"
    );
    for backend in ["memory", "file"] {
        let out = check(&["replay", file.to_str().unwrap(), "--backend", backend]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{backend}: {text} {}",
            stderr(&out)
        );
        assert!(text.contains("the sequence passes"), "{text}");
        assert!(
            text.contains("save_token({user_name:\"alice\", access_token:<secret "),
            "{text}"
        );
        assert!(!text.contains("\"t2\""), "a secret printed in full: {text}");
    }
    assert_one_line_error(
        &check(&["replay", file.to_str().unwrap(), "--backend", "nosuch"]),
        "unknown backend",
    );
}

/// `--version` names the kit's version and the spec's, and CHANGELOG.md has an entry for that
/// spec version, naming every rule added or made stricter in it.
#[test]
fn version_names_the_kit_and_the_spec() {
    let out = check(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let spec = tokenstore_suite::rules::spec_version();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!(
            "tokenstore-check {} (spec {spec})",
            env!("CARGO_PKG_VERSION")
        )
    );
    let changelog = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../CHANGELOG.md"),
    )
    .unwrap();
    assert!(changelog.contains(&format!("spec {spec}")), "{changelog}");
    for rule in tokenstore_suite::rules::rules()
        .iter()
        .filter(|r| r.since > 1)
    {
        let entry = changelog
            .split("\n## ")
            .find(|section| {
                section
                    .lines()
                    .next()
                    .unwrap()
                    .ends_with(&format!("spec {}", rule.since))
            })
            .unwrap_or_else(|| panic!("CHANGELOG.md has no section for spec {}", rule.since));
        assert!(
            entry.contains(&format!("`{}`", rule.id)),
            "CHANGELOG.md's spec {} section does not name {}",
            rule.since,
            rule.id
        );
    }
}

#[test]
fn rules_command_prints_the_table() {
    let out = check(&["rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rules.as_array().unwrap().len(),
        tokenstore_suite::rules::rules().len()
    );
    let human = String::from_utf8(check(&["rules"]).stdout).unwrap();
    assert!(
        human.contains("find.grant-refresh-fallback") && human.contains("fallback | no-fallback")
    );
}

#[test]
fn missing_server_is_skipped_with_a_hint_unless_required() {
    let run = |require: &str| {
        Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
            .args([
                "run",
                "--backend",
                "mysql",
                "--format",
                "json",
                "--cases",
                "1",
            ])
            .env_remove("TOKENSTORE_MYSQL_URL")
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("TOKENSTORE_REQUIRE", require)
            .output()
            .unwrap()
    };
    let skipped = run("");
    assert_eq!(skipped.status.code(), Some(0), "{}", stderr(&skipped));
    let report: Value = serde_json::from_slice(&skipped.stdout).unwrap();
    let store = &report["stores"][0];
    assert_eq!(
        store["summary"]["skipped"].as_u64().unwrap() as usize,
        tokenstore_suite::rules::rules().len()
    );
    let message = store["rules"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("set TOKENSTORE_MYSQL_URL=") && message.contains("Docker"),
        "{message}"
    );

    let required = run("redis,mysql");
    assert_eq!(required.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&required.stdout).unwrap();
    assert_eq!(
        report["stores"][0]["summary"]["failed"].as_u64().unwrap() as usize,
        tokenstore_suite::rules::rules().len()
    );
}

#[test]
fn diff_reports_the_first_divergence_between_two_stores() {
    // memory reports NotFound for a missing id, list is silent: they must diverge there.
    let out = check(&[
        "diff",
        "--backend",
        "memory",
        "--backend",
        "list",
        "--cases",
        "200",
        "--seed",
        "4",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text} {}", stderr(&out));
    assert!(text.contains("memory and list diverge at step"), "{text}");
    assert!(
        text.contains("memory: delete_token(") && text.contains("Err(NotFound)"),
        "{text}"
    );
    // list and sqlite made the same choices: no divergence.
    let same = check(&[
        "diff",
        "--backend",
        "list",
        "--backend",
        "sqlite-memory",
        "--cases",
        "100",
        "--seed",
        "4",
    ]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert_one_line_error(
        &check(&["diff", "--backend", "memory"]),
        "exactly two stores",
    );
}

#[test]
fn baseline_gates_on_new_and_stale_failures() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adapters/misbehaving.py");
    let adapter = [
        "--adapter-timeout",
        "0.5",
        "--allow-destructive",
        "--adapter",
        "--",
        "python3",
        script.to_str().unwrap(),
        "garbage",
    ];
    let written = dir.path().join("baseline.json");
    let mut args = vec![
        "run",
        "--cases",
        "2",
        "--format",
        "json",
        "--write-baseline",
        written.to_str().unwrap(),
    ];
    args.extend(adapter);
    let first = check(&args);
    assert_eq!(
        first.status.code(),
        Some(1),
        "every rule fails: {}",
        stderr(&first)
    );
    let baseline: Value =
        serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    assert_eq!(
        baseline["known_failures"].as_array().unwrap().len(),
        tokenstore_suite::rules::rules().len()
    );

    // The same failures against that baseline: nothing new, nothing stale.
    let mut gated = vec![
        "run",
        "--cases",
        "2",
        "--format",
        "json",
        "--baseline",
        written.to_str().unwrap(),
    ];
    gated.extend(adapter);
    let again = check(&gated);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));

    // A baseline that lists a failure of memory, which passes: stale, so the run fails.
    let stale = dir.path().join("stale.json");
    std::fs::write(&stale, r#"{"format":"tokenstore-baseline/1","known_failures":[{"store":"memory","rule":"save.merge"}]}"#).unwrap();
    let out = check(&[
        "run",
        "--backend",
        "memory",
        "--cases",
        "2",
        "--format",
        "json",
        "--baseline",
        stale.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("STALE entry, now passes: memory save.merge"),
        "{}",
        stderr(&out)
    );

    // An empty baseline against the failing adapter: every failure is new.
    let empty = dir.path().join("empty.json");
    std::fs::write(
        &empty,
        r#"{"format":"tokenstore-baseline/1","known_failures":[]}"#,
    )
    .unwrap();
    let mut args = vec![
        "run",
        "--cases",
        "2",
        "--format",
        "json",
        "--baseline",
        empty.to_str().unwrap(),
    ];
    args.extend(adapter);
    let out = check(&args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("NEW failure: misbehaving-garbage"),
        "{}",
        stderr(&out)
    );

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "[]").unwrap();
    assert_one_line_error(
        &check(&["run", "--baseline", broken.to_str().unwrap()]),
        "not a baseline file",
    );
}

#[test]
fn bench_writes_json_and_charts_with_the_floor_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&[
        "bench",
        "--backend",
        "memory",
        "--backend",
        "list",
        "--sizes",
        "100,300",
        "--samples",
        "30",
        "--budget",
        "0.2",
        "--format",
        "json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bench.json")).unwrap()).unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(
        results.len(),
        2 * 2 * 9,
        "two backends, two sizes, nine operations"
    );
    for r in results {
        for key in ["backend", "op", "size", "p50_ns", "p99_ns", "floor_p50_ns"] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert!(r["p99_ns"].as_u64() >= r["p50_ns"].as_u64());
    }
    let memory_find = results
        .iter()
        .find(|r| r["backend"] == "memory" && r["op"] == "find_token/user_name")
        .unwrap();
    assert!(
        memory_find["floor_p50_ns"].as_u64().is_some(),
        "memory has a HashMap floor"
    );
    let list_find = results
        .iter()
        .find(|r| r["backend"] == "list" && r["op"] == "find_token/user_name")
        .unwrap();
    assert!(list_find["floor_p50_ns"].is_null(), "list has no floor");
    let svg = std::fs::read_to_string(dir.path().join("find_token-user_name.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("memory") && svg.contains("list"));
    assert_one_line_error(
        &check(&["bench", "--backend", "sqlite-memory"]),
        "cannot benchmark",
    );
    assert_one_line_error(&check(&["bench", "--sizes", "10,x"]), "--sizes");
}

/// Whether the URL variable of the server backend `backend` is set; when not, the test is
/// skipped with a line on stderr, unless `TOKENSTORE_REQUIRE` names the backend.
fn server_is_set(backend: &str) -> bool {
    let server = tokenstore_backends::server(backend).unwrap();
    if std::env::var(server.url_variable()).is_ok() {
        return true;
    }
    assert!(
        !tokenstore_suite::required(backend),
        "TOKENSTORE_REQUIRE names {backend}, but {} is not set",
        server.url_variable()
    );
    eprintln!("{backend}: skipped: {} is not set", server.url_variable());
    false
}

/// `--with FILE` lists and charts an earlier run's results beside this run's, and a file that is
/// not a bench.json is refused in one line before anything is measured.
#[test]
fn bench_draws_an_earlier_run_beside_this_one() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bench = |backend: &str, out: &std::path::Path, with: Option<&std::path::Path>| {
        let mut args = vec![
            "bench".to_owned(),
            "--backend".into(),
            backend.into(),
            "--sizes".into(),
            "100".into(),
            "--samples".into(),
            "20".into(),
            "--budget".into(),
            "0.1".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        if let Some(with) = with {
            args.extend(["--with".into(), with.to_str().unwrap().into()]);
        }
        check(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let earlier = bench("memory", first.path(), None);
    assert_eq!(earlier.status.code(), Some(0), "{}", stderr(&earlier));
    let both = bench(
        "list",
        second.path(),
        Some(&first.path().join("bench.json")),
    );
    assert_eq!(both.status.code(), Some(0), "{}", stderr(&both));
    let results: Vec<Value> =
        serde_json::from_slice(&std::fs::read(second.path().join("bench.json")).unwrap()).unwrap();
    let mut backends: Vec<&str> = results
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    backends.dedup();
    assert_eq!(backends, ["list", "memory"]);
    assert_eq!(results.len(), 2 * 9);
    let svg = std::fs::read_to_string(second.path().join("find_token-user_name.svg")).unwrap();
    assert!(svg.contains("memory") && svg.contains("list"));
    let table = String::from_utf8_lossy(&both.stdout);
    assert!(table.lines().any(|l| l.starts_with("memory ")), "{table}");

    let not_a_run = second.path().join("find_token-user_name.svg");
    let refused = bench("list", first.path(), Some(&not_a_run));
    assert_one_line_error(
        &refused,
        "is not the bench.json of a tokenstore-check bench run",
    );
    let missing = bench("list", first.path(), Some(&second.path().join("none.json")));
    assert_one_line_error(&missing, "cannot read");
}

/// A server backend's lookups and update are measured beside the server's own client when it is
/// installed (its name, its mean latency; nothing for the other operations), and its lookups
/// beside the driver's bare round trip.
#[rstest::rstest]
fn bench_measures_the_servers_own_client_beside_a_server_backend(
    #[values("mysql", "redis", "postgres")] backend: &str,
) {
    if !server_is_set(backend) {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = check(&[
        "bench",
        "--backend",
        backend,
        "--sizes",
        "200",
        "--samples",
        "20",
        "--budget",
        "0.1",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let results: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    let tool = match backend {
        "mysql" => "/usr/bin/mysqlslap",
        "redis" => "/usr/bin/redis-benchmark",
        _ => "/usr/bin/pgbench",
    };
    for r in &results {
        let op = r["op"].as_str().unwrap();
        let lookup = op.starts_with("find_token");
        let update = op == "save_token/update" || op == "save_token/refresh";
        let native = lookup || update;
        if native && std::path::Path::new(tool).exists() {
            assert!(tool.ends_with(r["native_tool"].as_str().unwrap()), "{r}");
            assert!(r["native_mean_ns"].as_u64().unwrap() > 0, "{r}");
        } else if !native {
            assert!(r["native_mean_ns"].is_null(), "{r}");
        }
        // The floor's work (a lookup, or the bare write an update is measured beside) and the
        // driver's bare round trip, timed between the store's calls; nothing for the others.
        let floored = lookup || update;
        for field in ["floor_p50_ns", "round_trip_p50_ns"] {
            assert_eq!(
                r[field].as_u64().is_some_and(|ns| ns > 0),
                floored,
                "{field}: {r}"
            );
        }
    }
}

/// Runs `tokenstore-check ARGS` with `requests` on its standard input, one per line, and returns
/// its answers; it must exit 0.
fn serve(args: &[&str], requests: &[Value]) -> Vec<Value> {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for request in requests {
        writeln!(stdin, "{request}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn serve_speaks_the_adapter_protocol_and_refuses_unknown_stores() {
    let out = check(&["serve", "--backend", "nosuch"]);
    assert_one_line_error(&out, "serve takes a built-in backend");
    let out = check(&[
        "serve",
        "--backend",
        "memory",
        "--url",
        "redis://127.0.0.1:1",
    ]);
    assert_one_line_error(&out, "--url is for a server backend");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
        .args(["serve", "--backend", "mysql"])
        .env_remove("TOKENSTORE_MYSQL_URL")
        .output()
        .unwrap();
    assert_one_line_error(&out, "needs --url URL or TOKENSTORE_MYSQL_URL");

    let dir = tempfile::tempdir().unwrap();
    let requests = [
        serde_json::json!({"seq": 1, "op": "hello", "protocol": 1}),
        serde_json::json!({"seq": 2, "op": "attach", "dir": dir.path()}),
        serde_json::json!({"seq": 3, "op": "reopen", "namespace": "main"}),
        serde_json::json!({"seq": 4, "op": "save_token", "store": 1,
            "token": {"user_name": "alice", "refresh_token": "r1"}}),
        serde_json::json!({"seq": 5, "op": "find_token_by_id", "store": 1, "id": "99"}),
        serde_json::json!({"seq": 6, "op": "get_tokens", "store": 1}),
        serde_json::json!({"seq": 7, "op": "shutdown"}),
    ];
    let answers = serve(&["serve", "--backend", "sqlite"], &requests);
    assert_eq!(answers.len(), requests.len(), "{answers:#?}");
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["seq"], i + 1, "{answer}");
    }
    assert_eq!(answers[0]["ok"]["capabilities"]["persistent"], true);
    assert_eq!(answers[3]["ok"]["caller"]["id"], "1");
    assert_eq!(answers[4]["error"]["kind"], "NotFound");
    assert_eq!(answers[5]["ok"][0]["user_name"], "alice");
    // The storage is the attached directory: a store opened there in this process sees the token.
    let store = tokenstore_sqlite::SqliteStore::open(dir.path().join("tokens.db"), "main").unwrap();
    let held = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(tokenstore_core::TokenStore::get_tokens(&store))
        .unwrap();
    assert_eq!(held.len(), 1);
}

/// `serve` of a server backend attaches to a storage by its name on the server: a token saved
/// through it is in the namespace a store opened in this process on that name sees.
#[test]
fn serve_attaches_a_server_backend_by_the_storage_name() {
    let Ok(url) = std::env::var("TOKENSTORE_REDIS_URL") else {
        assert!(
            !tokenstore_suite::required("redis"),
            "TOKENSTORE_REQUIRE names redis, but TOKENSTORE_REDIS_URL is not set"
        );
        eprintln!("skipped: TOKENSTORE_REDIS_URL is not set");
        return;
    };
    let storage = format!("tsserve{}", std::process::id());
    let requests = [
        serde_json::json!({"seq": 1, "op": "hello", "protocol": 1}),
        serde_json::json!({"seq": 2, "op": "attach", "dir": storage}),
        serde_json::json!({"seq": 3, "op": "reopen", "namespace": "main"}),
        serde_json::json!({"seq": 4, "op": "save_token", "store": 1,
            "token": {"user_name": "alice", "refresh_token": "r1"}}),
        serde_json::json!({"seq": 5, "op": "shutdown"}),
    ];
    let answers = serve(&["serve", "--backend", "redis", "--url", &url], &requests);
    assert_eq!(
        answers[0]["ok"]["capabilities"]["connections"], true,
        "{answers:#?}"
    );
    assert_eq!(answers[3]["ok"]["caller"]["id"], "1", "{answers:#?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(tokenstore_redis::RedisStore::open(
            &url,
            &format!("{storage}_main"),
        ))
        .unwrap();
    let held = rt
        .block_on(tokenstore_core::TokenStore::get_tokens(&store))
        .unwrap();
    rt.block_on(store.drop_namespace()).unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].user_name.as_deref(), Some("alice"));
}

/// `bench --load` measures each server backend's finds and saves per second at each client
/// count, beside its server's own tool on the same data (when the tool is installed) and its
/// floor through the same driver (a bare select or one-field write of the same tokens).
#[rstest::rstest]
fn bench_load_measures_the_store_beside_the_servers_own_tool(
    #[values("mysql", "redis", "postgres")] backend: &str,
) {
    if !server_is_set(backend) {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let run = check(&[
        "bench",
        "--load",
        "--backend",
        backend,
        "--sizes",
        "200",
        "--clients",
        "1,2",
        "--seconds",
        "0.3",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let results: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
    let measured: Vec<(u64, &str)> = results
        .iter()
        .map(|r| (r["clients"].as_u64().unwrap(), r["op"].as_str().unwrap()))
        .collect();
    assert_eq!(
        measured,
        [(1, "find"), (1, "save"), (2, "find"), (2, "save")]
    );
    for r in &results {
        assert!(r["per_second"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["errors"].as_u64(), Some(0), "{r}");
        if r["native_tool"].is_string() {
            assert!(r["native_per_second"].as_f64().unwrap() > 0.0, "{r}");
        }
        assert!(r["floor_per_second"].as_f64().unwrap() > 0.0, "{r}");
    }
    let tools = [
        "/usr/bin/redis-benchmark",
        "/usr/bin/pgbench",
        "/usr/bin/mysqlslap",
    ];
    if tools.iter().all(|t| std::path::Path::new(t).exists()) {
        assert!(
            results.iter().all(|r| r["native_tool"].is_string()),
            "every tool is installed, so every rate has its native one: {results:?}"
        );
    }
    assert!(out.path().join("load.json").exists());
}

/// `--python` and `--node` build the adapter command from the adapter inside the binary; their
/// flags are checked before anything starts.
#[rstest::rstest]
#[case::kwargs_without_a_store(&["run", "--kwargs", "{}"], "--kwargs is for the store of --python or --node")]
#[case::python_and_adapter(&["run", "--python", "m:C", "--adapter", "--", "x"], "cannot be used with")]
#[case::python_and_node(&["run", "--python", "m:C", "--node", "s.mjs:S"], "cannot be used with")]
fn python_and_node_flags_are_checked_before_a_run(#[case] args: &[&str], #[case] needle: &str) {
    let out = check(args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_one_line_error(&out, needle);
}

/// `--python MODULE:CLASS` finds the module from the working directory, with the adapter the
/// binary carries: no path to an adapter script.
#[test]
fn python_store_runs_by_module_and_class_from_the_working_directory() {
    let Ok(python) = std::env::var("TOKENSTORE_PYTHON") else {
        assert!(
            !tokenstore_suite::required("sdk"),
            "TOKENSTORE_REQUIRE names sdk, but TOKENSTORE_PYTHON is not set"
        );
        eprintln!("skipped: TOKENSTORE_PYTHON is not set");
        return;
    };
    let project = tempfile::tempdir().unwrap();
    let controls =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python/controls");
    std::fs::copy(
        controls.join("sqlite_store.py"),
        project.path().join("my_store.py"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstore-check"))
        .current_dir(project.path())
        .env("TOKENSTORE_PYTHON", python)
        .args([
            "run",
            "--python",
            "my_store:SqliteTokenStore",
            "--kwargs",
            r#"{"path": "{tmpdir}/tokens.db"}"#,
            "--cases",
            "16",
            "--format",
            "json",
            "--",
            "--no-threads",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let store = &report["stores"][0];
    assert_eq!(store["name"], "SqliteTokenStore");
    assert_eq!(store["summary"]["failed"], 0, "{store}");
    // The flags after `--` reach the adapter: --no-threads skips the concurrency tier.
    let concurrency = store["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "concurrency.linearizable")
        .unwrap();
    assert_eq!(concurrency["status"], "skip");
}

/// `--charts DIR` draws the benchmark charts `bench` wrote into the HTML report, inline; a
/// directory with none is a one-line error.
#[test]
fn html_report_draws_the_benchmark_charts_it_is_given() {
    let charts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/results");
    let svgs = std::fs::read_dir(&charts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert!(svgs > 0);
    let out = check(&[
        "run",
        "--backend",
        "memory",
        "--cases",
        "4",
        "--format",
        "html",
        "--charts",
        charts.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert_eq!(page.matches("<svg").count(), svgs);
    assert!(page.contains("<figcaption>find_token-user_name</figcaption>"));
    assert!(!page.contains("<?xml"));
    let empty = tempfile::tempdir().unwrap();
    let out = check(&[
        "run",
        "--backend",
        "memory",
        "--charts",
        empty.path().to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "no .svg file there");
}
