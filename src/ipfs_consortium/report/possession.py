"""What a possession check found at one member (sync/possession.py makes the checks).

A block asked of a member is ``verified`` when that member's node returned bytes that hash
to the block's CID, ``missing`` when its node answered that it does not hold it, ``wrong``
when the bytes do not hash to the CID, and ``unreachable`` when no answer came. A member
whose node lacked blocks or returned wrong ones has ``failed``; one that could not be
asked is ``unreachable``, which says nothing of what it holds.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..state.store import Checks

VERIFIED, FAILED, UNREACHABLE, NOT_CHECKED = "verified", "failed", "unreachable", "not_checked"
# What became of each block asked: MemberCheck's counts, by these names.
BLOCK_RESULTS = ("verified", "missing", "wrong", "unreachable")


@dataclass(frozen=True)
class MemberCheck:
    peer_id: str | None
    asked: int = 0
    verified: int = 0
    missing: int = 0
    wrong: int = 0
    unreachable: int = 0
    # What the check cost: the bytes of the answers, and its time.
    bytes: int = 0
    seconds: float = 0.0
    checked_at: str | None = None
    # When every block asked of the member was last verified (None: never).
    verified_at: str | None = None
    # Why the member was not checked, or what went wrong.
    detail: str = ""

    @property
    def result(self) -> str:
        if self.missing or self.wrong:
            return FAILED
        if self.unreachable:
            return UNREACHABLE
        return VERIFIED if self.asked else NOT_CHECKED

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"result": self.result}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "MemberCheck":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def summary(self) -> str:
        """What a check asked and found, for a person: "16 asked, 12 verified, 4 missing"."""
        parts = [f"{getattr(self, name)} {name}" for name in BLOCK_RESULTS if getattr(self, name)]
        return ", ".join([f"{self.asked} asked", *parts])


def member_checks(checks: Checks | None) -> dict[str, MemberCheck]:
    members = checks.members if checks else {}
    return {name: MemberCheck.from_json(data) for name, data in members.items()}


def failed_members(checks: Checks) -> list[str]:
    return [name for name, check in member_checks(checks).items() if check.result == FAILED]


def render_checks(checks: Checks) -> str:
    """One line for each member."""
    if checks.error:
        return checks.error
    lines = []
    for name, check in member_checks(checks).items():
        if check.result == NOT_CHECKED:
            lines.append(f"{name}: not checked ({check.detail})")
            continue
        text = f"{name}: {check.result} ({check.summary()}), "
        text += f"{check.bytes} bytes in {check.seconds:.2f}s"
        if check.detail:
            text += f": {check.detail}"
        lines.append(text)
    return "\n".join(lines or ["no members to check"])
