"""Runs moto's server with the corrections the provisioning tests need.

AWS always reports ``MultiAttachEnabled`` for a volume; moto leaves it out unless it was
set at creation, and amazon.aws.ec2_vol then fails with a KeyError when it looks at an
already attached volume (the idempotent second run). Defaulting it to ``False`` here keeps
the role written for real AWS.

AWS's DescribeTags calls an Elastic IP's resource type ``elastic-ip``; moto says
``vpc-elastic-ip``, so amazon.aws.ec2_eip, which filters by AWS's name, finds no tags and
writes them again on every run.

AWS takes an Elastic IP off an instance that terminates; moto leaves it associated, and
the member's next instance could not get its address back.

AWS launches an instance with termination protection when RunInstances says
``DisableApiTermination``; moto ignores it there, and amazon.aws.ec2_instance then turns
protection on again in the second run, which must change nothing.
"""

import sys
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models.elastic_block_store import Volume
from moto.ec2.models.instances import Instance, InstanceState
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, EC2_RESOURCE_TO_PREFIX
from moto.server import main

_original_init = Volume.__init__


def _init(self: Volume, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.multi_attach_enabled is None:
        self.multi_attach_enabled = False


Volume.__init__ = _init  # type: ignore[method-assign]

_original_terminate = Instance.terminate


def _terminate(self: Instance) -> InstanceState:
    state = _original_terminate(self)
    for address in self.ec2_backend.addresses:
        if address.instance is self:
            self.ec2_backend.disassociate_address(association_id=address.association_id)
    return state


Instance.terminate = _terminate  # type: ignore[method-assign]
_original_run_instances = InstanceResponse.run_instances


def _run_instances(self: InstanceResponse) -> ActionResult:
    result = _original_run_instances(self)
    if self._get_bool_param("DisableApiTermination"):
        for instance in result.result.instances:  # type: ignore[attr-defined]
            instance.disable_api_termination = True
    return result


InstanceResponse.run_instances = _run_instances  # type: ignore[method-assign]
EC2_PREFIX_TO_RESOURCE[EC2_RESOURCE_TO_PREFIX["vpc-elastic-ip"]] = "elastic-ip"

if __name__ == "__main__":
    main(sys.argv[1:])
