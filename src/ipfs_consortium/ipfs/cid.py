"""Content identifiers: validate, and bring to one key and one canonical text form.

Manifests may spell the same CID in several multibases (or with an ``/ipfs/`` prefix),
while Kubo's ``pin/ls`` answers in one: CIDv0 as base58btc, CIDv1 as base32. A run holds
CIDs as *keys*: their binary form read as one big-endian integer (a CIDv0 is its bare
multihash, which starts with 0x12; a CIDv1 starts with its version, 1; neither starts
with a zero byte, so the integer gives the bytes back). At a million CIDs the text form
alone would cost more memory than a run may use; an integer is the smallest object that
Python hashes and compares in C. Text is made only for Kubo and for people.

Written here rather than taken from a library because members install nothing from PyPI
and Debian packages no CID library (``multiformats`` and ``py-cid`` are PyPI-only;
``python3-base58`` covers one multibase of the several a manifest may use). The few
codecs and multibases a manifest may use are all this needs.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Callable

from ..errors import CIDError

# A CID as an integer; see the module docstring.
CidKey = int

_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58_ALPHABET)}
_BASE36_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE36_INDEX = {c: i for i, c in enumerate(_BASE36_ALPHABET)}

_SHA2_256 = 0x12
_DAG_PB = 0x70
# A sane upper bound: real CIDs are well under 100 characters; a longer string is garbage
# and not worth decoding.
_MAX_CID_TEXT = 512


def _decode_positional(text: str, index: dict[str, int], base: int, zero: str) -> bytes:
    """Decode base58/base36 text: big-endian digits, leading zero digits are zero bytes."""
    number = 0
    for char in text:
        digit = index.get(char)
        if digit is None:
            raise ValueError(f"character {char!r} is not in the alphabet")
        number = number * base + digit
    leading = len(text) - len(text.lstrip(zero))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * leading + body


def b58decode(text: str) -> bytes:
    return _decode_positional(text, _BASE58_INDEX, 58, "1")


def _encode_positional(data: bytes, alphabet: str) -> str:
    """Encode as base58/base36 text: big-endian digits, zero bytes lead as zero digits."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, len(alphabet))
        digits.append(alphabet[digit])
    leading = len(data) - len(data.lstrip(b"\x00"))
    return alphabet[0] * leading + "".join(reversed(digits))


def b58encode(data: bytes) -> str:
    return _encode_positional(data, _BASE58_ALPHABET)


# base32 (RFC 4648, lower case) -> the digits Python's int() reads in base 32: decoding a
# whole CID then costs two C calls instead of a Python loop over its characters.
_B32_DIGITS = bytes.maketrans(
    b"abcdefghijklmnopqrstuvwxyz234567", b"0123456789abcdefghijklmnopqrstuv"
)
_B32_TEXT = re.compile("[a-z2-7]*")


def _b32decode(text: str) -> bytes:
    lower = text.lower().rstrip("=")
    if not _B32_TEXT.fullmatch(lower):
        raise ValueError("not base32")
    return _b32number(lower).to_bytes(5 * len(lower) // 8, "big")


def _b32number(text: str) -> int:
    """Unpadded lower-case base32 as the big-endian integer of the bytes it encodes."""
    spare = 5 * len(text) % 8
    number = int(text.encode("ascii").translate(_B32_DIGITS), 32) if text else 0
    if number & ((1 << spare) - 1) or spare >= 5:
        raise ValueError("not canonical base32")
    return number >> spare


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def _b64decode(text: str, altchars: bytes | None) -> bytes:
    stripped = text.rstrip("=")
    return base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars, validate=True)


# Multibase prefix -> decoder. Only the bases a person or tool is likely to use for CIDs.
_MULTIBASE: dict[str, Callable[[str], bytes]] = {
    "b": _b32decode,
    "B": _b32decode,
    "c": _b32decode,
    "C": _b32decode,
    "z": b58decode,
    "k": lambda t: _decode_positional(t.lower(), _BASE36_INDEX, 36, "0"),
    "K": lambda t: _decode_positional(t.lower(), _BASE36_INDEX, 36, "0"),
    "f": binascii.unhexlify,
    "F": binascii.unhexlify,
    "m": lambda t: _b64decode(t, None),
    "M": lambda t: _b64decode(t, None),
    "u": lambda t: _b64decode(t, b"-_"),
    "U": lambda t: _b64decode(t, b"-_"),
}


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 63, 7):
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise ValueError("varint too long")


def _check_multihash(data: bytes, pos: int) -> None:
    _code, pos = _read_varint(data, pos)
    length, pos = _read_varint(data, pos)
    if len(data) - pos != length:
        raise ValueError(f"multihash says {length} digest bytes, has {len(data) - pos}")


def decode_multibase(text: str) -> bytes:
    """Decode multibase text to bytes; ValueError when it is not valid multibase."""
    decoder = _MULTIBASE.get(text[:1])
    if decoder is None:
        raise ValueError(f"unknown multibase prefix {text[:1]!r}")
    try:
        return decoder(text[1:])
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not valid for its multibase: {exc}") from exc


def is_multihash(data: bytes) -> bool:
    """Whether ``data`` is one whole multihash (a peer ID in binary is one)."""
    try:
        _check_multihash(data, 0)
    except ValueError:
        return False
    return True


# Multicodecs a CIDv1 may carry, named for messages.
LIBP2P_KEY = 0x72
_CODEC_NAMES = {
    0x55: "raw", _DAG_PB: "dag-pb", 0x71: "dag-cbor", 0x0129: "dag-json", LIBP2P_KEY: "libp2p-key",
}  # fmt: skip


