"""Where a member's cluster holds its pins, node by node: for the log, ``status``, the
metrics and the holdings report. A member of one Kubo node has none of it.

Each full check counts, per node, the pins it reports pinned, pinning, queued or in
error (ipfs/cluster.py), and keeps the counts (state/store.py's Allocation); the next
full check says which nodes gained or lost pins since, which is how a re-allocation
after a node's loss shows.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ..ipfs.pins import NODE_STATES, NodePins
from ..state.store import Allocation


def allocation(nodes: Mapping[str, NodePins], at: datetime) -> Allocation:
    return Allocation(
        at.isoformat(timespec="seconds"),
        {name: {"peer_id": node.peer_id, **node.counts} for name, node in sorted(nodes.items())},
    )


def reallocations(before: Allocation | None, now: Allocation) -> list[str]:
    """A line for each node whose count of pinned pins changed since ``before``."""
    if before is None:
        return []
    lines = []
    for name in sorted(set(before.nodes) | set(now.nodes)):
        was = _count(before.nodes.get(name, {}), "pinned")
        held = _count(now.nodes.get(name, {}), "pinned")
        if was != held:
            lines.append(
                f"cluster node {name} holds {held} pins, {was} at the last full check "
                f"({before.at}): the cluster {'added' if held > was else 'moved off'} "
                f"{abs(held - was)}"
            )
    return lines


def node_counts(found: Allocation) -> Iterator[tuple[str, str, int]]:
    """Each node's pins by state: (node, state, count)."""
    for name, node in sorted(found.nodes.items()):
        for state in NODE_STATES:
            yield name, state, _count(node, state)


def pinned_by_node(found: Allocation | None) -> dict[str, int] | None:
    """Each node's pinned pins, as the holdings report gives them (None: one Kubo node)."""
    if found is None:
        return None
    return {name: _count(node, "pinned") for name, node in sorted(found.nodes.items())}


def render_allocation(found: Allocation) -> list[str]:
    """The lines of ``status``: each node and its pins by state."""
    lines = [f"cluster nodes at the last full check ({found.at}):"]
    for name, node in sorted(found.nodes.items()):
        states = ", ".join(f"{_count(node, state)} {state}" for state in NODE_STATES)
        lines.append(f"  {name} ({node.get('peer_id', '?')}): {states}")
    return lines


def _count(node: Mapping[str, Any], state: str) -> int:
    value = node.get(state, 0)
    return value if isinstance(value, int) else 0
