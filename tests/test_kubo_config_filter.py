"""The kubo role's filters: which dotted settings differ, writing them into the config,
what kubo_config may not set (kubo_config.py), the daemon's environment quoted into
its systemd unit (kubo_unit.py), StorageMax read as Kubo reads it (kubo_storage.py), a
duration as Kubo reads it (kubo_duration.py), and the default peering address, by DNS name
where there is one (kubo_peering.py)."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_plugin(name: str) -> ModuleType:
    path = Path(__file__).parent.parent / f"roles/kubo/filter_plugins/{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_filter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = _load_plugin("kubo_config")
unit = _load_plugin("kubo_unit")
storage = _load_plugin("kubo_storage")
peering = _load_plugin("kubo_peering")
duration = _load_plugin("kubo_duration")

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


# kubo_config_changes: null against an empty list or map.


@pytest.mark.parametrize("wanted", [[], {}, None])
def test_a_null_kubo_wrote_is_the_empty_list_or_map_and_no_change(wanted: Any) -> None:
    """Kubo writes some empty lists and maps back as null; rewriting them would change the
    config file on every run."""
    assert plugin.kubo_config_changes({"Peering": {"Peers": None}}, {"Peering.Peers": wanted}) == {}


@pytest.mark.parametrize("wanted", [["auto"], {".": "auto"}, "", 0, False])
def test_a_null_is_not_any_other_value(wanted: Any) -> None:
    current = {"Peering": {"Peers": None}}
    assert plugin.kubo_config_changes(current, {"Peering.Peers": wanted}) == {
        "Peering.Peers": wanted
    }


@pytest.mark.parametrize("current", [[], {}, ["auto"], False])
def test_a_wanted_null_removes_any_value_but_null(current: Any) -> None:
    """The rule is one way: None in `wanted` means "no key", so an empty list or map the
    config holds is removed, by writing its parent without it."""
    config = {"AutoConf": {"Enabled": current, "URL": "u"}}
    assert plugin.kubo_config_changes(config, {"AutoConf.Enabled": None}) == {
        "AutoConf": {"URL": "u"}
    }


def test_an_empty_list_and_an_empty_map_differ() -> None:
    current = {"DNS": {"Resolvers": []}, "Bootstrap": {}}
    wanted = {"DNS.Resolvers": {}, "Bootstrap": []}
    assert plugin.kubo_config_changes(current, wanted) == wanted


def test_a_missing_key_is_written_even_empty() -> None:
    assert plugin.kubo_config_changes({}, {"Bootstrap": [], "DNS.Resolvers": {}}) == {
        "Bootstrap": [],
        "DNS.Resolvers": {},
    }


@pytest.mark.parametrize(
    "current", [{}, {"AutoConf": {}}, {"AutoConf": None}, {"AutoConf": {"Enabled": None}}]
)
def test_a_wanted_null_of_a_key_that_is_absent_is_no_change(current: dict[str, Any]) -> None:
    assert plugin.kubo_config_changes(current, {"AutoConf.Enabled": None}) == {}


def test_a_wanted_null_at_the_top_is_written_as_null() -> None:
    """A top-level key has no parent to write without it."""
    assert plugin.kubo_config_changes({"Bootstrap": []}, {"Bootstrap": None}) == {"Bootstrap": None}


# kubo_config_changes: the other edges.


def test_removals_write_their_parents_first_with_every_removal_made() -> None:
    current = {"A": {"B": {"C": 1, "E": 2}, "D": 3, "F": 4}}
    wanted = {"A.B.C": None, "A.D": None, "A.F": 5}
    changes = plugin.kubo_config_changes(current, wanted)
    assert list(changes.items()) == [
        ("A.B", {"E": 2}),
        ("A", {"B": {"E": 2}, "F": 4}),
        ("A.F", 5),
    ]
    assert plugin.kubo_config_apply(current, changes) == {"A": {"B": {"E": 2}, "F": 5}}
    assert plugin.kubo_config_changes(plugin.kubo_config_apply(current, changes), wanted) == {}


def test_changes_leave_the_current_config_alone() -> None:
    current = {"A": {"B": {"C": 1}, "D": [1]}}
    plugin.kubo_config_changes(current, {"A.B.C": None, "A.D": [2]})
    assert current == {"A": {"B": {"C": 1}, "D": [1]}}


def test_equal_values_are_no_change_whatever_the_order_of_their_keys() -> None:
    current = {"DNS": {"Resolvers": {"eth.": "https://a", ".": "https://b"}}}
    wanted = {"DNS.Resolvers": {".": "https://b", "eth.": "https://a"}}
    assert plugin.kubo_config_changes(current, wanted) == {}


def test_a_key_under_a_list_is_a_change_that_apply_refuses() -> None:
    current = {"Addresses": {"Swarm": ["/ip4/0.0.0.0/tcp/4001"]}}
    changes = plugin.kubo_config_changes(current, {"Addresses.Swarm.0": "/ip4/0.0.0.0/tcp/4002"})
    assert changes == {"Addresses.Swarm.0": "/ip4/0.0.0.0/tcp/4002"}
    with pytest.raises(ValueError, match=r"^Addresses\.Swarm is not a map: cannot set "):
        plugin.kubo_config_apply(current, changes)


# kubo_config_apply: the other edges.


def test_apply_creates_every_missing_map_on_the_way() -> None:
    assert plugin.kubo_config_apply({}, {"X.Y.Z": 1, "Top": None}) == {
        "X": {"Y": {"Z": 1}},
        "Top": None,
    }


def test_apply_names_the_first_value_on_the_way_that_is_not_a_map() -> None:
    with pytest.raises(ValueError, match=r"^A\.B is not a map: cannot set A\.B\.C\.D$"):
        plugin.kubo_config_apply({"A": {"B": False}}, {"A.B.C.D": 1})


# kubo_config_conflicts, with settings of its own so that the sentences are exact.

OWNED: dict[str, dict[str, Any]] = {
    "Addresses.API": {"variable": "kubo_api_port", "value": "/ip4/127.0.0.1/tcp/5001"},
    "Addresses.Swarm": {"variable": "kubo_swarm_addresses", "value": []},
    "Addresses.NoAnnounce": {"variable": "kubo_swarm_addresses", "value": []},
    "Gateway.NoFetch": {"needed_by": "the checks", "value": True},
}
MANAGED: dict[str, Any] = {"Bootstrap": [], "DNS.Resolvers": {}}


@pytest.mark.parametrize("value", [None, [], {}, "x"])
def test_conflicts_look_at_keys_not_values(value: Any) -> None:
    """A null, an empty list and an empty map are alike here: only the key decides."""
    assert plugin.kubo_config_conflicts({"Bootstrap": value}, OWNED, MANAGED) == []
    assert plugin.kubo_config_conflicts({"DNS.Resolvers": value}, OWNED, MANAGED) == []
    assert plugin.kubo_config_conflicts({"Addresses.API": value}, OWNED, MANAGED) == [
        "kubo_config cannot set Addresses.API: the role sets Addresses.API from kubo_api_port. "
        "Use kubo_api_port instead."
    ]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (
            "Addresses",
            "kubo_config cannot set Addresses: the role sets Addresses.API from kubo_api_port, "
            "Addresses.Swarm from kubo_swarm_addresses, Addresses.NoAnnounce from "
            "kubo_swarm_addresses. Use kubo_api_port and kubo_swarm_addresses instead, and a "
            "dotted key of its own for any other setting under Addresses.",
        ),
        (
            "addresses.swarm.0",
            "kubo_config cannot set addresses.swarm.0: the role sets Addresses.Swarm from "
            "kubo_swarm_addresses. Use kubo_swarm_addresses instead.",
        ),
        (
            "gateway.nofetch",
            "kubo_config cannot set gateway.nofetch: the role sets Gateway.NoFetch to true for "
            "the checks. Leave gateway.nofetch out of kubo_config.",
        ),
        (
            "Gateway",
            "kubo_config cannot set Gateway: the role sets Gateway.NoFetch to true for the "
            "checks. Leave Gateway out of kubo_config; use a dotted key of its own for any "
            "other setting under Gateway.",
        ),
        (
            "dns.resolvers",
            "kubo_config cannot set dns.resolvers: it overlaps DNS.Resolvers, which the role "
            "sets for the network; to change it, give the key DNS.Resolvers itself.",
        ),
        (
            "DNS.Resolvers.eth",
            "kubo_config cannot set DNS.Resolvers.eth: it overlaps DNS.Resolvers, which the role "
            "sets for the network; to change it, give the key DNS.Resolvers itself.",
        ),
    ],
)
def test_conflicts_say_what_to_use_instead(key: str, problem: str) -> None:
    assert plugin.kubo_config_conflicts({key: 1}, OWNED, MANAGED) == [problem]


def test_a_key_that_only_begins_like_a_setting_is_no_conflict() -> None:
    config = {"AddressesX": 1, "Addresses2.API": 1, "Bootstrapped": 1, "DNS.ResolversExtra": 1}
    assert plugin.kubo_config_conflicts(config, OWNED, MANAGED) == []


def test_one_setting_in_two_spellings_is_refused() -> None:
    config = {"Swarm.ConnMgr.HighWater": 1, "swarm.connmgr.highwater": 2}
    assert plugin.kubo_config_conflicts(config, OWNED, MANAGED) == [
        "kubo_config sets both Swarm.ConnMgr.HighWater and swarm.connmgr.highwater, which "
        "overlap; keep one of them."
    ]


def test_every_problem_is_said_in_the_order_of_the_keys() -> None:
    config = {"DNS": 1, "DNS.Resolvers.eth": 2}
    managed = (
        "it overlaps DNS.Resolvers, which the role sets for the network; to change it, give "
        "the key DNS.Resolvers itself."
    )
    assert plugin.kubo_config_conflicts(config, OWNED, MANAGED) == [
        f"kubo_config cannot set DNS: {managed}",
        "kubo_config sets both DNS and DNS.Resolvers.eth, which overlap; keep one of them.",
        f"kubo_config cannot set DNS.Resolvers.eth: {managed}",
    ]


# kubo_unit_environment: Environment= lines systemd reads back as written.


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("off", '"IPFS_TELEMETRY=off"'),
        ("", '"IPFS_TELEMETRY="'),
        ("two words", '"IPFS_TELEMETRY=two words"'),
        ('say "hi"', r'"IPFS_TELEMETRY=say \"hi\""'),
        ("C:\\dir", r'"IPFS_TELEMETRY=C:\\dir"'),
        ('\\"', r'"IPFS_TELEMETRY=\\\""'),
        ("50%", '"IPFS_TELEMETRY=50%%"'),
        ("%n%%", '"IPFS_TELEMETRY=%%n%%%%"'),
        ("$HOME it's", '"IPFS_TELEMETRY=$HOME it\'s"'),
        ("a=b", '"IPFS_TELEMETRY=a=b"'),
        (2, '"IPFS_TELEMETRY=2"'),
    ],
)
def test_environment_is_quoted_for_systemd(value: Any, line: str) -> None:
    """systemd expands % specifiers in the whole line, then reads C-style escapes inside the
    quotes; $ means nothing in Environment=."""
    assert unit.kubo_unit_environment("IPFS_TELEMETRY", value) == line


def test_the_filters_are_registered_under_their_names() -> None:
    assert plugin.FilterModule().filters() == {
        "kubo_config_changes": plugin.kubo_config_changes,
        "kubo_config_apply": plugin.kubo_config_apply,
        "kubo_config_conflicts": plugin.kubo_config_conflicts,
        "kubo_config_wanted": plugin.kubo_config_wanted,
    }
    assert unit.FilterModule().filters() == {"kubo_unit_environment": unit.kubo_unit_environment}
    assert storage.FilterModule().filters() == {
        "kubo_bytes": storage.kubo_bytes,
        "kubo_path_and_parents": storage.kubo_path_and_parents,
    }
    assert peering.FilterModule().filters() == {
        "kubo_peering_address": peering.kubo_peering_address,
        "kubo_peering_entries": peering.kubo_peering_entries,
        "kubo_peering_with_peers": peering.kubo_peering_with_peers,
    }


# kubo_bytes: Datastore.StorageMax as go-humanize's ParseBytes reads it in Kubo.
@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("10GB", 10 * 1000**3),
        ("80 gb", 80 * 1000**3),
        ("75GiB", 75 * 1024**3),
        ("1.5T", 1500 * 1000**3),
        ("2ki", 2048),
        ("1,000MB", 1000 * 1000**2),
        ("512", 512),
        ("80 GBytes", -1),
        ("GB", -1),
        ("-1GB", -1),
        ("1.2.3GB", -1),
    ],
)
def test_storage_max_is_read_as_kubo_reads_it(size: str, expected: int) -> None:
    assert storage.kubo_bytes(size) == expected


def test_a_path_is_held_by_itself_or_the_deepest_directory_above_it() -> None:
    assert storage.kubo_path_and_parents("/var/lib/ipfs/") == [
        "/var/lib/ipfs",
        "/var/lib",
        "/var",
        "/",
    ]
    assert storage.kubo_path_and_parents("/") == ["/"]


# kubo_peering_address: [ansible_host, inventory_hostname] and the default IPv4 address.
@pytest.mark.parametrize(
    ("names", "address"),
    [
        (["alice.example.org", "alice"], "/dns4/alice.example.org/tcp/4001"),
        (["198.51.100.7", "bob.example.org"], "/dns4/bob.example.org/tcp/4001"),
        (["198.51.100.7", "bob"], "/ip4/192.0.2.2/tcp/4001"),
        (["ipfs-consortium-alice", "alice"], "/ip4/192.0.2.2/tcp/4001"),
        (["member1", "member1"], "/ip4/192.0.2.2/tcp/4001"),
        (["2001:db8::7", "carol"], "/ip4/192.0.2.2/tcp/4001"),
        (["10.0.0.300", "x"], "/ip4/192.0.2.2/tcp/4001"),
        (["-bad.example.org", "under_score.example.org"], "/ip4/192.0.2.2/tcp/4001"),
        (["a..example.org", "example.org."], "/ip4/192.0.2.2/tcp/4001"),
        (["node-1.eu-west.example", "x"], "/dns4/node-1.eu-west.example/tcp/4001"),
    ],
)
def test_a_member_is_peered_by_its_dns_name_else_by_its_ipv4_address(
    names: list[str], address: str
) -> None:
    assert peering.kubo_peering_address(names, "192.0.2.2") == address


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m", 60), ("4h", 14400), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("24h", 86400),
     ("", -1), ("1", -1), ("1 m", -1), ("1d", -1), ("m", -1), ("1m!", -1)],
)  # fmt: skip
def test_a_duration_is_read_as_go_reads_it(text: str, seconds: float) -> None:
    assert duration.kubo_seconds(text) == seconds
