"""The consortium-ec2 command's entry point (its console script, and ``python -m consortium_ec2``).

The commands need boto3 and botocore. Where either cannot be imported, the command says so
in one line on stderr and exits 1, as for any other problem with its set-up (no credentials,
no region), instead of a traceback.
"""

from __future__ import annotations

import sys

from . import PROG

# What the commands import that this distribution does not hold.
AWS_LIBRARIES = ("boto3", "botocore")

INSTALL_HINT = "run scripts/setup --deploy, or pip install -e consortium-ec2"


def main(argv: list[str] | None = None) -> int:
    try:
        from .cli import main as run
    except ModuleNotFoundError as e:
        missing = (e.name or "").partition(".")[0]
        if missing not in AWS_LIBRARIES:
            raise
        # botocore comes with boto3: installing boto3 is the remedy either way.
        print(
            f"{PROG}: error: boto3 is not installed (no module named {e.name}); {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 1
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
