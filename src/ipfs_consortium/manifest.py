"""Manifests: JSON files, each a top-level array of CIDs a member wants mirrored.

Parsing is strict about the file and forgiving about entries: a file that is not JSON,
not an array, or too large is rejected whole; a bad entry is reported with its position
and skipped, so one typo does not cost a peer the rest of its list.
"""

import json
from dataclasses import dataclass, field

from .cid import parse_cid
from .errors import CIDError, ManifestError

MANIFEST_SUFFIX = ".json"


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
    try:
        decoded = json.loads(data)
    except UnicodeDecodeError:
        raise ManifestError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{name}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise ManifestError(f"{name}: JSON nested too deeply") from None
    if not isinstance(decoded, list):
        raise ManifestError(
            f"{name}: must be a JSON array of CIDs, not a JSON {type(decoded).__name__}"
        )
    manifest = Manifest(name)
    seen: set[str] = set()
    for index, entry in enumerate(decoded):
        if not isinstance(entry, str):
            manifest.problems.append(
                f"{name}[{index}]: {json.dumps(entry)[:80]} is not a CID string"
            )
            continue
        try:
            cid = parse_cid(entry)
        except CIDError as exc:
            manifest.problems.append(f"{name}[{index}]: {exc}")
            continue
        if cid not in seen:
            seen.add(cid)
            manifest.cids.append(cid)
    return manifest
