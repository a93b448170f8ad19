"""Filters for the kubo role's systemd unit."""

from __future__ import annotations

from typing import Any


def kubo_unit_environment(name: str, value: Any) -> str:
    """An Environment= assignment that systemd reads back as exactly name=value. systemd
    expands specifiers (%) in the whole line first, then unquotes it with C-style escapes;
    line breaks cannot be written at all (preflight refuses them)."""
    assignment = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{assignment}"'


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"kubo_unit_environment": kubo_unit_environment}
