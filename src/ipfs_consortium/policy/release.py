"""The release policy: when a pin of this consortium is let go. Every rule of it is here.

Losing a pin is the one mistake that cannot be undone (garbage collection follows), so a
release needs evidence, time and proportion on its side:

* **Unclaimed.** Only a pin of this consortium (pin_names.py) that no peer claims is a
  candidate. A peer that could not be read in full claims what it listed when it last was
  (known_good.py), so its pins are never candidates.
* **Protected.** An unclaimed pin that names a peer which was not read in full this run
  stays (a shortened name may name any peer: then every such peer protects it).
* **Grace.** An unclaimed pin waits ``release_after`` seconds, counted from the first run
  that found it unclaimed (``due_at``). Listed again meanwhile, it leaves the book and
  stays pinned.
* **Brake.** A run whose due releases are more than ``max_release_fraction`` of the
  consortium's pins, and more than MASS_RELEASE_FLOOR, releases none of them unless the
  operator allows it: a wrong config or a peer that published an empty list looks like
  that, ordinary churn does not.
* **Last, and only with Kubo throughout.** Releases follow every pin of the run and stop
  the moment Kubo is unreachable (sync/apply.py carries that out).
* **Forget.** ``ipfs-consortium forget PEER`` releases a removed peer's pins at once,
  except a pin that other peers also claim or that a current peer listed when last read
  in full: only the peer's name comes off it (``forget_plan``).

The book of waiting pins lives in the state directory; if it is lost, the grace period
starts again, which can only delay a release.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..ipfs.cid import CidKey, key_of_canonical, key_text
from ..sync.plan import Plan
from .pin_names import PinNames

# Releasing this many pins at once is never a "mass" release, whatever the fraction: a
# small consortium must be able to follow a peer that withdraws a manifest or two.
MASS_RELEASE_FLOOR = 10


def due_at(since: datetime, release_after: float) -> datetime:
    """When a pin unclaimed since ``since`` may be released."""
    return since + timedelta(seconds=release_after)


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
        return due_at(self.waiting[cid].since, self.release_after)

    def due_now(self, now: datetime, release_after: float) -> int:
        """How many waiting pins are due at ``now`` under ``release_after``."""
        return sum(due_at(w.since, release_after) <= now for w in self.waiting.values())

    def released(self, cids: Iterable[CidKey]) -> None:
        """These pins are gone from Kubo: they wait no more."""
        for cid in cids:
            self.waiting.pop(cid, None)

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
    protected = {claim.peer for claim in plan.claims if not claim.complete}
    for cid, owners in plan.unclaimed.items():
        old = book.waiting.get(cid)
        new.waiting[cid] = Waiting(old.since if old else now, tuple(sorted(owners.labels)))
        if new.due(cid) > now or owners.labels & protected or (owners.truncated and protected):
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


@dataclass
class ForgetPlan:
    """What ``forget PEER`` does to each pin that names the peer."""

    released: list[CidKey] = field(default_factory=list)
    # CID -> the pin's new name, without the peer.
    renamed: dict[CidKey, str] = field(default_factory=dict)
    # Pins that other peers may still claim: one that a current peer listed when last
    # read in full (the next sync names it for that peer), or whose name is shortened.
    kept: list[CidKey] = field(default_factory=list)


def forget_plan(
    pins: Mapping[CidKey, str], names: PinNames, peer: str, listed: Iterable[CidKey]
) -> ForgetPlan:
    """Let go of ``peer``: ``pins`` are Kubo's (CID -> name), ``listed`` what the current
    peers listed when last read in full; ``names`` must adopt ``peer``'s old-form pins."""
    listed = set(listed)
    plan = ForgetPlan()
    for cid, name in pins.items():
        owners = names.owners(name)
        if owners is None or peer not in owners.labels:
            continue
        others = sorted(owners.labels - {peer})
        if owners.truncated or (not others and cid in listed):
            plan.kept.append(cid)
        elif others:
            plan.renamed[cid] = names.name(others)
        else:
            plan.released.append(cid)
    return plan
