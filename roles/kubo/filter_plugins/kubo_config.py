"""Filters that let the kubo role change only the Kubo settings that differ."""

from __future__ import annotations

import copy
import json
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
    # None stands for Kubo's default where `ipfs init` writes no key, which Kubo also
    # reads from a null. Kubo writes empty lists and maps of some settings back as null:
    # same meaning, and treating them as different would rewrite them on every run.
    if wanted is None:
        return current is _MISSING or current is None
    if current is None and wanted in ([], {}):
        return True
    return current is not _MISSING and current == wanted


def kubo_config_changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The writes (dotted key to value, as `ipfs config --json` and kubo_config_apply make
    them) that give the Kubo config `current` the dotted keys of `wanted`: each key whose
    value differs, and for a key that must be absent (None) its parent without it, since a
    write cannot remove a key. The parents come first
    and are taken from `current` with every such removal made, so that no later write
    brings a removed key back."""
    removed = copy.deepcopy(current)
    parents: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for key, value in wanted.items():
        if _same(_lookup(current, key), value):
            continue
        parent, _, last = key.rpartition(".")
        if value is None and parent:
            del _lookup(removed, parent)[last]
            parents[parent] = _lookup(removed, parent)
        else:
            values[key] = value
    return parents | values


def _parts(dotted_key: str) -> list[str]:
    # Kubo reads its config file with Go's encoding/json, which matches keys whatever
    # their case: "addresses": {"api": ...} is Addresses.API to the daemon.
    return dotted_key.lower().split(".")


def _overlap(one: str, other: str) -> bool:
    """Whether writing one dotted key changes the other: the same key in any spelling,
    or one lies under the other."""
    a, b = _parts(one), _parts(other)
    return a[: len(b)] == b or b[: len(a)] == a


def _source(setting: str, owned: dict[str, Any]) -> str:
    """Where the role takes an owned setting from: its variable, or a fixed value and what
    needs it."""
    if "variable" in owned:
        return f"{setting} from {owned['variable']}"
    return f"{setting} to {json.dumps(owned['value'])} for {owned['needed_by']}"


def _owned_problem(key: str, settings: list[str], owned: dict[str, dict[str, Any]]) -> str:
    sources = ", ".join(_source(setting, owned[setting]) for setting in settings)
    variables = " and ".join(
        dict.fromkeys(owned[name]["variable"] for name in settings if "variable" in owned[name])
    )
    fix = f"Use {variables} instead" if variables else f"Leave {key} out of kubo_config"
    parent = any(len(_parts(key)) < len(_parts(setting)) for setting in settings)
    use = ", and" if variables else "; use"
    others = f"{use} a dotted key of its own for any other setting under {key}" if parent else ""
    return f"kubo_config cannot set {key}: the role sets {sources}. {fix}{others}."


def kubo_config_conflicts(
    config: dict[str, Any], owned: dict[str, dict[str, Any]], managed: dict[str, Any]
) -> list[str]:
    """Why the dotted keys of kubo_config (`config`) cannot be applied, a sentence for
    each key in the way: one that names, contains or lies under a setting the role owns
    (`owned`: dotted key to {value} with the variable it comes from, or, for a fixed value,
    needed_by); one that overlaps a setting the role manages but lets kubo_config replace
    under its own key (`managed`); two that overlap each other. Either way both would be
    written on every run, one undoing the other."""
    problems = []
    for index, key in enumerate(config):
        settings = [setting for setting in owned if _overlap(key, setting)]
        if settings:
            problems.append(_owned_problem(key, settings, owned))
        problems += [
            f"kubo_config cannot set {key}: it overlaps {setting}, which the role sets for "
            f"the network; to change it, give the key {setting} itself."
            for setting in managed
            if setting != key and _overlap(key, setting)
        ]
        problems += [
            f"kubo_config sets both {key} and {other}, which overlap; keep one of them."
            for other in list(config)[index + 1 :]
            if _overlap(key, other)
        ]
    return problems


def kubo_config_wanted(
    network: dict[str, Any], config: dict[str, Any], owned: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Every setting the role applies, dotted key to value: the network's (``network``),
    which kubo_config (``config``) replaces under their own key, and over both the role's
    own (``owned``: dotted key to {value, ...}), which preflight keeps kubo_config from."""
    return network | config | {key: setting["value"] for key, setting in owned.items()}


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
        return {
            "kubo_config_changes": kubo_config_changes,
            "kubo_config_apply": kubo_config_apply,
            "kubo_config_conflicts": kubo_config_conflicts,
            "kubo_config_wanted": kubo_config_wanted,
        }
