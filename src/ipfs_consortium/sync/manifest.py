"""Manifests: JSON files, each a top-level array of CIDs a member wants mirrored.

Parsing is strict about the file and forgiving about entries: a file that is not JSON,
not an array, or too large is rejected whole; a bad entry is reported with its position
and skipped, so one typo does not cost a peer the rest of its list. A file is read as a
stream, entry by entry, straight into the list it adds to: a million CIDs cost what the
list holds, not also the file's text and its decoded form.
"""

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import CIDError, ManifestError
from ..ipfs.cid import CidKey, cid_key
from ..jsondoc import iter_json_array

MANIFEST_SUFFIX = ".json"
# A hostile manifest can hold a million bad entries; the log needs only the first few.
MAX_PROBLEMS_LISTED = 20


@dataclass
class Manifest:
    """What one manifest file yielded, and its entry problems."""

    name: str
    # The CIDs this file added to the list it was read into, in order.
    added: list[CidKey] = field(default_factory=list)
    # Entries with CIDs new to the list that did not fit under its limit.
    over: int = 0
    problems: list[str] = field(default_factory=list)


def is_manifest_name(name: str) -> bool:
    return name.endswith(MANIFEST_SUFFIX) and not name.startswith(".")


def read_manifest(
    name: str,
    chunks: Iterable[bytes],
    max_bytes: int,
    into: dict[CidKey, None],
    limit: float = math.inf,
    size: int | None = None,
) -> Manifest:
    """Add each new CID of one manifest to ``into``, until it holds ``limit`` CIDs.

    ``name`` says where in every message; ``size`` is the file's size, when known. Raises
    ManifestError when the file as a whole is unusable; whatever stops the reading, what
    the file had added to ``into`` is taken out again first.
    """
    manifest = Manifest(name)
    bad = 0
    chunks = _sized(chunks, name, max_bytes, size)
    entries = iter_json_array(chunks, name, ManifestError, "a JSON array of CIDs")
    try:
        for index, entry in enumerate(entries):
            try:
                if not isinstance(entry, str):
                    raise CIDError(f"{_excerpt(entry)} is not a CID string")
                cid = cid_key(entry)
            except CIDError as exc:
                bad += 1
                if bad <= MAX_PROBLEMS_LISTED:
                    manifest.problems.append(f"{name}[{index}]: {exc}")
                continue
            if cid in into:
                continue
            if len(into) >= limit:
                manifest.over += 1
                continue
            into[cid] = None
            manifest.added.append(cid)
    except BaseException:
        for cid in manifest.added:
            del into[cid]
        raise
    if bad > MAX_PROBLEMS_LISTED:
        manifest.problems.append(
            f"{name}: {bad - MAX_PROBLEMS_LISTED} more invalid entries not listed"
        )
    return manifest


def check_size(name: str, size: int, max_bytes: int) -> None:
    """Refuse a manifest from its size, before any of it is read."""
    if size > max_bytes:
        raise ManifestError(f"{name}: {size} bytes is over the {max_bytes}-byte limit")


def parse_manifest(name: str, data: bytes, max_bytes: int) -> Manifest:
    """Parse one manifest file's bytes on their own (what ``publish`` checks)."""
    check_size(name, len(data), max_bytes)
    return read_manifest(name, [data], max_bytes, {})


def _sized(chunks: Iterable[bytes], name: str, max_bytes: int, size: int | None) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise ManifestError(f"{name}: over the {max_bytes}-byte limit")
        yield chunk
    if size is not None and total < size:
        raise ManifestError(f"{name}: only {total} of {size} bytes could be read")


def _excerpt(value: object) -> str:
    """A short rendering of a JSON value, safe for values nested deep or huge."""
    if isinstance(value, list | dict):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    return json.dumps(value)[:80]
