"""The project's exception hierarchy.

Every error carries one sentence a user can act on: what is wrong and where. The command
line maps the families below to exit codes (exit_codes.py), so a new error must
subclass one of them: UsageError exits 2, KuboUnreachable 3, LockHeld 4, OutputClosed
141, and any other ConsortiumError 1.
"""


class ConsortiumError(Exception):
    """Base of every error this package raises on purpose."""


class UsageError(ConsortiumError):
    """What the operator must fix before a run can succeed: the configuration, the command
    line, the state directory, a manifest directory to publish."""


class ConfigError(UsageError):
    """The configuration (file, command line or environment) is unusable."""


class KuboRefused(ConfigError):
    """Kubo's RPC API refused a call for want of authorization: a setting to fix."""


class ManifestError(UsageError):
    """A manifest file or directory is unreadable, malformed or too large."""


class DirectoryError(UsageError):
    """A consortium directory (directory.py) is malformed, too large or not one at all."""


class JoinConflict(UsageError):
    """``join`` would change what an existing config.json says: another consortium, or a
    name its peers already give another member."""


class DirectoryUnreachable(ConsortiumError):
    """``join`` could not reach a member named by --via, or the directory's name did not
    resolve."""


class CIDError(ConsortiumError):
    """A string is not a valid content identifier."""


class KuboError(ConsortiumError):
    """Kubo answered a call with an error."""


class KuboUnreachable(KuboError):
    """Kubo's RPC API could not be reached at all (daemon down, wrong address)."""


class NotKubo(KuboUnreachable):
    """What answers at the API address is not Kubo's RPC API (a web page, a proxy's error)."""


class ClusterError(KuboError):
    """IPFS Cluster, which holds the pins in Kubo's place (``pinning``), answered a call
    with an error."""


class ClusterUnreachable(KuboUnreachable):
    """IPFS Cluster's REST API could not be reached: as with Kubo down, nothing is released."""


class ClusterRefused(KuboRefused):
    """IPFS Cluster's REST API refused the credentials of ``pinning.auth_file``."""


class KuboTimeout(KuboError):
    """Kubo stopped answering a call for longer than its timeout."""


class PinStalled(KuboError):
    """A pin made no progress for longer than the stall timeout."""


class QuotaExceeded(ConsortiumError):
    """A peer asked for more than its quota allows."""


class ReportError(ConsortiumError):
    """A member's holdings report cannot be read, or is malformed, foreign or too large."""


class LockHeld(ConsortiumError):
    """Another sync holds the lock on the state directory."""


class StateError(UsageError):
    """The state directory cannot be created, read or written."""


class OutputClosed(ConsortiumError):
    """Standard output was closed before all was written (a pipe's reader went away)."""
