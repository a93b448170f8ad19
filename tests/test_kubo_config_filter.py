"""The kubo role's filters: which dotted settings differ, and writing them into the config."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_plugin() -> ModuleType:
    path = Path(__file__).parent.parent / "roles/kubo/filter_plugins/kubo_config.py"
    spec = importlib.util.spec_from_file_location("kubo_config_filter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = _load_plugin()

# The shape of a fresh repository's config, where Kubo writes some empty maps as null.
CURRENT: dict[str, Any] = {
    "API": {"HTTPHeaders": {}},
    "Addresses": {"API": "/ip4/127.0.0.1/tcp/5001", "Swarm": ["/ip4/0.0.0.0/tcp/4001"]},
    "Identity": {"PeerID": "12D3KooWExample", "PrivKey": "CAESQExample"},
    "Peering": {"Peers": None},
    "Swarm": {"ConnMgr": {}},
}


def test_apply_sets_each_dotted_key_and_keeps_the_rest() -> None:
    settings = {
        "Addresses.Swarm": ["/ip4/0.0.0.0/tcp/4002"],
        "API.Authorizations": {
            "ipfs-consortium": {"AuthSecret": "bearer:t", "AllowedPaths": ["/api/v0"]}
        },
        "DNS.Resolvers": {".": "https://127.0.0.1:9/dns-query"},
    }
    result = plugin.kubo_config_apply(CURRENT, settings)
    assert result["Addresses"] == {
        "API": "/ip4/127.0.0.1/tcp/5001",
        "Swarm": ["/ip4/0.0.0.0/tcp/4002"],
    }
    assert result["API"] == {"HTTPHeaders": {}, "Authorizations": settings["API.Authorizations"]}
    assert result["DNS"] == {"Resolvers": {".": "https://127.0.0.1:9/dns-query"}}, "a map created"
    assert result["Identity"] == CURRENT["Identity"]


def test_apply_creates_maps_where_kubo_wrote_null() -> None:
    result = plugin.kubo_config_apply(CURRENT, {"Peering.Peers.Extra": 1})
    assert result["Peering"] == {"Peers": {"Extra": 1}}


def test_apply_leaves_its_inputs_alone() -> None:
    current = {"Swarm": {"ConnMgr": {"HighWater": 10}}}
    value = {"Type": "basic"}
    result = plugin.kubo_config_apply(current, {"Swarm.ConnMgr": value})
    result["Swarm"]["ConnMgr"]["Type"] = "none"
    assert current == {"Swarm": {"ConnMgr": {"HighWater": 10}}}
    assert value == {"Type": "basic"}


def test_apply_refuses_to_go_through_a_value_that_is_not_a_map() -> None:
    with pytest.raises(
        ValueError, match=r"^Addresses\.API is not a map: cannot set Addresses\.API\.Port$"
    ):
        plugin.kubo_config_apply(CURRENT, {"Addresses.API.Port": 1})


def test_what_apply_wrote_is_no_change_the_next_time() -> None:
    """The role's idempotence: a second run finds nothing to write."""
    wanted = {
        "Addresses.Swarm": ["/ip4/0.0.0.0/tcp/4002"],
        "Peering.Peers": [{"ID": "12D3KooWOther", "Addrs": ["/ip4/10.0.0.2/tcp/4001"]}],
        "Swarm.ConnMgr.HighWater": 200,
    }
    changes = plugin.kubo_config_changes(CURRENT, wanted)
    assert set(changes) == set(wanted)
    assert plugin.kubo_config_changes(plugin.kubo_config_apply(CURRENT, changes), wanted) == {}
