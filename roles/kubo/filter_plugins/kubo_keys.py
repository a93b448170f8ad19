"""The IPNS keys of a Kubo repository besides its own identity (the report key, say): where
Kubo's keystore keeps each one, and the IPNS name each gives, as Kubo prints it
(`ipfs key list -l --ipns-base=base36`), computed from the private key with no daemon and
no crypto library: for an Ed25519 key the public key is written out in the private one."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

# Kubo's keystore file of a key: "key_" + the name in lowercase base32 without padding.
_KEYSTORE_PREFIX = "key_"
# libp2p's KeyType.Ed25519; a private key's Data is the 32-byte seed, then the public key.
_ED25519 = 1
_ED25519_PRIVATE_SIZE = 64
# CIDv1, multicodec libp2p-key, identity multihash: how IPNS names a key of 42 bytes or less.
_CID_V1 = 0x01
_LIBP2P_KEY = 0x72
_IDENTITY = 0x00
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def kubo_keystore_file(name: str) -> str:
    """The file name under $IPFS_PATH/keystore that holds the key ``name``."""
    encoded = base64.b32encode(name.encode()).decode().rstrip("=").lower()
    return _KEYSTORE_PREFIX + encoded


def kubo_keystore_keys(slurped: list[dict[str, Any]]) -> dict[str, str]:
    """The keys read from the keystore, name -> private key (base64, as slurp reads the
    file), from the results of a slurp loop over its files; files of other names ignored."""
    keys = {}
    for result in slurped:
        file_name = PurePosixPath(result["source"]).name
        if not file_name.startswith(_KEYSTORE_PREFIX):
            continue
        encoded = file_name.removeprefix(_KEYSTORE_PREFIX).upper()
        name = base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
        keys[name] = result["content"]
    return keys


def kubo_ipns_name(private_key: str) -> str | None:
    """The IPNS name (k51…, base36 CIDv1 libp2p-key) of a marshalled libp2p private key
    given in base64; None for a key that is not Ed25519 (its name needs the public key
    derived, which Kubo alone does here)."""
    fields = _protobuf_fields(base64.b64decode(private_key))
    data = fields.get(2, b"")
    if (
        fields.get(1) != _ED25519
        or not isinstance(data, bytes)
        or len(data) != _ED25519_PRIVATE_SIZE
    ):
        return None
    public = data[32:]
    public_key = bytes([0x08, _ED25519, 0x12, len(public)]) + public
    cid = bytes([_CID_V1, _LIBP2P_KEY, _IDENTITY, len(public_key)]) + public_key
    return "k" + _base36(cid)


def kubo_ipns_names(keys: Mapping[str, str]) -> dict[str, str]:
    """Name -> IPNS name of the keys (name -> private key in base64) whose name is known."""
    names = {name: kubo_ipns_name(private_key) for name, private_key in keys.items()}
    return {name: ipns for name, ipns in names.items() if ipns is not None}


def _protobuf_fields(message: bytes) -> dict[int, int | bytes]:
    """The varint and length-delimited fields of a protobuf message, by field number."""
    fields: dict[int, int | bytes] = {}
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            fields[number], position = _varint(message, position)
        elif wire_type == 2:
            size, position = _varint(message, position)
            fields[number] = message[position : position + size]
            position += size
        else:
            raise ValueError(f"not a libp2p private key (protobuf wire type {wire_type})")
    return fields


def _varint(message: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(message):
            raise ValueError("not a libp2p private key (truncated protobuf)")
        byte = message[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _base36(data: bytes) -> str:
    """Multibase base36: the bytes as one big-endian number, a '0' for each leading zero byte."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
    return "0" * (len(data) - len(data.lstrip(b"\0"))) + digits


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "kubo_keystore_file": kubo_keystore_file,
            "kubo_keystore_keys": kubo_keystore_keys,
            "kubo_ipns_names": kubo_ipns_names,
        }
