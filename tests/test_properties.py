"""Property tests: no input makes the parsers raise anything but the project's own errors."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_consortium.config import load_config, parse_config
from ipfs_consortium.errors import CIDError, ConfigError, ManifestError
from ipfs_consortium.ipfs.cid import cid_key, key_of_canonical, key_text, parse_cid
from ipfs_consortium.policy.pin_names import MAX_PIN_NAME, PinNames
from ipfs_consortium.sync.manifest import parse_manifest, read_manifest

VALID = [
    "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    "12D3KooWF4tRBEbtyo8wfoJJgp25ykU5L9KD2wuFH5tKtjGTnwsH",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=60) | st.sampled_from(VALID),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=40,
)  # fmt: skip

config_like = st.fixed_dictionaries(
    {"peers": st.lists(json_values | st.sampled_from(VALID), max_size=4)},
    optional={
        key: json_values
        for key in ["api", "concurrency", "max_pins", "max_bytes", "stall_timeout", "state_dir"]
    },
)


manifest_bytes = st.binary(max_size=2000) | json_values.map(lambda v: json.dumps(v).encode())


@given(manifest_bytes)
def test_manifest_parser_raises_only_manifest_errors(data: bytes) -> None:
    try:
        manifest = parse_manifest("m.json", data, 1000)
    except ManifestError as exc:
        assert str(exc).startswith("m.json")
        return
    for key in manifest.added:
        assert cid_key(key_text(key)) == key, "what the parser keeps is a CID's key"


def _read(data: bytes, size: int) -> object:
    into: dict[int, None] = {}
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    try:
        manifest = read_manifest("m.json", chunks, 10_000, into)
    except ManifestError as exc:
        assert into == {}, "a refused file leaves nothing behind"
        return str(exc)
    return list(into), manifest.added, manifest.problems


@given(manifest_bytes, st.integers(min_value=1, max_value=64))
def test_a_manifest_streamed_in_chunks_reads_as_it_does_whole(data: bytes, size: int) -> None:
    assert _read(data, size) == _read(data, len(data) or 1)


@given(json_values | config_like)
def test_config_parser_raises_only_config_errors(data: object) -> None:
    try:
        parse_config(data, "c.json")
    except ConfigError as exc:
        assert str(exc).startswith("c.json")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500))
def test_config_loader_raises_only_config_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        load_config(path)


@given(st.text(max_size=120))
def test_cid_parser_raises_only_cid_errors(text: str) -> None:
    try:
        canonical = parse_cid(text)
    except CIDError:
        return
    assert parse_cid(canonical) == canonical
    assert key_of_canonical(canonical) == cid_key(text), "Kubo's form decodes to the same key"


@given(
    st.lists(
        st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True), min_size=1, max_size=12, unique=True
    )
)
def test_pin_names_fit_and_name_their_peers(labels: list[str]) -> None:
    names = PinNames("a-consortium-name-of-32-chars-xyz"[:32])
    name = names.name(labels)
    assert len(name.encode()) <= MAX_PIN_NAME
    owners = names.owners(name)
    assert owners is not None
    assert owners.labels <= set(labels)
    assert owners.truncated == (owners.labels != set(labels))
    assert PinNames("other").owners(name) is None, "another consortium never owns it"
