"""Where the engine plugs into moto 5.2: moto keeps its CloudFormation API (request parsing, response
serialization, stack records, events list), and the engine takes over what happens to a stack.

Each patch replaces one moto function or property; the list is in install(). Checked against moto
5.2.5 (requirements/moto.txt pins it); install() refuses to run on another version, since the
patched names are moto internals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import moto
from moto.cloudformation import models, responses, utils
from moto.cloudformation.parsing import Export
from moto.core.responses import ActionResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from .custom_resources import RESPONSE_BUCKET_PREFIX, ResponseEndpoint
from .engine import StackEngine, engine_of, require_engine
from .errors import ValidationError
from .intrinsics import check_rule_functions
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
    engine = require_engine(self)
    engine.disable_rollback = bool(getattr(_request, "disable_rollback", False))
    engine.caller_arn = _caller_arn()
    engine.start_create()


def _caller_arn() -> str | None:
    """The ARN of whoever signed the CloudFormation request this thread serves (moto's STS answer for
    its access key), or None outside a request (a nested stack: its parent's caller counts)."""
    caller = getattr(_request, "caller", None)
    if caller is None:
        return None
    access_key, account_id, region = caller
    from moto.sts.models import sts_backends

    try:
        _, arn, _ = sts_backends[account_id]["global"].get_caller_identity(access_key, region)
    except Exception:
        return None
    return str(arn)


_original_call_action = responses.CloudFormationResponse.call_action


def _response_call_action(self: responses.CloudFormationResponse) -> Any:
    _request.caller = (self.get_access_key(), self.current_account, self.region)
    try:
        return _original_call_action(self)
    finally:
        _request.caller = None


def _response_signal_resource(self: responses.CloudFormationResponse) -> ActionResult:
    """SignalResource (moto has none): a CreationPolicy signal for a resource being created."""
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    status = self._get_param("Status")
    if status not in ("SUCCESS", "FAILURE"):
        raise ValidationError(f"Status {status} is not one of SUCCESS, FAILURE")
    require_engine(stack).signal(self._get_param("LogicalResourceId"), self._get_param("UniqueId"), status)
    return ActionResult({})


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
    engine = require_engine(self)
    if template_dict == engine.template and params == engine.input_parameters:
        raise ValidationError("No updates are to be performed.")
    caller = _caller_arn()
    if caller is not None:
        engine.caller_arn = caller
    engine.start_update(template_dict, params)
    self.template = template
    self.template_dict = template_dict
    self.description = template_dict.get("Description")
    self.parameters = params
    self.role_arn = role_arn
    if tags is not None:
        self.tags = tags


def _stack_outputs(self: models.Stack) -> list[dict[str, Any]] | None:
    engine = engine_of(self)
    if engine is None or self.status not in (*_SETTLED_OK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"):
        return None
    return [dict(o) for o in engine.outputs] or None


def _stack_exports(self: models.Stack) -> list[Export]:
    engine = engine_of(self)
    if engine is None:
        return []
    return [Export(self.stack_id, name, value) for name, value in engine.exports.items()]


def _stack_resources(self: models.Stack) -> list[Any]:
    return list(require_engine(self).values())


def _stack_parameter_list(self: models.Stack) -> list[dict[str, Any]]:
    engine = require_engine(self)
    out = []
    for key, value in engine.resolved_parameters.items():
        text = ",".join(value) if isinstance(value, list) else value
        out.append({"ParameterKey": key, "ParameterValue": "****" if key in engine.no_echo_parameter_keys else text})
    return out


def _stack_status_reason(self: models.Stack) -> str | None:
    engine = engine_of(self)
    return engine.status_reason if engine is not None else None


# ---------------------------------------------------------------------------- backend
@dataclass
class StackProbe:
    """A stack that exists only to be validated (a change set's, before its stack is made)."""

    stack_id: str
    name: str
    account_id: str
    region_name: str
    template_dict: dict[str, Any]
    parameters: dict[str, str]
    status: str = "REVIEW_IN_PROGRESS"
    notification_arns: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    events: list[models.Event] = field(default_factory=list)


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

    require_engine(stack).start_delete(deleted)


def _backend_create_change_set(
    self: models.CloudFormationBackend,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    **kwargs: Any,
) -> tuple[str, str]:
    # CloudFormation validates the template and parameters when the change set is created.
    template_dict = parse_template(template)
    existing = next((s for s in self.stacks.values() if s.name == stack_name), None)
    probe = StackProbe(
        stack_id=(
            existing.stack_id
            if existing
            else f"arn:aws:cloudformation:{self.region_name}:{self.account_id}:stack/{stack_name}/validation"
        ),
        name=stack_name,
        account_id=self.account_id,
        region_name=self.region_name,
        template_dict=template_dict,
        parameters=parameters,
    )
    StackEngine(probe)  # raises ValidationError
    return _original_create_change_set(
        self, stack_name, change_set_name, template, parameters, description, change_set_type, **kwargs
    )


def _backend_execute_change_set(
    self: models.CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    disable_rollback = bool(getattr(_request, "disable_rollback", False))
    change_set = self.change_sets.get(change_set_name)
    if change_set is None:
        change_set = next(
            (
                c
                for c in self.change_sets.values()
                if c.change_set_name == change_set_name and (stack_name is None or c.stack_name == stack_name)
            ),
            None,
        )
    if change_set is None:
        raise ValidationError(f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of "
            f"[{change_set.execution_status}]"
        )
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        engine = StackEngine(stack)
        stack.resource_map = engine  # type: ignore[assignment]  # the engine takes the ResourceMap's place
        engine.disable_rollback = disable_rollback
        engine.caller_arn = _caller_arn()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        engine.start_create()
    else:
        stack.update(
            change_set.template, role_arn=change_set.role_arn, parameters=change_set.parameters, tags=change_set.tags
        )
    change_set.execution_status = "EXECUTE_COMPLETE"


_original_response_execute_change_set = responses.CloudFormationResponse.execute_change_set


def _response_execute_change_set(self: responses.CloudFormationResponse) -> ActionResult:
    _request.disable_rollback = self._get_bool_param("DisableRollback", False)
    try:
        return _original_response_execute_change_set(self)
    finally:
        _request.disable_rollback = False


_original_validate_template = models.CloudFormationBackend.validate_template


def _backend_validate_template(self: models.CloudFormationBackend, template: str) -> list[Any]:
    """ValidateTemplate: moto's cfn-lint run, after the checks CloudFormation makes that cfn-lint does
    not (Rules use only the rule functions)."""
    check_rule_functions(parse_template(template))
    return _original_validate_template(self, template)


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
        "Timestamp": datetime.datetime.fromtimestamp(r.timestamp, datetime.UTC),
        "LastUpdatedTimestamp": datetime.datetime.fromtimestamp(r.timestamp, datetime.UTC),
    }
    if not detail:
        del out["StackName"], out["StackId"], out["Timestamp"]
    return out


def _response_list_stack_resources(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resources = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
    return ActionResult({"StackResourceSummaries": [_resource_dict(stack, r, False) for r in resources]})


def _response_describe_stack_resources(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resources = self.cloudformation_backend.describe_stack_resources(
        self._get_param("StackName"), self._get_param("LogicalResourceId")
    )
    return ActionResult({"StackResources": [_resource_dict(stack, r, True) for r in resources]})


def _response_describe_stack_resource(self: responses.CloudFormationResponse) -> ActionResult:
    stack, resource = self.cloudformation_backend.describe_stack_resource(
        self._get_param("StackName"), self._get_param("LogicalResourceId")
    )
    return ActionResult({"StackResourceDetail": _resource_dict(stack, resource, True)})


# ---------------------------------------------------------------------------- Responses
_moto_app_call = DomainDispatcherApplication.__call__


def _app_call(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    """CloudFormation's response bucket: PUTs of custom-resource answers reach the engine."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") == "PUT" and path.startswith(RESPONSE_BUCKET_PREFIX):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, text = ResponseEndpoint.get().deliver(path, body)
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Length", str(len(text)))])
        return [text]
    return _moto_app_call(self, environ, start_response)


def apply() -> None:
    if moto.__version__ != SUPPORTED_MOTO:
        raise RuntimeError(
            f"kubecfn's embedded engine patches moto {SUPPORTED_MOTO} internals; this is moto {moto.__version__} (see "
            "requirements/moto.txt)"
        )
    DomainDispatcherApplication.__call__ = _app_call  # type: ignore[method-assign]
    stack = models.Stack
    stack.parse_template = staticmethod(_stack_parse_template)  # type: ignore[method-assign]
    stack._create_resource_map = _stack_create_resource_map  # type: ignore[method-assign,assignment]
    stack._create_output_map = _stack_create_output_map  # type: ignore[method-assign,assignment]
    stack.create_resources = _stack_create_resources  # type: ignore[method-assign]
    stack.update = _stack_update  # type: ignore[method-assign]
    stack.outputs = property(_stack_outputs)  # type: ignore[method-assign,assignment]
    stack.exports = property(_stack_exports)  # type: ignore[method-assign,assignment]
    stack.stack_resources = property(_stack_resources)  # type: ignore[method-assign,assignment]
    stack.parameter_list = property(_stack_parameter_list)  # type: ignore[method-assign,assignment]
    stack.stack_status_reason = property(_stack_status_reason)  # type: ignore[attr-defined]
    stack.status_reason = property(_stack_status_reason)  # type: ignore[attr-defined]

    backend = models.CloudFormationBackend
    backend.delete_stack = _backend_delete_stack  # type: ignore[method-assign]
    backend.create_change_set = _backend_create_change_set  # type: ignore[method-assign,assignment]
    backend.execute_change_set = _backend_execute_change_set  # type: ignore[method-assign]
    backend.validate_template = _backend_validate_template  # type: ignore[method-assign]
    models.ChangeSet._parse_template = _change_set_parse_template  # type: ignore[method-assign]

    utils.get_stack_from_s3_url = _get_stack_from_s3_url
    models.get_stack_from_s3_url = _get_stack_from_s3_url  # type: ignore[attr-defined]
    responses.get_stack_from_s3_url = _get_stack_from_s3_url  # type: ignore[attr-defined]

    response = responses.CloudFormationResponse
    response.create_stack = _response_create_stack  # type: ignore[method-assign]
    response.execute_change_set = _response_execute_change_set  # type: ignore[method-assign]
    response.list_stack_resources = _response_list_stack_resources  # type: ignore[method-assign]
    response.describe_stack_resources = _response_describe_stack_resources  # type: ignore[method-assign]
    response.describe_stack_resource = _response_describe_stack_resource  # type: ignore[method-assign]
    response.call_action = _response_call_action  # type: ignore[method-assign,assignment]
    response.signal_resource = _response_signal_resource  # type: ignore[attr-defined]
