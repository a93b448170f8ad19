"""Manifests: JSON files, each a top-level array of CIDs a member wants mirrored.

Parsing is strict about the file and forgiving about entries: a file that is not JSON,
not an array, or too large is rejected whole; a bad entry is reported with its position
and skipped, so one typo does not cost a peer the rest of its list.
"""

import json
from dataclasses import dataclass, field

from .cid import parse_cid
from .errors import CIDError, ManifestError
from .jsondoc import decode_json

MANIFEST_SUFFIX = ".json"
# A hostile manifest can hold a million bad entries; the log needs only the first few.
MAX_PROBLEMS_LISTED = 20


@dataclass
class Manifest:
    """What one manifest file yielded: canonical CIDs in order, and entry problems."""

    name: str
    cids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_manifest_name(name: str) -> bool:
    return name.endswith(MANIFEST_SUFFIX) and not name.startswith(".")


def parse_manifest(name: str, data: bytes, max_bytes: int) -> Manifest:
    """Parse one manifest file's bytes; ``name`` says where in every message.

    Raises ManifestError when the file as a whole is unusable.
    """
    if len(data) > max_bytes:
        raise ManifestError(f"{name}: {len(data)} bytes is over the {max_bytes}-byte limit")
    decoded = decode_json(data, name, ManifestError)
    if not isinstance(decoded, list):
        raise ManifestError(
            f"{name}: must be a JSON array of CIDs, not a JSON {type(decoded).__name__}"
        )
    manifest = Manifest(name)
    seen: set[str] = set()
    bad = 0
    for index, entry in enumerate(decoded):
        try:
            if not isinstance(entry, str):
                raise CIDError(f"{_excerpt(entry)} is not a CID string")
            cid = parse_cid(entry)
        except CIDError as exc:
            bad += 1
            if bad <= MAX_PROBLEMS_LISTED:
                manifest.problems.append(f"{name}[{index}]: {exc}")
            continue
        if cid not in seen:
            seen.add(cid)
            manifest.cids.append(cid)
    if bad > MAX_PROBLEMS_LISTED:
        manifest.problems.append(
            f"{name}: {bad - MAX_PROBLEMS_LISTED} more invalid entries not listed"
        )
    return manifest


def _excerpt(value: object) -> str:
    """A short rendering of a JSON value, safe for values nested deep or huge."""
    if isinstance(value, list | dict):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    return json.dumps(value)[:80]
