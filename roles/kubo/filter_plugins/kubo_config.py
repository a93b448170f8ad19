"""Filters that let the kubo role change only the Kubo settings that differ."""

from __future__ import annotations

import copy
from typing import Any

_MISSING = object()


def _lookup(config: Any, dotted_key: str) -> Any:
    """The value at a dotted key ("Swarm.ConnMgr.HighWater"), as `ipfs config` splits it."""
    node = config
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _same(current: Any, wanted: Any) -> bool:
    # Kubo writes empty lists and maps of some settings back as null: same meaning, and
    # treating them as different would rewrite them on every run.
    if current is None and wanted in ([], {}):
        return True
    return current is not _MISSING and current == wanted


def kubo_config_changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The dotted keys of `wanted` whose value in the Kubo config `current` differs."""
    return {
        key: value for key, value in wanted.items() if not _same(_lookup(current, key), value)
    }


def kubo_config_apply(current: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of the Kubo config `current` with the dotted keys of `settings` set.

    As `ipfs config` sets them (Kubo's MapSetKV): a missing or null map on the way is
    created; any other value on the way is an error.
    """
    config = copy.deepcopy(current)
    for key, value in settings.items():
        *parents, last = key.split(".")
        node = config
        for depth, part in enumerate(parents):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                raise ValueError(f"{'.'.join(parents[: depth + 1])} is not a map: cannot set {key}")
        node[last] = copy.deepcopy(value)
    return config


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"kubo_config_changes": kubo_config_changes, "kubo_config_apply": kubo_config_apply}
