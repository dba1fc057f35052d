"""Where the engine plugs into moto 5.2: moto keeps its CloudFormation API (request parsing, response
serialization, stack records, events list), and the engine takes over what happens to a stack.

Each patch replaces one moto function or property; the list is in install(). Checked against moto
5.2.5 (requirements/moto.txt pins it); install() refuses to run on another version, since the
patched names are moto internals.
"""
from __future__ import annotations

import threading
from typing import Any

import moto
from moto.cloudformation import models, responses, utils
from moto.core.responses import ActionResult

from .engine import StackEngine
from .errors import ValidationError
from .template import fetch_template, parse_template

SUPPORTED_MOTO = "5.2.5"

_SETTLED_OK = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


# ---------------------------------------------------------------------------- Stack
def _stack_parse_template(template: str) -> dict[str, Any]:
    return parse_template(template)


def _stack_create_resource_map(self: models.Stack) -> StackEngine:
    return StackEngine(self)


def _stack_create_output_map(self: models.Stack) -> None:
    return None


# CreateStack's DisableRollback, read by the response handler and used by the stack it creates
# (moto's create_stack has no such argument).
_request = threading.local()


def _stack_create_resources(self: models.Stack) -> None:
    self.resource_map.disable_rollback = bool(getattr(_request, "disable_rollback", False))
    self.resource_map.start_create()


_original_response_create_stack = responses.CloudFormationResponse.create_stack


def _response_create_stack(self: responses.CloudFormationResponse) -> ActionResult:
    _request.disable_rollback = self._get_bool_param("DisableRollback", False)
    try:
        return _original_response_create_stack(self)
    finally:
        _request.disable_rollback = False


