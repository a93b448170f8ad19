"""When a step repeated on a schedule is next due: the interval, give or take a tenth,
so that the members, whose syncs cron starts at the same minutes, do not all act at once."""

import random
from datetime import datetime, timedelta

# The next time is the interval after this one, give or take this fraction of it.
JITTER = 0.1


def jittered(now: datetime, seconds: float, rng: random.Random | None = None) -> datetime:
    """``seconds`` after ``now``, jittered by up to JITTER of them either way."""
    spread = (rng or random.Random()).uniform(1 - JITTER, 1 + JITTER)
    return now + timedelta(seconds=seconds * spread)


def latest(last: datetime, seconds: float) -> datetime:
    """The latest a step made at ``last`` can next be due, whatever was drawn: a shorter
    interval in the config takes effect at once."""
    return last + timedelta(seconds=seconds * (1 + JITTER))
