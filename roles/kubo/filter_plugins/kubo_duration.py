"""A duration read as Kubo reads Ipns.RepublishPeriod (Go's time.ParseDuration)."""

from __future__ import annotations

import re
from typing import Any

_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")


def kubo_seconds(duration: str) -> float:
    """The seconds in a duration such as "1m" or "1h30m"; -1 for one Go refuses."""
    text = str(duration)
    parts = _PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return -1
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"kubo_seconds": kubo_seconds}
