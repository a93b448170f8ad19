"""The exit codes: which each command can return and what each means for it (the one
table every --help is made from and the sync tool's page is held to), and which error
family ends a command with which."""

import textwrap

from .errors import ConsortiumError, KuboUnreachable, LockHeld, OutputClosed, UsageError

EXIT_OK = 0
EXIT_PEER_FAILED = 1
EXIT_USAGE = 2
EXIT_KUBO_DOWN = 3
EXIT_LOCKED = 4
EXIT_FEW_COPIES = 5
EXIT_CHECK_FAILED = 6
# As a shell reports a command that SIGINT or SIGPIPE ended: 128 + the signal's number.
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_CLOSED = 141

# What each code means for the commands that return it: the overview in the main --help.
MEANINGS: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_PEER_FAILED: "some peer failed or the mass-release brake held (sync), Kubo failed a call",
    EXIT_USAGE: "configuration or usage error, state directory unusable",
    EXIT_KUBO_DOWN: "Kubo's RPC API was unreachable, or what answers there is not Kubo",
    EXIT_LOCKED: "another sync holds the lock on the state directory",
    EXIT_FEW_COPIES: "copies: fewer full copies of this member's content than min_copies",
    EXIT_CHECK_FAILED: "verify: a member's node lacked blocks or answered wrong bytes",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_OUTPUT_CLOSED: "standard output was closed before all was written (its reader went away)",
}

_KUBO_FAILED = "Kubo failed a call"
_KUBO_DOWN = MEANINGS[EXIT_KUBO_DOWN]
_LOCKED = MEANINGS[EXIT_LOCKED]
# Every command may be interrupted, and may print.
_ENDED = {code: MEANINGS[code] for code in (EXIT_INTERRUPTED, EXIT_OUTPUT_CLOSED)}

# The codes each command can return, and what each means for it: the one source of every
# command's --help (cli.py) and what src/ipfs_consortium/README.md's exit-code table must
# say (tests/test_exit_codes.py). A new command needs its entry here.
COMMAND_EXITS: dict[str, dict[int, str]] = {
    "sync": {
        EXIT_OK: "every peer was synced",
        EXIT_PEER_FAILED: "some peer failed (it kept its pins), the mass-release brake held, "
        "or Kubo was connected to none of the members",
        EXIT_USAGE: "configuration or usage error: Kubo refusing the API secret, a state "
        "directory that cannot be created, read or written, a metrics file that cannot be "
        "written",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        EXIT_LOCKED: _LOCKED,
        **_ENDED,
    },
    "publish": {
        EXIT_OK: "published, or the key already pointed at the same directory",
        EXIT_PEER_FAILED: _KUBO_FAILED,
        EXIT_USAGE: "configuration or usage error: a manifest refused, a key Kubo lacks, "
        "Kubo refusing the API secret",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        **_ENDED,
    },
    "status": {
        EXIT_OK: "the state was shown",
        EXIT_USAGE: "configuration error, or a state directory that cannot be read",
        **_ENDED,
    },
    "copies": {
        EXIT_OK: "every report was read or found unreadable, and min_copies is met",
        EXIT_PEER_FAILED: _KUBO_FAILED,
        EXIT_USAGE: "configuration error, Kubo refusing the API secret, or a state directory "
        "that cannot be read",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        EXIT_FEW_COPIES: "fewer full copies of this member's content than min_copies",
        **_ENDED,
    },
    "verify": {
        EXIT_OK: "no member failed its check (one that cannot be reached is no failure)",
        EXIT_PEER_FAILED: _KUBO_FAILED,
        EXIT_USAGE: "configuration error, Kubo refusing the API secret, or a state directory "
        "that cannot be created, read or written",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        EXIT_LOCKED: _LOCKED,
        EXIT_CHECK_FAILED: "a member's node lacked blocks its report claims, or answered "
        "wrong bytes",
        **_ENDED,
    },
    "forget": {
        EXIT_OK: "the peer's pins were released (with --dry-run: listed)",
        EXIT_PEER_FAILED: _KUBO_FAILED,
        EXIT_USAGE: "configuration or usage error: a peer still in the config, Kubo "
        "refusing the API secret, a state directory that cannot be used",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        EXIT_LOCKED: _LOCKED,
        **_ENDED,
    },
    "invite": {
        EXIT_OK: "published, or the key already pointed at the same directory",
        EXIT_PEER_FAILED: _KUBO_FAILED,
        EXIT_USAGE: "configuration error, a publish_key Kubo lacks, or Kubo refusing the API "
        "secret",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        **_ENDED,
    },
    "join": {
        EXIT_OK: "joined (with --dry-run: the directory was read)",
        EXIT_PEER_FAILED: "a --via did not answer, the name did not resolve, or Kubo failed a call",
        EXIT_USAGE: "usage error, a name that is no consortium directory or a malformed one, "
        "or a config.json that says otherwise (another consortium, a name taken): nothing "
        "written",
        EXIT_KUBO_DOWN: _KUBO_DOWN,
        **_ENDED,
    },
    "check-config": {
        EXIT_OK: "the file is valid (warnings aside)",
        EXIT_USAGE: "the file is invalid or cannot be read",
        **_ENDED,
    },
}


def exit_help(codes: dict[int, str]) -> str:
    """The epilog of a --help: one line per code, its meaning wrapped under it."""
    lines = (
        textwrap.fill(meaning, 88, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7)
        for code, meaning in codes.items()
    )
    return "exit codes:\n" + "\n".join(lines) + "\n"


# Most specific first: NotKubo is a KuboUnreachable, a StateError a UsageError.
_OF_ERROR: tuple[tuple[type[ConsortiumError], int], ...] = (
    (LockHeld, EXIT_LOCKED),
    (KuboUnreachable, EXIT_KUBO_DOWN),
    (OutputClosed, EXIT_OUTPUT_CLOSED),
    (UsageError, EXIT_USAGE),
)


def exit_code_of(error: ConsortiumError) -> int:
    """A command that ends with ``error`` exits with this."""
    return next((code for kind, code in _OF_ERROR if isinstance(error, kind)), EXIT_PEER_FAILED)
