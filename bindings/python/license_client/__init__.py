"""The start-up license check for Python apps.

    from license_client import Client
    client = Client(broker_url=..., app_id=..., trusted_keys=...)
    verdict = client.check()           # or check(mode="refresh"), check(mode="offline")
    if not verdict.licensed:
        raise SystemExit(verdict.message)

A thin layer over the library's C ABI (liblicense_client, inside this package): the
same verification, lease and seat rules as every other language. Calls block the
calling thread (the GIL is released meanwhile); the *_async forms run them on the
event loop's executor.
"""

import asyncio
import ctypes
import json
import threading
from typing import Any, Dict, Optional

from . import _native
from ._errors import (
    BY_STATUS,
    BrokerUnreachableError,
    CacheUnavailableError,
    InternalError,
    InvalidArgumentError,
    InvalidKeyError,
    KeyStoreUnavailableError,
    LicenseClientError,
    MachineIdUnavailableError,
    NoBrokerUrlError,
    NoLicenseError,
    RateLimitedError,
    RefusedError,
    ResponseUntrustedError,
    UnknownMachineError,
)
from ._verdict import Machine, Machines, Verdict

__all__ = [
    "Client", "Verdict", "Machines", "Machine", "LicenseClientError", "InvalidKeyError",
    "InvalidArgumentError", "NoBrokerUrlError", "NoLicenseError", "MachineIdUnavailableError",
    "KeyStoreUnavailableError", "CacheUnavailableError", "BrokerUnreachableError",
    "RateLimitedError", "UnknownMachineError", "ResponseUntrustedError", "RefusedError",
    "InternalError", "library_version",
]

_lib = _native.load()
_MODES = {"auto": 0, "refresh": 1, "offline": 2}
_KEY_STORES = ("os", "file", "os_else_file", "memory")


def library_version() -> str:
    """The version of the native library inside this package."""
    return _lib.lc_version().decode()


def _raise_for(status: int) -> None:
    message = (_lib.lc_last_error() or b"").decode("utf-8", "replace")
    kind = _lib.lc_status_name(status).decode().removeprefix("LC_")
    raise BY_STATUS.get(status, LicenseClientError)(kind, status, message)


