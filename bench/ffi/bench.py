"""The Python side of the FFI benchmark (bench/ffi/run.sh); see bench.c for the output."""
import json
import os
import time

from license_client import Client


def best_ns(client, mode, n, rounds):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(n):
            if not client.check(mode=mode).licensed:
                raise SystemExit("bench.py: the check is not licensed")
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


config = json.loads(os.environ["LC_BENCH_CONFIG"])
n, rounds = int(os.environ.get("LC_BENCH_N", "1000")), int(os.environ.get("LC_BENCH_ROUNDS", "5"))
with Client(**config) as client:
    offline = best_ns(client, "offline", n, rounds)
    cached = best_ns(client, "auto", n, rounds)
print(f"offline_ns={offline:.0f} cached_ns={cached:.0f}")
