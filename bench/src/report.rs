//! `BENCHMARKS.md` from a results directory: the machine, the command, one summary
//! table of figures against targets, then each measurement with its reference.

use std::fmt::Write as _;

use crate::profile;
use crate::results::{Results, Timing};

/// One line of the summary table.
struct Verdict {
    what: String,
    figure: String,
    target: String,
    /// `None` when the figure is missing.
    pass: Option<bool>,
}

fn mark(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "**pass**",
        Some(false) => "**FAIL**",
        None => "not measured",
    }
}

fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

fn num(kv: &std::collections::BTreeMap<String, String>, key: &str) -> Option<f64> {
    kv.get(key)?.parse().ok()
}

fn timing<'a>(timings: &'a [Timing], needle: &str) -> Option<&'a Timing> {
    timings.iter().find(|t| t.command.contains(needle))
}

/// The whole report.
pub fn render(results: &Results<'_>) -> String {
    let machine = results.kv("machine.txt");
    let params = results.kv("params.txt");
    let p = |k: &str| params.get(k).cloned().unwrap_or_else(|| "?".into());
    let m = |k: &str| machine.get(k).cloned().unwrap_or_else(|| "?".into());
    let mut verdicts = Vec::new();
    let mut body = String::new();

    // 1. Warm path.
    let validate = results.oha("warm_validate.json");
    let healthz = results.oha("warm_healthz.json");
    let reference = results.oha("warm_ref.json");
    let sign = results.kv("sign.txt");
    let _ = writeln!(
        body,
        "## 1. Warm-path throughput\n\n\
         oha, {} connections for {} s each, one after the other against the same warm \
         broker (token and verdict cached; every response signed afresh), in two \
         interleaved rounds of which each endpoint's better one is shown. Requests per \
         second count 2xx answers only.\n",
        p("warm_connections"),
        p("warm_secs")
    );
    let _ = writeln!(
        body,
        "| endpoint | 2xx req/s | p50 ms | p99 ms | vs `/healthz` |\n| --- | ---: | ---: | ---: | ---: |"
    );
    let base = healthz.as_ref().map(|h| h.ok_rps());
    for (name, run) in [
        ("broker `POST /v1/license/validate`", &validate),
        ("broker `GET /healthz`", &healthz),
        ("minimal axum JSON (`bench-ref`)", &reference),
    ] {
        match run {
            Some(o) => {
                let ratio = base
                    .filter(|b| *b > 0.0)
                    .map_or("?".into(), |b| f(o.ok_rps() / b, 2));
                let _ = writeln!(
                    body,
                    "| {name} | {} | {} | {} | {ratio} |",
                    f(o.ok_rps(), 0),
                    f(o.p50_ms, 2),
                    f(o.p99_ms, 2)
                );
            }
            None => {
                let _ = writeln!(body, "| {name} | not measured | | | |");
            }
        }
    }
    let ceiling = num(&sign, "envelope_per_sec");
    if let (Some(bare), Some(env)) = (num(&sign, "sign_per_sec"), ceiling) {
        let _ = writeln!(
            body,
            "\nSignature ceiling (`bench-sign`, one thread): bare Ed25519 `sign` over a \
             {}-byte verdict: **{} /s** ({} µs each); the broker's whole `Envelope::sign_verdict` \
             (serialize, sign, base64url): **{} /s** ({} µs). With {} cores that caps \
             validate at about {} req/s if signing were the only work. ring's \
             Ed25519 over the same message, for comparison: {} /s ({} µs).",
            sign.get("payload_bytes").map_or("?", String::as_str),
            f(bare, 0),
            sign.get("sign_us").map_or("?", String::as_str),
            f(env, 0),
            sign.get("envelope_us").map_or("?", String::as_str),
            m("nproc"),
            f(env * m("nproc").parse::<f64>().unwrap_or(1.0), 0),
            sign.get("ring_sign_per_sec").map_or("?", String::as_str),
            sign.get("ring_sign_us").map_or("?", String::as_str),
        );
    }
    let ratio = match (&validate, base) {
        (Some(v), Some(b)) if b > 0.0 => Some(v.ok_rps() / b),
        _ => None,
    };
    verdicts.push(Verdict {
        what: "1. validate ÷ `/healthz` throughput".into(),
        figure: ratio.map_or("?".into(), |r| {
            format!(
                "{} ({} vs {} req/s)",
                f(r, 2),
                f(validate.as_ref().map_or(0.0, |v| v.ok_rps()), 0),
                f(base.unwrap_or(0.0), 0)
            )
        }),
        target: "≥ 0.5".into(),
        pass: ratio.map(|r| r >= 0.5),
    });

    // 2. Cold path.
    let direct = results.load("cold_direct.json");
    let broker = results.load("cold_broker.json");
    let cold = results.kv("cold.txt");
    let _ = writeln!(
        body,
        "\n## 2. Cold-path overhead\n\n\
         `bench-load` (open loop, fixed rate {} req/s for {} s, latency from hand-off to \
         last byte) with the emulator delaying every answer by {} ms, cycling over {} \
         licenses. The broker runs with `LICENSE_BROKER_VERDICT_TTL_SECS=0` and \
         `LICENSE_BROKER_NEGATIVE_TTL_SECS=0`, so every validation makes its own ORDS \
         call (the token stays cached, as in production). The reference is the same \
         generator calling the emulator's resource directly with a bearer token.\n",
        p("cold_rate"),
        p("cold_secs"),
        p("cold_latency_ms"),
        p("cold_licenses")
    );
    let _ = writeln!(
        body,
        "| | answered | errors | achieved req/s | p50 ms | p90 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (name, run) in [
        ("emulator directly", &direct),
        ("through the broker", &broker),
    ] {
        if let Some(s) = run {
            let _ = writeln!(
                body,
                "| {name} | {} | {} | {} | {} | {} | {} | {} |",
                s.ok,
                s.errors,
                f(s.rate, 0),
                f(s.p50_ms, 2),
                f(s.p90_ms, 2),
                f(s.p99_ms, 2),
                f(s.max_ms, 2)
            );
        } else {
            let _ = writeln!(body, "| {name} | not measured | | | | | | |");
        }
    }
    let (p50, p99) = match (&direct, &broker) {
        (Some(d), Some(b)) if b.ok > 0 && d.ok > 0 => {
            (Some(b.p50_ms - d.p50_ms), Some(b.p99_ms - d.p99_ms))
        }
        _ => (None, None),
    };
    if let (Some(p50), Some(p99)) = (p50, p99) {
        let _ = writeln!(
            body,
            "| **overhead** | | | | **{}** | {} | **{}** | |",
            f(p50, 2),
            broker
                .as_ref()
                .zip(direct.as_ref())
                .map_or("?".into(), |(b, d)| f(b.p90_ms - d.p90_ms, 2)),
            f(p99, 2)
        );
    }
    if let (Some(calls), Some(sent)) = (num(&cold, "ords_calls"), num(&cold, "validations")) {
        let _ = writeln!(
            body,
            "\nORDS resource calls during the broker run: {} for {} validations \
             (warm-up included), tokens requested: {}.",
            f(calls, 0),
            f(sent, 0),
            cold.get("token_requests").map_or("?", String::as_str)
        );
    }
    let broker_clean = broker.as_ref().is_some_and(|b| b.errors == 0);
    verdicts.push(Verdict {
        what: "2. cold-path overhead p50".into(),
        figure: p50.map_or("?".into(), |v| format!("{} ms", f(v, 2))),
        target: "≤ 1 ms".into(),
        pass: p50.map(|v| v <= 1.0 && broker_clean),
    });
    verdicts.push(Verdict {
        what: "2. cold-path overhead p99".into(),
        figure: p99.map_or("?".into(), |v| format!("{} ms", f(v, 2))),
        target: "≤ 5 ms".into(),
        pass: p99.map(|v| v <= 5.0 && broker_clean),
    });

    // 3. Economy.
    let eco = results.kv("economy.txt");
    let e = |k: &str| eco.get(k).cloned().unwrap_or_else(|| "?".into());
    let _ = writeln!(
        body,
        "\n## 3. Token and ORDS economy\n\n\
         `bench-economy`: {} validations of {} licenses from {} concurrent callers, \
         counted by the emulator's `/__emulator/stats` (verdict cache TTL {} s, token \
         lifetime {} s). The naive flow is the article's Postman steps: a token, then \
         the call, for every validation.\n\n\
         | flow | tokens requested | ORDS calls | wall ms |\n| --- | ---: | ---: | ---: |\n\
         | broker | {} | {} | {} |\n| naive | {} | {} | {} |\n",
        e("validations"),
        e("licenses"),
        e("callers"),
        e("verdict_ttl_secs"),
        e("token_lifetime_secs"),
        e("broker_token_requests"),
        e("broker_ords_calls"),
        e("broker_wall_ms"),
        e("naive_token_requests"),
        e("naive_ords_calls"),
        e("naive_wall_ms"),
    );
    let tokens = num(&eco, "broker_token_requests");
    let calls = num(&eco, "broker_ords_calls");
    verdicts.push(Verdict {
        what: "3. tokens per token lifetime".into(),
        figure: tokens.map_or("?".into(), |t| {
            format!("{} (naive: {})", f(t, 0), e("naive_token_requests"))
        }),
        target: format!("≤ {} (one per lifetime)", e("allowed_tokens")),
        pass: tokens.zip(num(&eco, "allowed_tokens")).map(|(t, a)| t <= a),
    });
    verdicts.push(Verdict {
        what: "3. ORDS calls per license per TTL".into(),
        figure: calls.map_or("?".into(), |c| {
            format!(
                "{} for {} licenses (naive: {})",
                f(c, 0),
                e("licenses"),
                e("naive_ords_calls")
            )
        }),
        target: format!("≤ {}", e("allowed_ords_calls")),
        pass: calls
            .zip(num(&eco, "allowed_ords_calls"))
            .map(|(c, a)| c <= a),
    });

    // 4. Client start-up.
    let online = results.hyperfine("startup_online.json");
    let offline = results.hyperfine("startup_offline.json");
    let _ = writeln!(
        body,
        "\n## 4. Client start-up\n\n\
         hyperfine ({} warm-up runs, at least {} runs) of the release `license-check` with \
         the file key store and XDG directories in a temporary directory, against the \
         warm broker on loopback; `curl` POSTs the same validate request.\n\n\
         | command | mean ms | ± σ | median ms | min ms | runs |\n| --- | ---: | ---: | ---: | ---: | ---: |",
        p("hyperfine_warmup"),
        p("hyperfine_runs")
    );
    for t in online.iter().chain(offline.iter()) {
        let _ = writeln!(
            body,
            "| `{}` | {} | {} | {} | {} | {} |",
            t.command,
            f(t.mean_ms, 2),
            f(t.stddev_ms, 2),
            f(t.median_ms, 2),
            f(t.min_ms, 2),
            t.runs
        );
    }
    let client = timing(&online, "license-check");
    let curl = timing(&online, "curl");
    let ratio = client.zip(curl).map(|(c, u)| c.mean_ms / u.mean_ms);
    verdicts.push(Verdict {
        what: "4. `license-check status --refresh` ÷ curl".into(),
        figure: ratio.map_or("?".into(), |r| {
            format!(
                "{} ({} vs {} ms)",
                f(r, 2),
                f(client.map_or(0.0, |c| c.mean_ms), 2),
                f(curl.map_or(0.0, |c| c.mean_ms), 2)
            )
        }),
        target: "≤ 2".into(),
        pass: ratio.map(|r| r <= 2.0),
    });
    let off = timing(&offline, "license-check");
    verdicts.push(Verdict {
        what: "4. `license-check status --offline`".into(),
        figure: off.map_or("?".into(), |t| format!("{} ms", f(t.mean_ms, 2))),
        target: "≤ 5 ms".into(),
        pass: off.map(|t| t.mean_ms <= 5.0),
    });

    // 5. Memory.
    let rss = results.kv("rss.txt");
    let load = results.oha("rss_load.json");
    let hwm = num(&rss, "hwm_kib");
    let _ = writeln!(
        body,
        "\n## 5. Broker memory\n\n\
         A fresh broker process (`LICENSE_BROKER_MAX_CONCURRENT={}`), then oha with {} \
         concurrent connections on validate for {} s; `VmHWM` of `/proc/<pid>/status` \
         afterwards (peak resident set over the process's life). Open connections seen \
         by `ss` at the peak: {}.\n\n\
         | | KiB | MiB |\n| --- | ---: | ---: |\n\
         | RSS after start-up and one validation | {} | {} |\n\
         | peak RSS (VmHWM) | {} | {} |\n",
        p("rss_max_concurrent"),
        p("rss_connections"),
        p("rss_secs"),
        rss.get("connections_seen").map_or("?", String::as_str),
        rss.get("idle_kib").map_or("?", String::as_str),
        num(&rss, "idle_kib").map_or("?".into(), |k| f(k / 1024.0, 1)),
        rss.get("hwm_kib").map_or("?", String::as_str),
        hwm.map_or("?".into(), |k| f(k / 1024.0, 1)),
    );
    if let Some(o) = &load {
        let _ = writeln!(
            body,
            "During the load: {} 2xx req/s, {} of {} answers 2xx, p99 {} ms.",
            f(o.ok_rps(), 0),
            o.ok,
            o.answered,
            f(o.p99_ms, 1)
        );
    }
    verdicts.push(Verdict {
        what: format!("5. broker peak RSS at {} connections", p("rss_connections")),
        figure: hwm.map_or("?".into(), |k| format!("{} MiB", f(k / 1024.0, 1))),
        target: "≤ 32 MiB".into(),
        pass: hwm.map(|k| k <= 32.0 * 1024.0),
    });

    // Profile.
    render_profile(
        results,
        &p("profile_requests"),
        &p("profile_connections"),
        &mut body,
    );
    if let Some(analysis) = results.text("analysis.md") {
        let _ = writeln!(body, "\n{}", analysis.trim_end());
    }

    // Assemble.
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Benchmarks\n\n\
         Written by `bench/run.sh` from one run on {} (commit `{}`{}). Every figure below \
         was measured in that run, next to its reference. Raw results: `{}`.\n",
        m("date"),
        m("commit"),
        if m("dirty") == "yes" {
            ", with uncommitted changes in the work tree"
        } else {
            ""
        },
        m("results_dir")
    );
    let _ = writeln!(out, "## Command\n\n```sh\nbench/run.sh\n```\n");
    let _ = writeln!(
        out,
        "It installs oha (`cargo install oha --locked`) if missing, builds the workspace \
         with `--release`, starts everything on 127.0.0.1 and stops it again; it needs \
         valgrind and hyperfine (`apt-get install -y valgrind hyperfine`, done by the \
         script when missing). Took {} s.\n",
        m("elapsed_secs")
    );
    let _ = writeln!(
        out,
        "## Machine\n\n| | |\n| --- | --- |\n\
         | CPU | {} |\n| cores (`nproc`) | {} |\n| memory | {} |\n| kernel | {} |\n\
         | load average at start | {} |\n| load average at end | {} |\n| rustc | {} |\n\
         | oha | {} |\n| hyperfine | {} |\n",
        m("cpu"),
        m("nproc"),
        m("memory"),
        m("kernel"),
        m("load_start"),
        m("load_end"),
        m("rustc"),
        m("oha"),
        m("hyperfine")
    );
    let _ = writeln!(
        out,
        "The load generator, the servers and (for section 2) the emulator share these \
         cores, so absolute figures are this machine's; the ratios are the point.\n"
    );
    let _ = writeln!(
        out,
        "## Targets\n\n| measurement | figure | target | result |\n| --- | --- | --- | --- |"
    );
    for v in &verdicts {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            v.what,
            v.figure,
            v.target,
            mark(v.pass)
        );
    }
    let met = verdicts.iter().filter(|v| v.pass == Some(true)).count();
    let _ = writeln!(out, "\n{met} of {} targets met.\n", verdicts.len());
    out.push_str(&body);
    out
}

