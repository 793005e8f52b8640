"""Builds the wheel with the native library inside.

The library is the C ABI crate `license-client-ffi` of this repository. By default it is
built with `cargo build --release -p license-client-ffi`; with LICENSE_CLIENT_LIBRARY
naming an already built file (as CI does), that file is packed instead.

setuptools rather than maturin: the package loads the one C ABI every language uses
with ctypes, so there is no Python extension module to compile, and one wheel per
platform (py3-none-<platform>) serves every Python 3 version.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent.parent


def library_file_name() -> str:
    if sys.platform == "win32":
        return "license_client.dll"
    if sys.platform == "darwin":
        return "liblicense_client.dylib"
    return "liblicense_client.so"


def native_library() -> Path:
    given = os.environ.get("LICENSE_CLIENT_LIBRARY")
    if given:
        path = Path(given)
        if not path.is_file():
            sys.exit(f"LICENSE_CLIENT_LIBRARY names {path}, which is not a file")
        return path
    if not (WORKSPACE / "Cargo.toml").is_file():
        sys.exit(
            f"cannot build the native library: no Cargo workspace at {WORKSPACE}; "
            "set LICENSE_CLIENT_LIBRARY to a built liblicense_client"
        )
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "license-client-ffi"],
        cwd=WORKSPACE,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", WORKSPACE / "target"))
    return target / "release" / library_file_name()


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        destination = Path(self.build_lib) / "license_client" / library_file_name()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(native_library(), destination)


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3, this platform's library."""

    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
