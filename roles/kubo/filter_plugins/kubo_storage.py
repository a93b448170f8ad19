"""Filters that compare the kubo role's Datastore.StorageMax with the filesystem under it."""

from __future__ import annotations

from typing import Any

# Kubo reads StorageMax with go-humanize's ParseBytes: a number, then a decimal (GB) or
# binary (GiB) unit, case-insensitive, its B optional.
_UNITS = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtpe", start=1):
    for _unit, _base in [
        (_letter, 1000),
        (_letter + "b", 1000),
        (_letter + "i", 1024),
        (_letter + "ib", 1024),
    ]:
        _UNITS[_unit] = _base**_power


def kubo_bytes(size: str) -> int:
    """The bytes Kubo reads from a size such as "10GB" (10**10) or "8GiB"; -1 for a size
    Kubo refuses."""
    size = str(size)
    digits = len(size) - len(size.lstrip("0123456789.,"))
    factor = _UNITS.get(size[digits:].strip().lower())
    try:
        number = float(size[:digits].replace(",", ""))
    except ValueError:
        return -1
    return -1 if factor is None else int(number * factor)


def kubo_path_and_parents(path: str) -> list[str]:
    """The path and every directory above it, deepest first: the first of them that exists
    is on the filesystem that will hold the path, even before it is created."""
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:n]) or "/" for n in range(len(parts), 0, -1)]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"kubo_bytes": kubo_bytes, "kubo_path_and_parents": kubo_path_and_parents}
