"""``ResourceProperties`` of a resource's stack events, as DescribeStackEvents gives them.

CloudFormation's events carry the resource's properties as a JSON string; tools read them (taskcat
finds a nested stack's template by the ``TemplateURL`` in its parent's events). The values of
``NoEcho`` parameters are masked (``****``) wherever they appear, so a secret passed into a property
is not readable through the events.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import ResourceState, StackEngine

MASK = "****"


def resource_properties_json(engine: StackEngine, state: ResourceState) -> str | None:
    """The resource's resolved properties as a JSON string (None before they are resolved)."""
    if not state.properties:
        return None
    text = json.dumps(state.properties, sort_keys=True, default=str)
    secrets = (str(engine.resolved_parameters.get(name) or "") for name in engine.no_echo_parameter_keys)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(json.dumps(secret)[1:-1], MASK)
    return text
