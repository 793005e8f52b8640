/* The C side of the FFI benchmark (bench/ffi/run.sh): the per-call time of an offline
 * check and of a cached check (a fresh lease answers without the network) through
 * liblicense_client. Environment: LC_BENCH_CONFIG (config_json), LC_BENCH_N (calls per
 * round), LC_BENCH_ROUNDS. Prints "offline_ns=… cached_ns=…", each the best round's
 * mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "license_client.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One round of n checks: the mean time per call. */
static double round_ns(lc_client *client, lc_check_mode mode, int n) {
  {
    double start = now_ns();
    for (int i = 0; i < n; i++) {
      char *json = NULL;
      if (lc_check(client, mode, &json) != LC_OK || !strstr(json, "\"licensed\":true")) {
        fprintf(stderr, "bench-c: the check is not licensed: %s\n", json ? json : lc_last_error());
        exit(1);
      }
      lc_string_free(json);
    }
    return (now_ns() - start) / n;
  }
}

int main(void) {
  const char *config = getenv("LC_BENCH_CONFIG");
  int n = atoi(getenv("LC_BENCH_N") ? getenv("LC_BENCH_N") : "1000");
  int rounds = atoi(getenv("LC_BENCH_ROUNDS") ? getenv("LC_BENCH_ROUNDS") : "5");
  lc_client *client;
  if (!config || lc_client_new(config, &client) != LC_OK) {
    fprintf(stderr, "bench-c: %s\n", config ? lc_last_error() : "set LC_BENCH_CONFIG");
    return 1;
  }
  /* The two kinds alternate round by round, so a noisy moment hits both alike. */
  double offline = 1e18, cached = 1e18;
  for (int r = 0; r < rounds; r++) {
    double o = round_ns(client, LC_CHECK_OFFLINE, n), c = round_ns(client, LC_CHECK_AUTO, n);
    if (o < offline) offline = o;
    if (c < cached) cached = c;
  }
  printf("offline_ns=%.0f cached_ns=%.0f\n", offline, cached);
  lc_client_free(client);
  return 0;
}
