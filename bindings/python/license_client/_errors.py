"""The exceptions, one per status of the C ABI, all derived from LicenseClientError."""

from typing import Dict, Type


class LicenseClientError(Exception):
    """A call did not reach a verdict. `kind` is the status's name without its `LC_`
    (for example "RATE_LIMITED"); `status` its number in the C ABI."""

    def __init__(self, kind: str, status: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, message={self.message!r})"


class InvalidKeyError(LicenseClientError):
    """The license key is not a license key (a typo, a truncated paste)."""


class InvalidArgumentError(LicenseClientError, ValueError):
    """A configuration member or an argument is wrong; the message names it."""


class NoBrokerUrlError(InvalidArgumentError):
    """No license server URL is configured."""


class NoLicenseError(LicenseClientError):
    """No license key is stored on this machine: activate first."""


class MachineIdUnavailableError(LicenseClientError):
    """The OS machine id cannot be read: pass machine_id."""


class KeyStoreUnavailableError(LicenseClientError):
    """The key store (OS keyring or key file) cannot be read or written."""


class CacheUnavailableError(LicenseClientError):
    """The saved license in the data directory cannot be written or removed."""


class BrokerUnreachableError(LicenseClientError):
    """The license server could not be reached, or did not answer in time."""


class RateLimitedError(LicenseClientError):
    """The license server refused for now (HTTP 429); the message says when to retry."""


class UnknownMachineError(LicenseClientError):
    """No machine of this license has the seat id given."""


class ResponseUntrustedError(LicenseClientError):
    """The license server's answer failed verification."""


class RefusedError(LicenseClientError):
    """A verified answer other than the one asked for."""


class InternalError(LicenseClientError):
    """A bug inside the library; please report the message."""


# By the numbers of lc_status (bindings/c/include/license_client.h).
BY_STATUS: Dict[int, Type[LicenseClientError]] = {
    1: InvalidKeyError,
    2: InvalidArgumentError,
    3: NoBrokerUrlError,
    4: NoLicenseError,
    5: MachineIdUnavailableError,
    6: KeyStoreUnavailableError,
    7: CacheUnavailableError,
    8: BrokerUnreachableError,
    9: RateLimitedError,
    10: UnknownMachineError,
    11: ResponseUntrustedError,
    12: RefusedError,
    13: InternalError,
}