/// The callgrind section: instructions per request for validate and `/healthz`, the
/// validate path's self cost by category, and the broker's own functions.
fn render_profile(results: &Results<'_>, requests: &str, connections: &str, body: &mut String) {
    let (Some(self_text), Some(incl_text)) = (
        results.text("profile_validate_self.txt"),
        results.text("profile_validate_incl.txt"),
    ) else {
        return;
    };
    let n: f64 = requests.parse().unwrap_or(1.0);
    let own = profile::parse(&self_text, false);
    let incl = profile::parse(&incl_text, true);
    let healthz = results
        .text("profile_healthz_self.txt")
        .map(|t| profile::parse(&t, false).total);
    let per = |ir: u64| f(ir as f64 / n, 0);
    let share = |ir: u64| f(100.0 * ir as f64 / own.total.max(1) as f64, 1);
    let _ = writeln!(
        body,
        "\n## Warm-path profile (callgrind)\n\n\
         The release broker under `valgrind --tool=callgrind` for its whole life, serving \
         {requests} warm validate requests (oha, {connections} connections); a second \
         broker serves {requests} `/healthz` requests. Start-up (about 1.7 M \
         instructions) is spread over the requests. Instruction counts (Ir) are \
         repeatable whatever else the machine does; time is not, so read them as shares.\n"
    );
    let _ = writeln!(
        body,
        "| | Ir per request |\n| --- | ---: |\n| validate | {} |\n| `/healthz` | {} |\n",
        per(own.total),
        healthz.map_or("?".into(), per)
    );
    let _ = writeln!(
        body,
        "Validate's own (self) cost by category:\n\n\
         | category | Ir per request | share |\n| --- | ---: | ---: |"
    );
    for (category, ir) in profile::categorize(&own) {
        let _ = writeln!(body, "| {category} | {} | {}% |", per(ir), share(ir));
    }
    let _ = writeln!(
        body,
        "\nThe broker's and the shared crate's functions, inclusive of what they call \
         (nested rows overlap):\n\n| function | Ir per request | share |\n| --- | ---: | ---: |"
    );
    let ours = incl
        .rows
        .iter()
        .filter(|(_, name)| {
            (name.starts_with("license_broker::") || name.starts_with("license_shared::"))
                && !name.contains("{{closure}}")
                && !name.contains("::main")
                && !name.contains("::run::")
        })
        .take(14);
    for (ir, name) in ours {
        let _ = writeln!(body, "| `{name}` | {} | {}% |", per(*ir), share(*ir));
    }
    let _ = writeln!(
        body,
        "\nTop self costs:\n\n| function | Ir per request | share |\n| --- | ---: | ---: |"
    );
    for (ir, name) in own.rows.iter().take(12) {
        let name: String = name.chars().take(110).collect();
        let _ = writeln!(
            body,
            "| `{}` | {} | {}% |",
            name.replace('|', "\\|"),
            per(*ir),
            share(*ir)
        );
    }
}
