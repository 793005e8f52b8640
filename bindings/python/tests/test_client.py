"""The Python package against a real broker and the ORDS emulator (license-stack),
started by bindings/run-tests.sh, which exports LC_TEST_BROKER_URL,
LC_TEST_TRUSTED_KEYS, LC_TEST_KEY (customer 1: valid, entitlements export and sync)
and LC_TEST_FORGED_KEY."""

import asyncio
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

import license_client
from license_client import (
    Client,
    InvalidArgumentError,
    InvalidKeyError,
    LicenseClientError,
    NoLicenseError,
    Verdict,
)

URL = os.environ["LC_TEST_BROKER_URL"]
KEYS = os.environ["LC_TEST_TRUSTED_KEYS"]
KEY = os.environ["LC_TEST_KEY"]
TWO_SEATS = os.environ["LC_TEST_TWO_SEAT_KEY"]
FORGED = os.environ["LC_TEST_FORGED_KEY"]


@pytest.fixture
def client(tmp_path):
    with Client(
        broker_url=URL,
        app_id="com.example.python",
        trusted_keys=KEYS,
        product="desktop-pro",
        data_dir=str(tmp_path),
        key_store="file",
        machine_id=f"python-{uuid.uuid4()}",
        timeout_ms=5000,
    ) as c:
        yield c


def test_the_whole_lifecycle(client):
    assert client.check(mode="offline").code == "NO_LICENSE"
    activated = client.activate(KEY, machine_name="Python test")
    assert (activated.licensed, activated.code, activated.source) == (True, "VALID", "online")
    online = client.check(mode="refresh")
    assert (online.code, online.source) == ("VALID", "online")
    offline = client.check(mode="offline")
    assert offline.licensed and offline.source == "cache"
    assert offline.has_entitlement("export") and not offline.has_entitlement("print")
    assert offline.entitlements == ("export", "sync")
    assert offline.product == "desktop-pro"
    assert offline.expires_at and offline.offline_until and offline.exit_code == 0
    deactivated = client.deactivate()
    assert deactivated.code == "DEACTIVATED" and not deactivated.licensed
    assert client.check(mode="offline").code == "NO_LICENSE"
    with pytest.raises(NoLicenseError) as raised:
        client.deactivate()
    assert raised.value.kind == "NO_LICENSE" and raised.value.status == 4
    assert "activate" in str(raised.value)


def _machine(tmp_path, name):
    return Client(broker_url=URL, app_id="com.example.python", trusted_keys=KEYS,
                  product="desktop-pro", data_dir=str(tmp_path / name), key_store="file",
                  machine_id=f"python-{name}-{uuid.uuid4()}", timeout_ms=5000)


def test_a_new_machine_gets_past_machine_limit_with_only_the_key(tmp_path):
    old, other, new = (_machine(tmp_path, n) for n in ("old", "other", "new"))
    try:
        assert old.activate(TWO_SEATS, machine_name="old laptop").code == "VALID"
        assert other.activate(TWO_SEATS).code == "VALID"
        refused = new.activate(TWO_SEATS)
        assert refused.code == "MACHINE_LIMIT" and refused.machines.used == 2
        listed = new.machines(key=TWO_SEATS)
        seat = next(m.id for m in listed.machines.list if m.name == "old laptop")
        assert any(m.id == seat for m in refused.machines.list)
        replaced = new.activate(TWO_SEATS, replace=seat)
        assert (replaced.licensed, replaced.code) == (True, "VALID")
        assert old.check(mode="refresh").code == "NOT_ACTIVATED"
    finally:
        for c in (new, other):
            c.deactivate()
        for c in (old, other, new):
            c.close()


def test_the_verdict_keeps_every_member_of_the_json(client):
    verdict = client.check(mode="offline")
    assert set(verdict.to_dict()) >= {
        "licensed", "code", "source", "expires_at", "offline_until", "message",
        "machines", "product", "entitlements", "exit_code",
    }
    assert Verdict.from_dict(verdict.to_dict()) == verdict


def test_a_forged_key_is_a_verified_not_found(client):
    verdict = client.activate(FORGED)
    assert (verdict.licensed, verdict.code) == (False, "NOT_FOUND")
    assert verdict.exit_code == 1


def test_bad_input_raises_typed_errors_naming_the_problem(tmp_path):
    with pytest.raises(InvalidArgumentError) as raised:
        Client(broker_url=URL, app_id="a", trusted_keys="k1:not-a-key", data_dir=str(tmp_path))
    assert "trusted_keys" in str(raised.value) and raised.value.kind == "INVALID_ARGUMENT"
    with pytest.raises(InvalidArgumentError, match="ftp://"):
        Client(broker_url="ftp://example.com", app_id="a", trusted_keys=KEYS)
    with pytest.raises(InvalidArgumentError, match="key_store"):
        Client(broker_url=URL, app_id="a", trusted_keys=KEYS, key_store="cloud")
    with Client(broker_url=URL, app_id="a", trusted_keys=KEYS, key_store="memory",
                data_dir=str(tmp_path), machine_id="m") as c:
        with pytest.raises(InvalidKeyError) as raised:
            c.activate("not-a-key")
        assert isinstance(raised.value, LicenseClientError) and raised.value.status == 1
        with pytest.raises(ValueError, match="mode"):
            c.check(mode="sometimes")
        with pytest.raises(TypeError):
            c.activate(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="closed"):
        c.check()


