"""Pin names: who asked for a pin, written on the pin itself.

Every pin this tool makes is a Kubo named pin ``ipfs-consortium:<consortium>:<peer>,…``
listing the peers that claim it. The consortium part lets one Kubo serve several consortia,
each touching only its own pins; pins without the prefix are the operator's and are never
touched. Pins in the first release's form, ``ipfs-consortium:<peer>,…``, are adopted by the
consortium that has one of the peers they name (its next sync renames them).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PREFIX = "ipfs-consortium:"
# Kubo refuses pin names longer than this many bytes.
MAX_PIN_NAME = 255
_MORE = "+"


@dataclass(frozen=True)
class Owners:
    """The peers a pin name lists; ``truncated`` when the name had to leave some out."""

    labels: frozenset[str]
    truncated: bool


@dataclass(frozen=True)
class PinNames:
    """The pin names of one consortium."""

    consortium: str
    # Peers whose pins in the old form this consortium adopts.
    adopts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, consortium: str, peers: Iterable[str]) -> "PinNames":
        return cls(consortium, frozenset(peers))

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.consortium}:"

    def name(self, labels: Sequence[str]) -> str:
        """The pin name for these claimants, shortened with ``+N`` to fit Kubo's limit."""
        name = self.prefix + ",".join(labels)
        if len(name.encode()) <= MAX_PIN_NAME:
            return name
        kept: list[str] = []
        for index, label in enumerate(labels):
            rest = len(labels) - index - 1
            candidate = self.prefix + ",".join([*kept, label, f"{_MORE}{rest}"])
            if len(candidate.encode()) > MAX_PIN_NAME:
                break
            kept.append(label)
        return self.prefix + ",".join([*kept, f"{_MORE}{len(labels) - len(kept)}"])

    def owners(self, name: str) -> Owners | None:
        """The peers one of this consortium's pins names; None when the pin is not ours."""
        if name.startswith(self.prefix):
            return _parse_labels(name[len(self.prefix) :])
        rest = name.removeprefix(PREFIX)
        if rest == name or ":" in rest:
            return None  # the operator's own pin, or another consortium's
        old = _parse_labels(rest)
        return old if old.labels & self.adopts else None


def _parse_labels(text: str) -> Owners:
    labels = [label for label in text.split(",") if label]
    truncated = bool(labels) and labels[-1].startswith(_MORE)
    if truncated:
        labels.pop()
    return Owners(frozenset(labels), truncated)