def _text(value: Optional[str], name: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value.encode("utf-8")


class Client:
    """One app's license client. Thread-safe; close it (or use `with`) when done."""

    def __init__(
        self,
        broker_url: str,
        app_id: str,
        trusted_keys: str,
        product: Optional[str] = None,
        build_time: Optional[int] = None,
        data_dir: Optional[str] = None,
        key_store: str = "os",
        machine_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        app_version: Optional[str] = None,
    ) -> None:
        if key_store not in _KEY_STORES:
            raise InvalidArgumentError(
                "INVALID_ARGUMENT", 2, f"key_store {key_store!r} is none of {', '.join(_KEY_STORES)}"
            )
        config: Dict[str, Any] = {
            "broker_url": broker_url,
            "app_id": app_id,
            "trusted_keys": trusted_keys,
            "key_store": key_store,
        }
        optional = {
            "product": product,
            "build_time": build_time,
            "data_dir": None if data_dir is None else str(data_dir),
            "machine_id": machine_id,
            "timeout_ms": timeout_ms,
            "app_version": app_version,
        }
        config.update({k: v for k, v in optional.items() if v is not None})
        handle = _native.Handle()
        status = _lib.lc_client_new(json.dumps(config).encode("utf-8"), ctypes.byref(handle))
        if status != 0:
            _raise_for(status)
        self._handle: Optional[int] = handle.value
        self._lock = threading.Lock()

    def check(self, mode: str = "auto") -> Verdict:
        """The start-up check: "auto" (from a fresh lease, else online), "refresh"
        (online first) or "offline" (never touches the network)."""
        if mode not in _MODES:
            raise ValueError(f"mode {mode!r} is none of {', '.join(_MODES)}")
        return self._verdict(lambda h, out: _lib.lc_check(h, _MODES[mode], out))

    def activate(
        self, key: str, machine_name: Optional[str] = None, replace: Optional[str] = None
    ) -> Verdict:
        """Claims a seat for this machine and stores the key; a `MACHINE_LIMIT` verdict
        stores nothing and lists the seats in `machines`. With `replace` (a seat id from
        that list), frees that machine's seat first: the way in with only the key."""
        key_bytes, name = _text(key, "key"), _text(machine_name, "machine_name")
        if replace is None:
            return self._verdict(lambda h, out: _lib.lc_activate(h, key_bytes, name, out))
        seat = _text(replace, "replace")
        return self._verdict(
            lambda h, out: _lib.lc_activate_replacing(h, key_bytes, seat, name, out)
        )

    def deactivate(self) -> Verdict:
        """Frees this machine's seat, then removes the key and the lease."""
        return self._verdict(lambda h, out: _lib.lc_deactivate(h, out))

    def deactivate_machine(self, machine_id: str) -> Verdict:
        """Frees another machine's seat by its id (from `machines`)."""
        seat = _text(machine_id, "machine_id")
        return self._verdict(lambda h, out: _lib.lc_deactivate_machine(h, seat, out))

    def machines(self, key: Optional[str] = None) -> Verdict:
        """Lists the machines holding the license's seats, in `verdict.machines`: the
        stored license's, or `key`'s (a key this machine need not have stored)."""
        if key is None:
            return self._verdict(lambda h, out: _lib.lc_machines(h, out))
        key_bytes = _text(key, "key")
        return self._verdict(lambda h, out: _lib.lc_machines_for_key(h, key_bytes, out))

    def offline_request(self, key: str) -> str:
        """Offline activation, step 1, with no network: a request code (letters, digits
        and dashes) to take to the license server's /offline page. The pending request
        is kept in the data directory: only this machine can install the answer."""
        key_bytes = _text(key, "key")
        return self._string(lambda h, out: _lib.lc_offline_request(h, key_bytes, out))

    def install_offline_response(self, code: str) -> Verdict:
        """Offline activation, step 2: installs the license server's response code,
        verified like an online verdict. `InvalidArgumentError` when it does not answer
        this machine's pending request."""
        code_bytes = _text(code, "code")
        return self._verdict(
            lambda h, out: _lib.lc_install_offline_response(h, code_bytes, out)
        )

    def deactivate_offline(self) -> str:
        """For a machine activated offline: removes the key and the lease and returns a
        deactivation code, signed by this machine, that frees its seat at /offline."""
        return self._string(lambda h, out: _lib.lc_deactivate_offline(h, out))

    def checkout(
        self, key: str, machine_name: Optional[str] = None, borrow_days: int = 0
    ) -> Verdict:
        """Checks a seat of a floating license out for this run of the app and stores the
        key; the library then renews the seat in the background until `checkin`,
        `close` or its loss (see `on_seat_lost`). `SEATS_IN_USE` lists the holders in
        `machines`; `borrow_days` > 0 holds the seat for offline use (capped by the
        license)."""
        key_bytes, name = _text(key, "key"), _text(machine_name, "machine_name")
        if not isinstance(borrow_days, int) or not 0 <= borrow_days <= 3650:
            raise ValueError("borrow_days must be a whole number of days from 0 to 3650")
        return self._verdict(
            lambda h, out: _lib.lc_checkout(h, key_bytes, name, borrow_days, out)
        )

    def checkin(self) -> Verdict:
        """Stops the renewal and returns this machine's floating seat (`DEACTIVATED`)."""
        return self._verdict(lambda h, out: _lib.lc_checkin(h, out))

    def start_trial(self) -> Verdict:
        """Starts (or finds) this machine's trial of the client's product: `TRIAL` until
        `expires_at`, then `TRIAL_EXPIRED`; `NO_TRIAL` for a product without one."""
        return self._verdict(lambda h, out: _lib.lc_start_trial(h, out))

    def on_seat_lost(self, callback: Optional[Any]) -> None:
        """Calls `callback(code, message)` once, on a thread of the library's, when the
        floating seat `checkout` took is lost; `None` unregisters it. Keep it short (post
        to the UI's queue): it runs while the library waits."""
        if callback is None:
            native = _native.SeatLostCallback()
        else:
            if not callable(callback):
                raise TypeError("callback must be callable or None")

            def native_callback(_userdata: Any, code: bytes, message: bytes) -> None:
                try:
                    callback(code.decode("utf-8", "replace"), message.decode("utf-8", "replace"))
                except Exception:  # noqa: BLE001 - nothing may unwind into the library
                    pass

            native = _native.SeatLostCallback(native_callback)
        handle = self._handle
        if handle is None:
            raise InvalidArgumentError("INVALID_ARGUMENT", 2, "this Client is closed")
        status = _lib.lc_set_seat_lost_callback(handle, native, None)
        if status != 0:
            _raise_for(status)
        # The library calls it until the client is freed: keep it alive as long.
        self._seat_lost = native

    async def check_async(self, mode: str = "auto") -> Verdict:
        """`check` on the running loop's default executor."""
        return await asyncio.get_running_loop().run_in_executor(None, self.check, mode)

    def close(self) -> None:
        """Frees the native client; calls after this raise."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            _lib.lc_client_free(handle)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        # At interpreter exit the module's globals may already be gone: nothing to free
        # then, the process is ending.
        if getattr(self, "_handle", None) is not None and _lib is not None:
            try:
                self.close()
            except Exception:  # noqa: BLE001 - a finalizer must not raise
                pass

    def _verdict(self, call: Any) -> Verdict:
        return Verdict.from_dict(json.loads(self._string(call)))

    def _string(self, call: Any) -> str:
        handle = self._handle
        if handle is None:
            raise InvalidArgumentError("INVALID_ARGUMENT", 2, "this Client is closed")
        out = ctypes.c_void_p()
        status = call(handle, ctypes.byref(out))
        if status != 0:
            _raise_for(status)
        try:
            return ctypes.string_at(out.value).decode("utf-8")
        finally:
            _lib.lc_string_free(out)
