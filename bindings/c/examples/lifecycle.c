/* The whole lifecycle of a license through the C ABI, as an app would run it:
 * bad input first, then activate, check online, check offline, read an entitlement,
 * check without blocking, deactivate. Run by bindings/run-tests.sh against a real
 * broker (license-stack); prints "N passed, N failed" and exits non-zero on a failure.
 *
 * Environment: LC_TEST_BROKER_URL, LC_TEST_TRUSTED_KEYS, LC_TEST_KEY (a valid key with
 * the entitlement "export"), LC_TEST_DATA_DIR (an empty directory). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "license_client.h"

static int passed = 0, failed = 0;

static void expect(int ok, const char *what, const char *detail) {
  if (ok) {
    passed++;
    printf("ok   %s\n", what);
  } else {
    failed++;
    printf("FAIL %s: %s\n", what, detail ? detail : "(no detail)");
  }
}

static const char *env(const char *name) {
  const char *value = getenv(name);
  if (!value || !*value) {
    fprintf(stderr, "lifecycle: set %s (bindings/run-tests.sh does)\n", name);
    exit(2);
  }
  return value;
}

/* `"name":"value"` inside a verdict's JSON, or the absence of one. */
static int has_member(const char *json, const char *member) {
  return json && strstr(json, member) != NULL;
}

struct async_result {
  pthread_mutex_t lock;
  pthread_cond_t done;
  int finished;
  lc_status status;
  char json[8192];
};

static void on_verdict(void *userdata, lc_status status, const char *verdict_json,
                       const char *error) {
  struct async_result *r = userdata;
  pthread_mutex_lock(&r->lock);
  r->status = status;
  snprintf(r->json, sizeof r->json, "%s", status == LC_OK ? verdict_json : error);
  r->finished = 1;
  pthread_cond_signal(&r->done);
  pthread_mutex_unlock(&r->lock);
}

