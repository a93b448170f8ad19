"""Publish a member's own manifest directory: the other half of the consortium.

Every manifest is checked with the same parser the sync uses, and one broken file stops
the publication: a member must never advertise a list its peers will reject.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, ManifestError
from .ipfs.kubo import KuboClient
from .ipfs.naming import publish_root
from .sync.manifest import is_manifest_name, parse_manifest

log = logging.getLogger(__name__)

# The pin that keeps our own published directory; deliberately outside the sync's
# ``ipfs-consortium:`` namespace so a sync never releases it.
PUBLISHED_PIN = "ipfs-consortium-published"


@dataclass(frozen=True)
class Publication:
    name: str
    root: str
    changed: bool
    manifests: int


def read_manifest_dir(directory: Path, max_bytes: int, allow_empty: bool) -> dict[str, bytes]:
    """The manifests in ``directory`` by file name, all valid, or ManifestError."""
    if not directory.is_dir():
        raise ManifestError(f"{directory}: not a directory")
    files: dict[str, bytes] = {}
    problems: list[str] = []
    try:
        paths = sorted(directory.iterdir())
    except OSError as exc:
        raise ManifestError(f"{directory}: cannot be listed ({exc.strerror})") from None
    for path in paths:
        if not (path.is_file() and is_manifest_name(path.name)):
            log.info("%s: not a *.json file; not published", path)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror})")
            continue
        try:
            manifest = parse_manifest(str(path), data, max_bytes)
        except ManifestError as exc:
            problems.append(str(exc))
            continue
        problems.extend(manifest.problems)
        files[path.name] = data
    if problems:
        raise ManifestError(
            f"refusing to publish {directory}: {len(problems)} problems: "
            + "; ".join(problems[:10])
        )
    # An empty directory tells every peer to let go of all this member listed: only on purpose.
    if not files and not allow_empty:
        raise ManifestError(
            f"refusing to publish {directory}: it holds no *.json manifest "
            "(--allow-empty publishes it, so the other members release what you listed)"
        )
    return files


def publish(
    client: KuboClient,
    directory: Path,
    key: str,
    max_bytes: int,
    allow_empty: bool = False,
    lifetime: int | None = None,
) -> Publication:
    """Publish ``directory``'s manifests under ``key``, the record valid for ``lifetime``
    seconds (None: Kubo's default)."""
    files = read_manifest_dir(directory, max_bytes, allow_empty)
    name = client.key_name(key)
    if name is None:
        raise ConfigError(f"Kubo at {client.api} has no key named {key!r} (see `ipfs key list`)")
    root = client.add_directory(directory.name or "manifests", files, PUBLISHED_PIN)
    changed = publish_root(client, root, name, key, PUBLISHED_PIN, lifetime=lifetime)
    return Publication(name, root, changed=changed, manifests=len(files))
