"""The verdict: the JSON object of `license-check --json`, as a typed value."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Machine:
    """A machine holding a seat: `id` is what deactivate_machine takes."""

    id: str
    name: Optional[str]
    last_seen: int
    current: bool


@dataclass(frozen=True)
class Machines:
    """The license's seats: `max` is None when only counted; `list` holds the machines
    where the answer lists them (as the JSON's `machines.list`)."""

    used: int
    max: Optional[int]
    list: Tuple[Machine, ...]


@dataclass(frozen=True)
class Verdict:
    """May the app run? `licensed` decides; `code` says why ("VALID", "MACHINE_LIMIT", …);
    `message` says what to do, for a person."""

    licensed: bool
    code: str
    source: str
    expires_at: Optional[int]
    offline_until: Optional[int]
    message: str
    machines: Optional[Machines]
    product: Optional[str]
    entitlements: Tuple[str, ...]
    exit_code: int
    detail: Optional[str] = None
    """The technical cause behind the message (for a log), when there is one."""
    _raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "Verdict":
        seats = raw.get("machines")
        machines = None
        if seats is not None:
            listed: List[Dict[str, Any]] = seats.get("list") or []
            machines = Machines(
                used=seats["used"],
                max=seats.get("max"),
                list=tuple(
                    Machine(m["id"], m.get("name"), m["last_seen"], m.get("current", False))
                    for m in listed
                ),
            )
        return cls(
            licensed=raw["licensed"],
            code=raw["code"],
            source=raw["source"],
            expires_at=raw.get("expires_at"),
            offline_until=raw.get("offline_until"),
            message=raw["message"],
            machines=machines,
            product=raw.get("product"),
            entitlements=tuple(raw.get("entitlements") or ()),
            exit_code=raw["exit_code"],
            detail=raw.get("detail"),
            _raw=dict(raw),
        )

    def has_entitlement(self, name: str) -> bool:
        """Whether the license entitles the app to `name` and licenses it now."""
        return self.licensed and name in self.entitlements

    def to_dict(self) -> Dict[str, Any]:
        """Every member as the C ABI gave it (the JSON of `license-check --json`)."""
        return dict(self._raw)