def test_the_async_form_answers_off_the_loop(client):
    async def main():
        return await client.check_async(mode="refresh")

    verdict = asyncio.run(main())
    assert verdict.code == "NO_LICENSE"


def test_an_unreachable_broker_falls_back_and_says_so(tmp_path):
    with Client(broker_url="http://127.0.0.1:9", app_id="a", trusted_keys=KEYS,
                data_dir=str(tmp_path), key_store="memory", machine_id="m", timeout_ms=2000) as c:
        assert c.check(mode="refresh").code == "NO_LICENSE"
        with pytest.raises(license_client.BrokerUnreachableError) as raised:
            c.activate(KEY)
        assert raised.value.kind == "BROKER_UNREACHABLE"


def test_the_library_version_is_the_crate_version():
    assert license_client.library_version() == "0.1.0"


def _post(path, body):
    request = urllib.request.Request(
        URL.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_offline_activation_through_the_broker_and_back(client, tmp_path):
    request = client.offline_request(KEY)
    assert set(request) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ-")
    status, answer = _post("/v1/license/offline/activate", {"request": request})
    assert status == 200 and answer["code"] == "VALID", answer
    # Another machine has no pending request: the response licenses nothing there.
    with Client(
        broker_url=URL, app_id="com.example.python", trusted_keys=KEYS,
        product="desktop-pro", data_dir=str(tmp_path / "other"), key_store="file",
        machine_id=f"python-{uuid.uuid4()}",
    ) as other:
        with pytest.raises(InvalidArgumentError):
            other.install_offline_response(answer["response"])
    installed = client.install_offline_response(answer["response"])
    assert installed.licensed and installed.code == "VALID"
    assert client.check(mode="offline").licensed
    code = client.deactivate_offline()
    assert client.check(mode="offline").code == "NO_LICENSE"
    status, freed = _post("/v1/license/offline/deactivate", {"code": code})
    assert status == 200 and "payload" in freed, freed
    with pytest.raises(NoLicenseError):
        client.deactivate_offline()


FLOATING = os.environ["LC_TEST_FLOATING_KEY"]


def test_a_floating_seat_is_checked_out_and_in_and_a_trial_starts(tmp_path):
    def machine(name):
        return Client(
            broker_url=URL,
            app_id="com.example.python",
            trusted_keys=KEYS,
            product="desktop-pro",
            data_dir=str(tmp_path / name),
            key_store="memory",
            machine_id=f"python-{name}-{uuid.uuid4()}",
            timeout_ms=5000,
        )

    with machine("a") as a, machine("b") as b, machine("c") as c:
        lost = []
        a.on_seat_lost(lambda code, message: lost.append(code))
        assert a.checkout(FLOATING, machine_name="Python a").code == "VALID"
        assert b.checkout(FLOATING).code == "VALID"
        full = c.checkout(FLOATING)
        assert (full.licensed, full.code) == (False, "SEATS_IN_USE")
        assert "Python a" in full.message
        assert a.checkin().code == "DEACTIVATED"
        assert c.checkout(FLOATING, borrow_days=2).code == "VALID"
        assert lost == []
        for holder in (b, c):
            assert holder.checkin().code == "DEACTIVATED"
        with pytest.raises(ValueError):
            a.checkout(FLOATING, borrow_days=-1)
        trial = a.start_trial()
        assert (trial.licensed, trial.code) == (True, "TRIAL")
        assert a.start_trial().expires_at == trial.expires_at


def test_a_lost_floating_seat_is_reported_to_the_callback(tmp_path):
    # Two clients with one machine id are one machine to the broker: when the second
    # returns the seat, the first's next background renewal (about every second under
    # license-stack's 3 s lease) finds a seat taken anew and reports the first as lost.
    machine_id = f"python-lost-{uuid.uuid4()}"

    def client(name):
        return Client(broker_url=URL, app_id="com.example.python", trusted_keys=KEYS,
                      product="desktop-pro", data_dir=str(tmp_path / name),
                      key_store="memory", machine_id=machine_id, timeout_ms=5000)

    with client("app") as app, client("other") as other:
        lost = []
        fired = threading.Event()

        def on_lost(code, message):
            lost.append((code, message))
            fired.set()

        app.on_seat_lost(on_lost)
        assert app.checkout(FLOATING).code == "VALID"
        # The broker tells seats apart by the second they were taken in.
        time.sleep(1.2)
        assert other.checkout(FLOATING).code == "VALID"
        assert other.checkin().code == "DEACTIVATED"
        assert fired.wait(10), "the seat-lost callback was not called within 10 s"
        [(code, message)] = lost
        assert code == "DEACTIVATED" and message
        app.checkin()