def peer_id_text(key: CidKey) -> str:
    """The peer ID of a libp2p-key CID key, as Kubo's ``swarm/peers`` writes it: the
    CID's multihash in base58btc."""
    data = key.to_bytes((key.bit_length() + 7) // 8, "big")
    _version, pos = _read_varint(data, 0)
    _codec, pos = _read_varint(data, pos)
    return b58encode(data[pos:])


def libp2p_key_text(peer_id: str) -> str:
    """The CIDv1 libp2p-key form, in base36, of a base58btc peer ID (``Qm…``, ``12D3Koo…``):
    what Kubo's ``key list -l --ipns-base base36`` prints, which no content CID can be.
    ValueError when ``peer_id`` is not base58btc."""
    return "k" + _encode_positional(bytes([1, LIBP2P_KEY]) + b58decode(peer_id), _BASE36_ALPHABET)


def codec_name(codec: int) -> str:
    return _CODEC_NAMES.get(codec, f"0x{codec:x}")


def key_text(key: CidKey) -> str:
    """The canonical text of a CID key: what Kubo's ``pin/ls`` would print."""
    data = key.to_bytes((key.bit_length() + 7) // 8, "big")
    if data[:1] == b"\x01":
        return "b" + _b32encode(data)
    return b58encode(data)


def key_of_canonical(text: str) -> CidKey:
    """The key of a CID already in canonical form, as Kubo answers and this tool writes.

    No validation beyond decoding: the full parse is for text a person or a peer wrote.
    ValueError when the text does not decode.
    """
    if text[:1] == "b":
        try:
            return _b32number(text[1:])
        except UnicodeEncodeError:
            raise ValueError(f"{text[:80]!r} is not base32") from None
    return int.from_bytes(b58decode(text), "big")


def parse_cid(text: str) -> str:
    """Return the canonical form of a CID, or raise CIDError saying why it is not one.

    Accepts CIDv0 (``Qm…``), CIDv1 in any common multibase, and an ``/ipfs/`` prefix.
    """
    return key_text(cid_key_codec(text)[0])


def cid_key(text: str) -> CidKey:
    """The key of a CID, or CIDError saying why ``text`` is not one (as parse_cid)."""
    return cid_key_codec(text)[0]


def parse_cid_codec(text: str) -> tuple[str, int]:
    """The canonical form of a CID and its multicodec (dag-pb for a CIDv0)."""
    key, codec = cid_key_codec(text)
    return key_text(key), codec


def cid_key_codec(text: str) -> tuple[CidKey, int]:
    """The key of a CID and its multicodec (dag-pb for a CIDv0)."""
    raw = text.removeprefix("/ipfs/")
    head, slash, _ = raw.partition("/")
    if slash and head:
        # A path into a DAG names whatever the peer's content holds there today, which
        # the pin would then not follow: a manifest lists the CIDs themselves.
        try:
            cid = parse_cid(head)
        except CIDError:
            pass
        else:
            raise CIDError(
                f"{text[:80]!r} is a path into {cid}: sub-paths are not supported, "
                "list the CID of what it points at"
            )
    if not raw or len(raw) > _MAX_CID_TEXT or raw != raw.strip():
        raise CIDError(f"{text[:80]!r} is not a CID")
    if len(raw) == 46 and raw.startswith("Qm"):
        try:
            data = b58decode(raw)
        except ValueError as exc:
            raise CIDError(f"{text!r} is not a CID: {exc}") from exc
        if len(data) != 34 or data[:2] != bytes([_SHA2_256, 32]):
            raise CIDError(f"{text!r} is not a CID: not a sha2-256 CIDv0")
        return int.from_bytes(data, "big"), _DAG_PB
    try:
        data = decode_multibase(raw)
        version, pos = _read_varint(data, 0)
        if version != 1:
            raise ValueError(f"CID version {version} is not supported")
        codec, pos = _read_varint(data, pos)
        _check_multihash(data, pos)
    except ValueError as exc:
        raise CIDError(f"{text[:80]!r} is not a CID: {exc}") from exc
    return int.from_bytes(data, "big"), codec


# The multihash functions whose digests this tool can check a block against, by code.
_HASHES: dict[int, Callable[[bytes], bytes]] = {
    0x11: lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    _SHA2_256: lambda data: hashlib.sha256(data).digest(),
    0x13: lambda data: hashlib.sha512(data).digest(),
    0x14: lambda data: hashlib.sha3_512(data).digest(),
    0x16: lambda data: hashlib.sha3_256(data).digest(),
    0xB220: lambda data: hashlib.blake2b(data, digest_size=32).digest(),
    0xB240: lambda data: hashlib.blake2b(data).digest(),
}


def _multihash(key: CidKey) -> tuple[int, bytes]:
    """The hash function's code and the digest of a CID key."""
    data = key.to_bytes((key.bit_length() + 7) // 8, "big")
    pos = 0
    if data[:1] == b"\x01":
        _version, pos = _read_varint(data, 0)
        _codec, pos = _read_varint(data, pos)
    code, pos = _read_varint(data, pos)
    _length, pos = _read_varint(data, pos)
    return code, data[pos:]


def checkable(key: CidKey) -> bool:
    """Whether a block's bytes can be checked against ``key`` here: an identity CID holds
    its block itself, a few hash functions are not in hashlib (blake3), and a digest cut
    short proves little."""
    code, digest = _multihash(key)
    return code in _HASHES and len(digest) >= 16


def block_matches(key: CidKey, block: bytes) -> bool:
    """Whether ``block`` hashes to ``key`` (a checkable one)."""
    code, digest = _multihash(key)
    return _HASHES[code](block)[: len(digest)] == digest