int main(void) {
  const char *url = env("LC_TEST_BROKER_URL");
  const char *keys = env("LC_TEST_TRUSTED_KEYS");
  const char *key = env("LC_TEST_KEY");
  const char *dir = env("LC_TEST_DATA_DIR");
  char config[4096];
  lc_client *client = NULL;
  char *json = NULL;

  /* Bad input: a status and a message, never a crash. */
  lc_status s = lc_client_new("{\"broker_url\":\"x\",\"colour\":1}", &client);
  expect(s == LC_INVALID_ARGUMENT && strstr(lc_last_error(), "colour"),
         "an unknown config member is LC_INVALID_ARGUMENT naming it", lc_last_error());
  snprintf(config, sizeof config,
           "{\"broker_url\":\"%s\",\"app_id\":\"com.example.c\",\"trusted_keys\":\"k1:%%%%\"}",
           url);
  s = lc_client_new(config, &client);
  expect(s == LC_INVALID_ARGUMENT && strstr(lc_last_error(), "trusted_keys"),
         "a malformed key list is LC_INVALID_ARGUMENT", lc_last_error());
  expect(lc_client_new(NULL, &client) == LC_INVALID_ARGUMENT, "a NULL config is refused",
         lc_last_error());
  expect(lc_check(NULL, LC_CHECK_OFFLINE, &json) == LC_INVALID_ARGUMENT && json == NULL,
         "a NULL client is refused and writes nothing", lc_last_error());

  snprintf(config, sizeof config,
           "{\"broker_url\":\"%s\",\"app_id\":\"com.example.c\",\"trusted_keys\":\"%s\","
           "\"product\":\"desktop-pro\",\"data_dir\":\"%s\",\"key_store\":\"file\","
           "\"machine_id\":\"c-example-machine\",\"timeout_ms\":5000}",
           url, keys, dir);
  s = lc_client_new(config, &client);
  expect(s == LC_OK && client != NULL, "a client is made", lc_last_error());
  if (s != LC_OK) return 1;
  expect(lc_check(client, 7, &json) == LC_INVALID_ARGUMENT, "an unknown mode is refused",
         lc_last_error());
  expect(lc_activate(client, "not-a-key", NULL, &json) == LC_INVALID_KEY,
         "a malformed license key is LC_INVALID_KEY", lc_last_error());

  s = lc_check(client, LC_CHECK_OFFLINE, &json);
  expect(s == LC_OK && has_member(json, "\"code\":\"NO_LICENSE\""),
         "before activation an offline check is NO_LICENSE", json);
  lc_string_free(json);

  s = lc_activate(client, key, "C example", &json);
  expect(s == LC_OK && has_member(json, "\"licensed\":true") &&
             has_member(json, "\"code\":\"VALID\""),
         "activation is VALID", s == LC_OK ? json : lc_last_error());
  lc_string_free(json);

  s = lc_check(client, LC_CHECK_REFRESH, &json);
  expect(s == LC_OK && has_member(json, "\"code\":\"VALID\"") &&
             has_member(json, "\"source\":\"online\""),
         "an online check is VALID", s == LC_OK ? json : lc_last_error());
  lc_string_free(json);

  s = lc_check(client, LC_CHECK_OFFLINE, &json);
  expect(s == LC_OK && has_member(json, "\"licensed\":true") &&
             has_member(json, "\"source\":\"cache\""),
         "an offline check is licensed from the lease", json);
  expect(has_member(json, "\"entitlements\":[\"export\""),
         "the verdict carries the entitlement export", json);
  lc_string_free(json);

  struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, LC_INTERNAL, ""};
  s = lc_check_async(client, LC_CHECK_REFRESH, on_verdict, &r);
  expect(s == LC_OK, "an async check starts", lc_last_error());
  pthread_mutex_lock(&r.lock);
  while (!r.finished) pthread_cond_wait(&r.done, &r.lock);
  pthread_mutex_unlock(&r.lock);
  expect(r.status == LC_OK && has_member(r.json, "\"code\":\"VALID\""),
         "the async check calls back with VALID", r.json);
  expect(lc_check_async(client, LC_CHECK_AUTO, NULL, NULL) == LC_INVALID_ARGUMENT,
         "an async check without a callback is refused", lc_last_error());

  s = lc_call(client, "{\"op\":\"check\",\"mode\":\"offline\"}", &json);
  expect(s == LC_OK && has_member(json, "\"status\":0") && has_member(json, "\"licensed\":true"),
         "lc_call answers with the verdict in its outcome", json);
  lc_string_free(json);
  s = lc_call(client, "{\"op\":\"dance\"}", &json);
  expect(s == LC_INVALID_ARGUMENT && has_member(json, "\"status\":2") && has_member(json, "dance"),
         "lc_call writes the error into its outcome too", json);
  lc_string_free(json);

  s = lc_deactivate(client, &json);
  expect(s == LC_OK && has_member(json, "\"code\":\"DEACTIVATED\""), "deactivation frees the seat",
         s == LC_OK ? json : lc_last_error());
  lc_string_free(json);

  s = lc_check(client, LC_CHECK_OFFLINE, &json);
  expect(s == LC_OK && has_member(json, "\"code\":\"NO_LICENSE\""),
         "after deactivation nothing is stored", json);
  lc_string_free(json);
  s = lc_deactivate(client, &json);
  expect(s == LC_NO_LICENSE && strcmp(lc_status_name(s), "LC_NO_LICENSE") == 0,
         "a second deactivation is LC_NO_LICENSE", lc_last_error());

  /* Offline activation: a request code made with no network, only letters, digits and
   * dashes; a code that is no response is refused; a machine not activated offline
   * has nothing to deactivate offline. (The round trip through the broker is in the
   * Python, C# and Node suites, which can make HTTP requests.) */
  char *code = NULL;
  s = lc_offline_request(client, key, &code);
  expect(s == LC_OK && code && strlen(code) > 100 && strspn(code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ-") == strlen(code),
         "an offline request code is letters, digits and dashes", s == LC_OK ? code : lc_last_error());
  s = lc_install_offline_response(client, code, &json);
  expect(s == LC_INVALID_ARGUMENT && strstr(lc_last_error(), "request code"),
         "a request code is not installed as a response", lc_last_error());
  lc_string_free(code);
  code = NULL;
  s = lc_deactivate_offline(client, &code);
  expect(s == LC_NO_LICENSE && code == NULL, "a machine not activated offline has no deactivation code",
         lc_last_error());
  s = lc_call(client, "{\"op\":\"offline_request\",\"license_key\":\"not-a-key\"}", &json);
  expect(s == LC_INVALID_KEY && has_member(json, "\"error\""), "lc_call offline_request checks the key",
         json);
  lc_string_free(json);

  lc_client_free(client);
  lc_client_free(NULL);
  lc_string_free(NULL);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
