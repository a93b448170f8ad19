"""Everything that can go wrong, as exceptions that carry one sentence an operator can act on.

botocore's own exceptions, Ctrl-C and the end of input at a prompt are turned into these by
:func:`ec2_errors`, so the command line prints one line and exits non-zero instead of a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError

# Error codes AWS uses when it throttles; botocore has already retried them by then.
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


class Ec2Error(Exception):
    """Base of every error the helpers report; ``str()`` is the line to print."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Messages quote botocore and AWS, whose own may span lines: the report is one line.
        super().__init__(" ".join(message.split()))


class ConfigurationError(Ec2Error):
    """No credentials, no region, an unknown profile, a malformed endpoint URL."""


class EndpointUnreachable(Ec2Error):
    """The EC2 endpoint did not answer: refused, timed out, TLS or proxy failure."""


class NotEc2(Ec2Error):
    """Something answered at the endpoint, but not EC2: a proxy's or a web server's page."""

    def __init__(self) -> None:
        super().__init__(
            "the endpoint's answer is not an EC2 response (a proxy's or a web server's page?): "
            "check --endpoint-url"
        )


class AwsApiError(Ec2Error):
    """AWS refused a request."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"AWS refused the request ({code}): {message}")
        self.code = code


class Throttled(AwsApiError):
    """AWS kept throttling after botocore's retries."""

    def __init__(self, code: str, message: str) -> None:
        Ec2Error.__init__(
            self, f"AWS is throttling requests ({code}) even after retries; try again later"
        )
        self.code = code
        self.aws_message = message


class MemberNotFound(Ec2Error):
    """No instance carries the tags of a member that was asked for, or of any member when
    all were (``--all``)."""


class NoDataVolume(Ec2Error):
    """The member has no volume tagged as its data volume."""


class InvalidRequest(Ec2Error):
    """A request the helpers refuse before changing anything (shrinking a volume, say)."""


class SnapshotNotFound(Ec2Error):
    """No snapshot has the id asked for."""


class Aborted(Ec2Error):
    """The operator did not confirm an action that terminates or replaces something."""


class Interrupted(Ec2Error):
    """The operator pressed Ctrl-C."""

    # 128 + SIGINT: what a shell reports for a command that Ctrl-C stopped.
    exit_code = 130


@contextmanager
def ec2_errors() -> Iterator[None]:
    """Turn botocore's exceptions, Ctrl-C and the end of input raised inside the block into
    :class:`Ec2Error`."""
    try:
        yield
    except KeyboardInterrupt as e:
        raise Interrupted("interrupted; requests already sent to AWS still take effect") from e
    except EOFError as e:  # only a confirmation prompt reads input
        raise Aborted("no answer (end of input); nothing changed") from e
    except (NoCredentialsError, PartialCredentialsError) as e:
        raise ConfigurationError(
            "no AWS credentials found: set AWS_PROFILE or pass --profile, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ) from e
    except NoRegionError as e:
        raise ConfigurationError("no AWS region: pass --region or set AWS_REGION") from e
    except ProfileNotFound as e:
        raise ConfigurationError(f"{e}: check --profile / AWS_PROFILE") from e
    except ResponseParserError as e:
        raise NotEc2() from e
    except (BotocoreConnectionError, HTTPClientError) as e:
        raise EndpointUnreachable(f"no answer from the EC2 endpoint: {e}") from e
    except ClientError as e:
        error = e.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", e))
        if code in THROTTLING_CODES:
            raise Throttled(code, message) from e
        raise AwsApiError(code, message) from e
    except BotoCoreError as e:
        raise Ec2Error(f"AWS call failed: {e}") from e


def refuse_foreign_answers(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
    """botocore's ``after-call`` handler that raises :class:`NotEc2` for a successful answer
    that lacks a request id.

    EC2 gives every answer one; an answer without came from something else (an HTML page
    that happened to parse as XML) and holds none of what was asked for.
    """
    if http_response.status_code < 300 and "RequestId" not in parsed["ResponseMetadata"]:
        raise NotEc2()
