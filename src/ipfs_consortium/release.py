"""When a pin that no peer claims any more is released: late, and never in bulk by accident.

Losing a pin is the one mistake that cannot be undone (garbage collection follows), so a
release needs time and proportion on its side:

* **Grace.** An unclaimed pin waits ``release_after`` seconds, counted from the first run
  that found it unclaimed. Listed again meanwhile, it leaves the book and stays pinned.
* **Brake.** A run whose due releases are more than ``max_release_fraction`` of the
  consortium's pins, and more than MASS_RELEASE_FLOOR, releases none of them unless the
  operator allows it: a wrong config or a peer that published an empty list looks like
  that, ordinary churn does not.

The book of waiting pins lives in the state directory; if it is lost, the grace period
starts again, which can only delay a release.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .cid import CidKey, key_of_canonical, key_text
from .plan import Plan

# Releasing this many pins at once is never a "mass" release, whatever the fraction: a
# small consortium must be able to follow a peer that withdraws a manifest or two.
MASS_RELEASE_FLOOR = 10


@dataclass(frozen=True)
class Waiting:
    """One unclaimed pin: since when, and which peers its name lists."""

    since: datetime
    peers: tuple[str, ...]


@dataclass
class ReleaseBook:
    """Every pin that waits for its release, by CID, as the last run left it."""

    waiting: dict[CidKey, Waiting] = field(default_factory=dict)
    # The grace period of the run that wrote the book, so `status` can tell when pins go.
    release_after: float = 0.0
    # Why the brake held that run's releases, if it did.
    held: str | None = None

    def due(self, cid: CidKey) -> datetime:
        return self.waiting[cid].since + timedelta(seconds=self.release_after)

    def to_json(self) -> dict[str, Any]:
        return {
            "release_after": self.release_after,
            "held": self.held,
            "waiting": {
                key_text(cid): {
                    "since": w.since.isoformat(timespec="seconds"),
                    "peers": list(w.peers),
                }
                for cid, w in self.waiting.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ReleaseBook":
        return cls(
            {
                key_of_canonical(cid): Waiting(
                    datetime.fromisoformat(entry["since"]), tuple(entry["peers"])
                )
                for cid, entry in data["waiting"].items()
            },
            float(data["release_after"]),
            data["held"],
        )


@dataclass
class ReleaseDecision:
    # Released this run, in order.
    due: list[CidKey] = field(default_factory=list)
    # Still waiting: CID -> when it is due.
    later: dict[CidKey, datetime] = field(default_factory=dict)
    # The book to keep once the due pins are released; it says why the brake held, if it did.
    book: ReleaseBook = field(default_factory=ReleaseBook)

    @property
    def held(self) -> str | None:
        return self.book.held


def decide(
    plan: Plan,
    book: ReleaseBook,
    now: datetime,
    release_after: float,
    max_fraction: float,
    allow_mass: bool,
) -> ReleaseDecision:
    """Which unclaimed pins go now, which wait, and the book for the next run."""
    decision = ReleaseDecision(book=ReleaseBook(release_after=release_after))
    new = decision.book
    for cid, peers in plan.unclaimed.items():
        old = book.waiting.get(cid)
        new.waiting[cid] = Waiting(old.since if old else now, tuple(sorted(peers)))
        if new.due(cid) > now or cid not in plan.releasable:
            decision.later[cid] = new.due(cid)
        else:
            decision.due.append(cid)
    count = len(decision.due)
    if count > MASS_RELEASE_FLOOR and count > max_fraction * plan.held and not allow_mass:
        new.held = (
            f"refusing to release {count} of this consortium's {plan.held} pins at once "
            f"(over max_release_fraction {max_fraction:g}); check the config's peers and "
            "what they publish, then run `ipfs-consortium sync --allow-mass-release` to "
            "release them"
        )
        decision.later.update((cid, now) for cid in decision.due)
        decision.due = []
    return decision