def _stack_update(
    self: models.Stack,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    if self.status.endswith("_IN_PROGRESS"):
        raise ValidationError(f"Stack:{self.stack_id} is in {self.status} state and can not be updated.")
    if self.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"):
        raise ValidationError(f"Stack:{self.stack_id} is in {self.status} state and can not be updated.")
    template_dict = parse_template(template)
    params = dict(parameters or {})
    engine: StackEngine = self.resource_map
    if template_dict == engine.template and params == engine.input_parameters:
        raise ValidationError("No updates are to be performed.")
    engine.start_update(template_dict, params)
    self.template = template
    self.template_dict = template_dict
    self.description = template_dict.get("Description")
    self.parameters = params
    self.role_arn = role_arn
    if tags is not None:
        self.tags = tags


def _stack_outputs(self: models.Stack) -> list[dict[str, Any]] | None:
    engine = self.resource_map
    if not isinstance(engine, StackEngine) or self.status not in (*_SETTLED_OK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"):
        return None
    return [dict(o) for o in engine.outputs] or None


def _stack_exports(self: models.Stack) -> list[models.Export]:
    engine = self.resource_map
    if not isinstance(engine, StackEngine):
        return []
    return [models.Export(self.stack_id, name, value) for name, value in engine.exports.items()]


def _stack_resources(self: models.Stack) -> list[Any]:
    return self.resource_map.values()


def _stack_parameter_list(self: models.Stack) -> list[dict[str, Any]]:
    engine = self.resource_map
    out = []
    for key, value in engine.resolved_parameters.items():
        text = ",".join(value) if isinstance(value, list) else value
        out.append({"ParameterKey": key, "ParameterValue": "****" if key in engine.no_echo_parameter_keys else text})
    return out


def _stack_status_reason(self: models.Stack) -> str | None:
    engine = self.resource_map
    return engine.status_reason if isinstance(engine, StackEngine) else None


# ---------------------------------------------------------------------------- backend
_original_create_change_set = models.CloudFormationBackend.create_change_set


def _backend_delete_stack(self: models.CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id)
    if stack is None:
        stack = next((s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None:
        return  # CloudFormation answers success for a stack that does not exist
    if stack.status == "DELETE_IN_PROGRESS":
        return
    if stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
        raise ValidationError(f"Stack [{stack.name}] cannot be deleted while in status {stack.status}")

    def deleted() -> None:
        self.stacks.pop(stack.stack_id, None)
        self.deleted_stacks[stack.stack_id] = stack

    engine: StackEngine = stack.resource_map
    engine.start_delete(deleted)


def _backend_create_change_set(self: models.CloudFormationBackend, stack_name: str, change_set_name: str, template: str, parameters: dict[str, str], description: str, change_set_type: str, **kwargs: Any) -> tuple[str, str]:
    # CloudFormation validates the template and parameters when the change set is created.
    template_dict = parse_template(template)
    existing = next((s for s in self.stacks.values() if s.name == stack_name), None)
    probe = type("Probe", (), {})()
    probe.template_dict = template_dict
    probe.parameters = parameters
    probe.account_id = self.account_id
    probe.region_name = self.region_name
    probe.stack_id = existing.stack_id if existing else f"arn:aws:cloudformation:{self.region_name}:{self.account_id}:stack/{stack_name}/validation"
    probe.name = stack_name
    probe.notification_arns = []
    StackEngine(probe)  # raises ValidationError
    return _original_create_change_set(self, stack_name, change_set_name, template, parameters, description, change_set_type, **kwargs)


def _backend_execute_change_set(self: models.CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    disable_rollback = bool(getattr(_request, "disable_rollback", False))
    change_set = self.change_sets.get(change_set_name)
    if change_set is None:
        change_set = next((c for c in self.change_sets.values() if c.change_set_name == change_set_name and (stack_name is None or c.stack_name == stack_name)), None)
    if change_set is None:
        raise ValidationError(f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of [{change_set.execution_status}]")
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        stack.resource_map = StackEngine(stack)
        stack.resource_map.disable_rollback = disable_rollback
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.resource_map.start_create()
    else:
        stack.update(change_set.template, role_arn=change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags)
    change_set.execution_status = "EXECUTE_COMPLETE"


_original_response_execute_change_set = responses.CloudFormationResponse.execute_change_set


def _response_execute_change_set(self: responses.CloudFormationResponse) -> ActionResult:
    _request.disable_rollback = self._get_bool_param("DisableRollback", False)
    try:
        return _original_response_execute_change_set(self)
    finally:
        _request.disable_rollback = False


def _change_set_parse_template(self: models.ChangeSet) -> None:
    self.template_dict = parse_template(self.template)


# ---------------------------------------------------------------------------- responses
def _get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    return fetch_template(template_url, account_id, partition)


def _resource_dict(stack: models.Stack, r: Any, detail: bool) -> dict[str, Any]:
    import datetime

    out = {
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LogicalResourceId": r.logical_resource_id,
        "PhysicalResourceId": r.physical_resource_id or "",
        "ResourceType": r.cf_resource_type,
        "ResourceStatus": r.status,
        "ResourceStatusReason": r.reason,
        "Timestamp": datetime.datetime.fromtimestamp(r.timestamp, datetime.timezone.utc),
        "LastUpdatedTimestamp": datetime.datetime.fromtimestamp(r.timestamp, datetime.timezone.utc),
    }
    if not detail:
        del out["StackName"], out["StackId"], out["Timestamp"]
    return out


def _response_list_stack_resources(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resources = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
    return ActionResult({"StackResourceSummaries": [_resource_dict(stack, r, False) for r in resources]})


def _response_describe_stack_resources(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resources = self.cloudformation_backend.describe_stack_resources(self._get_param("StackName"), self._get_param("LogicalResourceId"))
    return ActionResult({"StackResources": [_resource_dict(stack, r, True) for r in resources]})


def _response_describe_stack_resource(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resource = self.cloudformation_backend.describe_stack_resource(self._get_param("StackName"), self._get_param("LogicalResourceId"))
    return ActionResult({"StackResourceDetail": _resource_dict(stack, resource, True)})


def apply() -> None:
    if moto.__version__ != SUPPORTED_MOTO:
        raise RuntimeError(f"kubecfn's embedded engine patches moto {SUPPORTED_MOTO} internals; this is moto {moto.__version__} (see requirements/moto.txt)")
    S = models.Stack
    S.parse_template = staticmethod(_stack_parse_template)  # type: ignore[method-assign]
    S._create_resource_map = _stack_create_resource_map  # type: ignore[method-assign,assignment]
    S._create_output_map = _stack_create_output_map  # type: ignore[method-assign,assignment]
    S.create_resources = _stack_create_resources  # type: ignore[method-assign]
    S.update = _stack_update  # type: ignore[method-assign]
    S.outputs = property(_stack_outputs)  # type: ignore[method-assign,assignment]
    S.exports = property(_stack_exports)  # type: ignore[method-assign,assignment]
    S.stack_resources = property(_stack_resources)  # type: ignore[method-assign,assignment]
    S.parameter_list = property(_stack_parameter_list)  # type: ignore[method-assign,assignment]
    S.stack_status_reason = property(_stack_status_reason)  # type: ignore[attr-defined]
    S.status_reason = property(_stack_status_reason)  # type: ignore[attr-defined]

    B = models.CloudFormationBackend
    B.delete_stack = _backend_delete_stack  # type: ignore[method-assign]
    B.create_change_set = _backend_create_change_set  # type: ignore[method-assign,assignment]
    B.execute_change_set = _backend_execute_change_set  # type: ignore[method-assign]
    models.ChangeSet._parse_template = _change_set_parse_template  # type: ignore[method-assign]

    utils.get_stack_from_s3_url = _get_stack_from_s3_url
    models.get_stack_from_s3_url = _get_stack_from_s3_url
    responses.get_stack_from_s3_url = _get_stack_from_s3_url

    R = responses.CloudFormationResponse
    R.create_stack = _response_create_stack  # type: ignore[method-assign]
    R.execute_change_set = _response_execute_change_set  # type: ignore[method-assign]
    R.list_stack_resources = _response_list_stack_resources  # type: ignore[method-assign]
    R.describe_stack_resources = _response_describe_stack_resources  # type: ignore[method-assign]
    R.describe_stack_resource = _response_describe_stack_resource  # type: ignore[method-assign]
