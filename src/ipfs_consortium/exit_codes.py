"""The exit codes of every command, as the sync tool's page documents them, and which
error family ends a command with which."""

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

# The epilog of each command's --help.
EXIT_HELP = f"""exit codes:
  {EXIT_OK}  every peer was synced
  {EXIT_PEER_FAILED}  some peer failed (it kept its pins), or the mass-release brake held;
     for publish and forget, Kubo failed a call
  {EXIT_USAGE}  configuration or usage error: Kubo refusing the API secret, a manifest
     refused by publish, a state directory that cannot be created, read or written, a
     metrics file that cannot be written
  {EXIT_KUBO_DOWN}  Kubo's RPC API was unreachable, or what answers there is not Kubo
  {EXIT_LOCKED}  another sync holds the lock on the state directory
  {EXIT_FEW_COPIES}  copies: fewer full copies of this member's content than min_copies
  {EXIT_CHECK_FAILED}  verify: a member's node lacked blocks it should hold, or answered wrong bytes
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
  {EXIT_OUTPUT_CLOSED}  standard output was closed before all was written (its reader went away)
"""

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
