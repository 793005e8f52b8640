"""Loads liblicense_client and declares the C ABI (bindings/c/include/license_client.h)."""

import ctypes
import os
import sys
from pathlib import Path

if sys.platform == "win32":
    _FILE = "license_client.dll"
elif sys.platform == "darwin":
    _FILE = "liblicense_client.dylib"
else:
    _FILE = "liblicense_client.so"


def _candidates():
    given = os.environ.get("LICENSE_CLIENT_LIBRARY")
    if given:
        return [Path(given)]
    return [Path(__file__).resolve().parent / _FILE]


def load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        try:
            return _declare(ctypes.CDLL(str(path)))
        except OSError as error:
            tried.append(f"{path} ({error})")
    raise ImportError(
        "license_client cannot load its native library; looked for "
        + "; ".join(tried)
        + ". Reinstall the package, or set LICENSE_CLIENT_LIBRARY to the file's path."
    )


Handle = ctypes.c_void_p
VerdictCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)
SeatLostCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    out_string = ctypes.POINTER(ctypes.c_void_p)
    signatures = {
        "lc_client_new": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(Handle)]),
        "lc_client_free": (None, [Handle]),
        "lc_check": (ctypes.c_int, [Handle, ctypes.c_uint32, out_string]),
        "lc_activate": (ctypes.c_int, [Handle, ctypes.c_char_p, ctypes.c_char_p, out_string]),
        "lc_activate_replacing": (
            ctypes.c_int,
            [Handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, out_string],
        ),
        "lc_machines_for_key": (ctypes.c_int, [Handle, ctypes.c_char_p, out_string]),
        "lc_deactivate": (ctypes.c_int, [Handle, out_string]),
        "lc_deactivate_machine": (ctypes.c_int, [Handle, ctypes.c_char_p, out_string]),
        "lc_machines": (ctypes.c_int, [Handle, out_string]),
        "lc_offline_request": (ctypes.c_int, [Handle, ctypes.c_char_p, out_string]),
        "lc_install_offline_response": (ctypes.c_int, [Handle, ctypes.c_char_p, out_string]),
        "lc_deactivate_offline": (ctypes.c_int, [Handle, out_string]),
        "lc_checkout": (
            ctypes.c_int,
            [Handle, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint32, out_string],
        ),
        "lc_checkin": (ctypes.c_int, [Handle, out_string]),
        "lc_start_trial": (ctypes.c_int, [Handle, out_string]),
        "lc_set_seat_lost_callback": (ctypes.c_int, [Handle, SeatLostCallback, ctypes.c_void_p]),
        "lc_string_free": (None, [ctypes.c_void_p]),
        "lc_last_error": (ctypes.c_char_p, []),
        "lc_status_name": (ctypes.c_char_p, [ctypes.c_uint32]),
        "lc_version": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib
