"""Runs moto's server with the one correction the provisioning tests need.

AWS always reports ``MultiAttachEnabled`` for a volume; moto leaves it out unless it was
set at creation, and amazon.aws.ec2_vol then fails with a KeyError when it looks at an
already attached volume (the idempotent second run). Defaulting it to ``False`` here keeps
the role written for real AWS.
"""

import sys
from typing import Any

from moto.ec2.models.elastic_block_store import Volume
from moto.server import main

_original_init = Volume.__init__


def _init(self: Volume, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.multi_attach_enabled is None:
        self.multi_attach_enabled = False


Volume.__init__ = _init  # type: ignore[method-assign]

if __name__ == "__main__":
    main(sys.argv[1:])
