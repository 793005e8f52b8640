"""The Python side of the FFI benchmark (bench/ffi/run.sh); see bench.c for the output."""
import json
import os
import time

from license_client import Client


def round_ns(client, mode, n):
    start = time.perf_counter_ns()
    for _ in range(n):
        if not client.check(mode=mode).licensed:
            raise SystemExit("bench.py: the check is not licensed")
    return (time.perf_counter_ns() - start) / n


config = json.loads(os.environ["LC_BENCH_CONFIG"])
n, rounds = int(os.environ.get("LC_BENCH_N", "1000")), int(os.environ.get("LC_BENCH_ROUNDS", "5"))
with Client(**config) as client:
    # The two kinds alternate round by round, so a noisy moment hits both alike.
    offline = cached = float("inf")
    for _ in range(rounds):
        offline = min(offline, round_ns(client, "offline", n))
        cached = min(cached, round_ns(client, "auto", n))
print(f"offline_ns={offline:.0f} cached_ns={cached:.0f}")
