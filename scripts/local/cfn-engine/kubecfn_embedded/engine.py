"""The stack engine: what CloudFormation does with a template, run inside the moto server.

One `StackEngine` per stack. It resolves parameters (with their constraints), Rules and Conditions
up front, so a bad request is refused synchronously as CloudFormation refuses it; then each stack
operation (create, update, delete) runs in a background thread, as CloudFormation's does:

- resources are created in dependency order (Ref, Fn::GetAtt, Fn::Sub variables and DependsOn,
  through Metadata too), independent ones in parallel, each with its own events;
- a failure cancels what is still pending and rolls back (deletes what was created, custom
  resources included), ending in ROLLBACK_COMPLETE;
- delete goes in reverse dependency order; a resource is deleted once everything that depends on it
  is gone; DeletionPolicy Retain is honoured;
- update creates added resources, updates changed ones (a replacement creates the new one first and
  deletes the old one in the cleanup phase), then deletes removed ones; a failure rolls back.

Each resource type is handled by a handler from handlers.py; the engine owns only ordering, state,
events and outputs.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from moto.cloudformation.models import Event
from moto.moto_api._internal import mock_random

from . import iam_enforcement
from .errors import ResourceFailure, UpdateRefused, ValidationError
from .intrinsics import NO_VALUE, Evaluator, check_rule_functions, get_atts, references
from .rules import RuleEvaluator
from .schemas import TypeSchema, schema_of

if TYPE_CHECKING:
    from moto.cloudformation.models import Stack


class StackRecord(Protocol):
    """What the engine reads and writes of its stack: a moto `Stack` (or, to validate a change set
    before its stack exists, a stand-in with the same fields)."""

    status: str

    @property
    def stack_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def account_id(self) -> str: ...

    @property
    def region_name(self) -> str: ...

    @property
    def template_dict(self) -> dict[str, Any]: ...

    @property
    def parameters(self) -> dict[str, str]: ...

    @property
    def notification_arns(self) -> list[str]: ...

    @property
    def tags(self) -> dict[str, str]: ...

    @property
    def events(self) -> list[Event]: ...


def random_suffix(size: int = 13) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(mock_random.choice(alphabet) for _ in range(size))


class ResourceState:
    """One resource of a stack: what moto's responses read (logical/physical id, type) plus status."""

    def __init__(self, logical_id: str, resource_type: str):
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id: str | None = None
        self.status = "NOT_STARTED"
        self.reason: str | None = None
        self.timestamp = time.time()
        self.properties: dict[str, Any] = {}
        self.attributes: dict[str, Any] = {}
        # Whatever the handler keeps (a moto model, a child stack, a request id ...).
        self.handle: Any = None

    @property
    def exists(self) -> bool:
        return self.physical_resource_id is not None and self.status not in (
            "DELETE_COMPLETE",
            "NOT_STARTED",
            "DELETE_SKIPPED",
        )

    def clone(self) -> ResourceState:
        copy = ResourceState(self.logical_resource_id, self.cf_resource_type)
        copy.__dict__.update(self.__dict__)
        copy.properties = dict(self.properties)
        copy.attributes = dict(self.attributes)
        return copy


_PARAMETER_LIST_TYPES = re.compile(r"^(CommaDelimitedList|List<.+>)$")


class StackEngine:
    """Takes the place of moto's ResourceMap on a moto Stack (moto reads `resolved_parameters`,
    `no_echo_parameter_keys`, `values()` and `build_change_set_actions` from it)."""

    def __init__(self, stack: StackRecord):
        self.stack = stack
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.template: dict[str, Any] = stack.template_dict or {}
        self.input_parameters: dict[str, Any] = dict(stack.parameters or {})
        self.resolved_parameters: dict[str, Any] = {}
        self.no_echo_parameter_keys: list[str] = []
        self.conditions: dict[str, bool] = {}
        self.resources: dict[str, ResourceState] = {}
        self.outputs: list[dict[str, Any]] = []
        self.exports: dict[str, Any] = {}
        self.operation: threading.Thread | None = None
        self.parent: StackEngine | None = None
        self.status_reason: str | None = None
        # CreateStack/ExecuteChangeSet DisableRollback: keep what was created when creation fails.
        self.disable_rollback = False
        # The IAM principal whose credentials started the current operation (EKS makes the cluster
        # creator's access entry): an ARN, or None when unknown.
        self.caller_arn: str | None = None
        # SignalResource calls by logical id: (unique id, SUCCESS or FAILURE).
        self.signals: dict[str, list[tuple[str, str]]] = {}
        if self.template:
            self._prepare(self.template, self.input_parameters)

    # ------------------------------------------------------------------ what moto reads
    def values(self) -> list[ResourceState]:
        with self.lock:
            return [r for r in self.resources.values() if r.status != "NOT_STARTED"]

    def __len__(self) -> int:
        return len(self.resources)

    def build_change_set_actions(self, template: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
        """Add / Modify / Remove by logical id, for DescribeChangeSet."""
        old = self.template.get("Resources", {}) if self.template else {}
        new = template.get("Resources", {})
        actions: dict[str, dict[str, dict[str, str]]] = {"Add": {}, "Modify": {}, "Remove": {}}
        for name, body in new.items():
            if name not in old:
                actions["Add"][name] = {"LogicalResourceId": name, "ResourceType": body["Type"]}
            elif old[name] != body or body["Type"] == "AWS::CloudFormation::Stack":
                actions["Modify"][name] = {"LogicalResourceId": name, "ResourceType": body["Type"]}
        for name, body in old.items():
            if name not in new:
                actions["Remove"][name] = {"LogicalResourceId": name, "ResourceType": body["Type"]}
        return actions

    # ------------------------------------------------------------------ scope for the evaluator
    @property
    def account_id(self) -> str:
        return self.stack.account_id

    @property
    def region(self) -> str:
        return self.stack.region_name

    @property
    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::StackId": self.stack.stack_id,
            "AWS::StackName": self.stack.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::NotificationARNs": list(self.stack.notification_arns or []),
        }

    @property
    def parameters(self) -> dict[str, Any]:
        return self.resolved_parameters

    @property
    def mappings(self) -> dict[str, Any]:
        return self.template.get("Mappings", {}) or {}

    @property
    def resource_names(self) -> set[str]:
        return set((self.template.get("Resources") or {}).keys())

    def ref_resource(self, logical_id: str) -> Any:
        state = self.resources.get(logical_id)
        if state is None or state.physical_resource_id is None:
            raise ResourceFailure(
                f"Template error: resource {logical_id} is not created (its condition is false or it has not been "
                "created yet)"
            )
        return state.physical_resource_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        state = self.resources.get(logical_id)
        if state is None or state.physical_resource_id is None:
            raise ResourceFailure(
                f"Template error: resource {logical_id} is not created, so Fn::GetAtt {logical_id}.{attribute} has no "
                "value"
            )
        from .handlers import handler_for

        schema = _schema_checked(state.cf_resource_type, self.region)
        if schema is not None and not schema.has_attribute(attribute):
            raise ResourceFailure(_no_such_attribute(logical_id, attribute))
        return handler_for(state.cf_resource_type).get_att(self, state, attribute)

    def caller_principal(self) -> str | None:
        """The caller as an IAM principal ARN, as EKS records a cluster creator (an assumed role is its role)."""
        arn = (
            self.caller_arn
            if self.caller_arn is not None
            else (self.parent.caller_principal() if self.parent else None)
        )
        if not arn:
            return None
        match = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/.*$", arn)
        if match:
            return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
        match = re.match(r"^arn:([^:]+):sts::(\d+):(user/.+)$", arn)
        if match:
            return f"arn:{match.group(1)}:iam::{match.group(2)}:{match.group(3)}"
        return arn

    def signal(self, logical_id: str, unique_id: str, status: str) -> None:
        """SignalResource: a signal for a resource's CreationPolicy."""
        with self.lock:
            if logical_id not in self.resource_names:
                raise ValidationError(f"Resource {logical_id} does not exist for stack {self.stack.name}")
            state = self.resources.get(logical_id)
            if state is None or state.status != "CREATE_IN_PROGRESS":
                raise ValidationError(
                    f"Resource {logical_id} is in {state.status if state else 'NOT_STARTED'} state and can not be "
                    "signaled"
                )
            self.signals.setdefault(logical_id, []).append((unique_id, status))
            self.changed.notify_all()

    def import_value(self, name: str) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[self.account_id][self.region]
        export = backend.exports.get(name)
        if export is None:
            raise ResourceFailure(f"No export named {name} found.")
        return export.value

    def availability_zones(self, region: str) -> list[str]:
        from moto.ec2.models import ec2_backends

        zones = ec2_backends[self.account_id][region].describe_availability_zones()
        return sorted(z.name for z in zones)

    # ------------------------------------------------------------------ preparation
    def _prepare(self, template: dict[str, Any], input_parameters: dict[str, Any]) -> None:
        """Parameters, Rules, Conditions and the static checks CloudFormation makes before it starts."""
        self.template = template
        declared = template.get("Parameters", {}) or {}
        unknown = [k for k in input_parameters if k not in declared]
        if unknown:
            raise ValidationError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
        resolved: dict[str, Any] = {}
        no_echo: list[str] = []
        missing: list[str] = []
        for name, spec in declared.items():
            spec = spec or {}
            if name in input_parameters:
                raw = input_parameters[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                missing.append(name)
                continue
            resolved[name] = self._parameter_value(name, spec, raw)
            if str(spec.get("NoEcho", "false")).lower() == "true":
                no_echo.append(name)
        if missing:
            raise ValidationError(f"Parameters: [{', '.join(missing)}] must have values")
        self.resolved_parameters = resolved
        self.no_echo_parameter_keys = no_echo

        evaluator = Evaluator(self)
        self.conditions = {}
        pending = dict(template.get("Conditions", {}) or {})

        # Conditions may refer to each other in any order: evaluate on demand.
        class _Lazy(dict):  # type: ignore[type-arg]
            def __missing__(inner, key: str) -> bool:  # noqa: N805
                if key not in pending:
                    raise KeyError(key)
                value = evaluator.condition(pending.pop(key))
                inner[key] = value
                return value

            def __contains__(inner, key: object) -> bool:  # noqa: N805
                return dict.__contains__(inner, key) or key in pending

        lazy = _Lazy()
        self.conditions = lazy
        for name in list(pending):
            if name in pending:
                lazy[name]
        self.conditions = dict(lazy)

        check_rule_functions(template)
        # Rules may read the account too (Fn::RefAll, Fn::ValueOf, Fn::ValueOfAll: rules.py).
        rule_evaluator = RuleEvaluator(
            self,
            {name: str((spec or {}).get("Type", "String")) for name, spec in declared.items()},
            self.account_id,
            self.region,
        )
        for rule_name, rule in (template.get("Rules", {}) or {}).items():
            if "RuleCondition" in rule and not rule_evaluator.condition(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []) or []:
                if not rule_evaluator.condition(assertion["Assert"]):
                    description = (
                        assertion.get("AssertDescription")
                        or f"Template validation error: Assertion failed for rule {rule_name}"
                    )
                    raise ValidationError(description.strip())

        self._check_types(template)
        self._check_graph(template)

    def _check_types(self, template: dict[str, Any]) -> None:
        """Every resource type must be one CloudFormation knows (or one the engine handles), and every
        Fn::GetAtt must name an attribute its type has, as CloudFormation checks before it starts."""
        from .handlers import has_handler

        resources = template.get("Resources") or {}
        unknown = sorted(
            {
                str(body.get("Type"))
                for body in resources.values()
                if _schema_checked(str(body.get("Type")), self.region) is None
                and not str(body.get("Type")).startswith("Custom::")
                and not has_handler(str(body.get("Type")))
            }
        )
        if unknown:
            raise ValidationError(f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")

        def check(logical_id: str, attribute: Any) -> None:
            body = resources.get(logical_id)
            if body is None or not isinstance(attribute, str):
                return
            schema = _schema_checked(str(body.get("Type")), self.region)
            if schema is not None and not schema.has_attribute(attribute):
                raise ValidationError(_no_such_attribute(logical_id, attribute))

        get_atts(template, set(resources), check)

    def _parameter_value(self, name: str, spec: dict[str, Any], raw: Any) -> Any:
        kind = str(spec.get("Type", "String"))
        text = raw if isinstance(raw, str) else ",".join(raw) if isinstance(raw, list) else str(raw)
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            text = self._ssm_value(name, text)
            kind = kind[len("AWS::SSM::Parameter::Value<") : -1]
        is_list = bool(_PARAMETER_LIST_TYPES.match(kind))
        values = ([v.strip() for v in text.split(",")] if text != "" else []) if is_list else [text]
        allowed = spec.get("AllowedValues")
        pattern = spec.get("AllowedPattern")
        why = spec.get("ConstraintDescription")
        for value in values:
            if allowed is not None and value not in [
                str(a) if not isinstance(a, bool) else str(a).lower() for a in allowed
            ]:
                raise ValidationError(
                    (why and f"Parameter '{name}' failed to satisfy constraint: {why}")
                    or f"Parameter '{name}' must be one of AllowedValues"
                )
            if pattern is not None and not re.fullmatch(str(pattern), value):
                raise ValidationError(
                    (why and f"Parameter '{name}' failed to satisfy constraint: {why}")
                    or f"Parameter '{name}' must match pattern {pattern}"
                )
            if kind in ("Number", "List<Number>"):
                try:
                    number = float(value)
                except ValueError:
                    raise ValidationError(f"Parameter '{name}' must be a number not {value}") from None
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    raise ValidationError(f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
                if "MaxValue" in spec and number > float(spec["MaxValue"]):
                    raise ValidationError(f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")
            if "MinLength" in spec and len(value) < int(spec["MinLength"]):
                raise ValidationError(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
            if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
                raise ValidationError(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
            self._check_aws_type(name, kind, value)
        return values if is_list else text

    def _check_aws_type(self, name: str, kind: str, value: str) -> None:
        """AWS-specific parameter types name things that must exist, as CloudFormation checks."""
        from moto.ec2.models import ec2_backends

        inner = kind[5:-1] if kind.startswith("List<") else kind
        ec2 = ec2_backends[self.account_id][self.region]
        try:
            if inner == "AWS::EC2::VPC::Id":
                ec2.get_vpc(value)
            elif inner == "AWS::EC2::Subnet::Id":
                ec2.get_subnet(value)
            elif inner == "AWS::EC2::SecurityGroup::Id":
                if ec2.get_security_group_from_id(value) is None:
                    raise LookupError(value)
            elif inner == "AWS::EC2::KeyPair::KeyName":
                ec2.describe_key_pairs([value])
        except Exception:
            raise ValidationError(
                f"Parameter validation failed: parameter value {value} for parameter name {name} does not exist. "
                "Rollback requested by user."
            ) from None

    def _ssm_value(self, name: str, path: str) -> str:
        from moto.ssm.models import ssm_backends

        parameter = ssm_backends[self.account_id][self.region].get_parameter(path)
        if parameter is None:
            raise ValidationError(f"Parameters: [ssm:{path}] cannot be found (parameter {name}).")
        return parameter.value

    def _active_resources(self, template: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The resources whose Condition is true."""
        out = {}
        for name, body in (template.get("Resources") or {}).items():
            condition = body.get("Condition")
            if condition is not None:
                if condition not in self.conditions:
                    raise ValidationError(
                        f"Template format error: Unresolved condition dependency {condition} in Resources block"
                    )
                if not self.conditions[condition]:
                    continue
            out[name] = body
        return out

    def dependencies(self, template: dict[str, Any]) -> dict[str, set[str]]:
        """Logical id -> the logical ids it depends on, among the resources that will exist."""
        active = self._active_resources(template)
        all_names = set((template.get("Resources") or {}).keys())
        graph: dict[str, set[str]] = {}
        for name, body in active.items():
            deps: set[str] = set()
            depends_on = body.get("DependsOn", [])
            for dep in [depends_on] if isinstance(depends_on, str) else depends_on or []:
                if dep not in all_names:
                    raise ValidationError(
                        f"Template format error: Unresolved resource dependencies [{dep}] in the Resources block of "
                        "the template"
                    )
                deps.add(dep)
            refs: set[str] = set()
            for key in ("Properties", "Metadata", "UpdatePolicy", "CreationPolicy"):
                if key in body:
                    references(body[key], self.conditions, all_names, refs.add)
            for dep in refs:
                if dep not in active:
                    raise ValidationError(
                        f"Template format error: Unresolved resource dependencies [{dep}] in the Resources block of "
                        "the template"
                    )
            deps |= refs
            deps.discard(name)
            graph[name] = {d for d in deps if d in active}
        return graph

    def _check_graph(self, template: dict[str, Any]) -> None:
        graph = self.dependencies(template)
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(node: str, path: list[str]) -> None:
            if node in done:
                return
            if node in visiting:
                cycle = path[path.index(node) :]
                raise ValidationError(f"Circular dependency between resources: [{', '.join(sorted(set(cycle)))}]")
            visiting.add(node)
            for dep in graph[node]:
                visit(dep, [*path, node])
            visiting.discard(node)
            done.add(node)

        for node in graph:
            visit(node, [])
        # Outputs may only name resources that exist.
        for output in (template.get("Outputs") or {}).values():
            condition = output.get("Condition")
            if condition is not None and not self.conditions.get(condition, False):
                continue
            refs: set[str] = set()
            references(output.get("Value"), self.conditions, set(template.get("Resources", {}).keys()), refs.add)
            absent = [r for r in refs if r not in graph]
            if absent:
                raise ValidationError(
                    f"Template format error: Unresolved resource dependencies [{', '.join(absent)}] in the Outputs "
                    "block of the template"
                )

    # ------------------------------------------------------------------ events and status
    def event(self, state: ResourceState | None, status: str, reason: str | None = None) -> None:
        """Records an event for a resource (or, with None, for the stack itself) and its status."""
        from .event_properties import resource_properties_json

        stack = self.stack
        with self.lock:
            if state is None:
                stack.status = status
                self.status_reason = reason
                ev = Event(
                    stack.stack_id,
                    stack.name,
                    stack.name,
                    stack.stack_id,
                    "AWS::CloudFormation::Stack",
                    status,
                    reason,
                    None,
                )
            else:
                state.status = status
                state.reason = reason
                state.timestamp = time.time()
                ev = Event(
                    stack.stack_id,
                    stack.name,
                    state.logical_resource_id,
                    state.physical_resource_id or "",
                    state.cf_resource_type,
                    status,
                    reason,
                    resource_properties_json(self, state),
                )
            stack.events.append(ev)
            self.changed.notify_all()

    def wait_settled(self, timeout: float | None = None) -> str:
        """Blocks until no operation runs; returns the stack status."""
        deadline = None if timeout is None else time.time() + timeout
        with self.changed:
            while self.stack.status.endswith("_IN_PROGRESS"):
                remaining = None if deadline is None else deadline - time.time()
                if remaining is not None and remaining <= 0:
                    break
                self.changed.wait(timeout=remaining if remaining is not None else 5)
            return self.stack.status

    def _start(self, name: str, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            except Exception as err:  # the engine itself failed: never leave a stack IN_PROGRESS
                traceback.print_exc()
                status = self.stack.status
                final = {
                    "CREATE_IN_PROGRESS": "CREATE_FAILED",
                    "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
                    "DELETE_IN_PROGRESS": "DELETE_FAILED",
                    "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
                }.get(status)
                if final:
                    self.event(None, final, f"Internal error of the local engine: {err}")

        thread = threading.Thread(target=run, name=f"kubecfn-{name}-{self.stack.name}", daemon=True)
        self.operation = thread
        thread.start()

    # ------------------------------------------------------------------ resource steps
    def _resolve_properties(self, body: dict[str, Any]) -> dict[str, Any]:
        props = Evaluator(self).value(body.get("Properties", {}) or {})
        return {} if props is NO_VALUE else props

    def _run_parallel(
        self,
        names: list[str],
        blockers: dict[str, set[str]],
        step: Callable[[str], None],
        stop_on_failure: bool,
    ) -> list[tuple[str, str]]:
        """Runs `step` for each name once its blockers are done, in parallel; returns failures."""
        remaining = set(names)
        running: set[str] = set()
        done: set[str] = set()
        failed: set[str] = set()
        failures: list[tuple[str, str]] = []
        finished: list[tuple[str, str | None]] = []
        signal = threading.Condition()

        def worker(name: str) -> None:
            error: str | None = None
            try:
                step(name)
            except ResourceFailure as err:
                error = str(err)
            except Exception as err:  # a handler bug still ends in a failed resource with its message
                traceback.print_exc()
                error = f"{type(err).__name__}: {err}"
            with signal:
                finished.append((name, error))
                signal.notify_all()

        with signal:
            while remaining or running:
                if not (failures and stop_on_failure):
                    for name in sorted(remaining):
                        # A failed blocker keeps its dependents (or, deleting, its dependencies) waiting for good.
                        if not (blockers.get(name, set()) & (remaining | running | failed)):
                            remaining.discard(name)
                            running.add(name)
                            threading.Thread(target=worker, args=(name,), daemon=True, name=f"kubecfn-{name}").start()
                elif not running:
                    break
                if not running and remaining:
                    # Blocked forever (a blocker failed and was not retried): give up on the rest.
                    break
                signal.wait(timeout=5)
                while finished:
                    name, error = finished.pop()
                    running.discard(name)
                    done.add(name)
                    if error is not None:
                        failures.append((name, error))
                        failed.add(name)
        return failures

    def _create_one(self, name: str, body: dict[str, Any]) -> None:
        from .handlers import handler_for

        state = self.resources.setdefault(name, ResourceState(name, body["Type"]))
        state.cf_resource_type = body["Type"]
        self.event(state, "CREATE_IN_PROGRESS")
        try:
            props = self._resolve_properties(body)
            state.properties = props
            self._check_properties(state.cf_resource_type, props)
            iam_enforcement.authorize_resource(self, "create", state.cf_resource_type, props)
            handler_for(body["Type"]).create(self, state, props, body)
            policy = body.get("CreationPolicy") or {}
            if "ResourceSignal" in policy:
                self._await_signals(state, policy.get("ResourceSignal") or {})
        except ResourceFailure as err:
            self.event(state, "CREATE_FAILED", str(err))
            raise
        except Exception as err:
            traceback.print_exc()
            self.event(state, "CREATE_FAILED", f"{type(err).__name__}: {err}")
            raise ResourceFailure(str(err)) from err
        self.event(state, "CREATE_COMPLETE")

    def _check_properties(self, resource_type: str, props: dict[str, Any]) -> None:
        """A property the type's schema does not have fails the resource, as in CloudFormation."""
        if resource_type.startswith("Custom::"):
            return
        schema = _schema_checked(resource_type, self.region)
        if schema is None or schema.open_properties:
            return
        for name in sorted(props):
            if name not in schema.properties:
                raise ResourceFailure(f"Encountered unsupported property {name}")

    def _await_signals(self, state: ResourceState, policy: dict[str, Any]) -> None:
        """CreationPolicy ResourceSignal: the resource completes once Count SUCCESS signals arrived.

        Nothing boots locally, so nothing runs cfn-signal. When the instance's UserData calls cfn-signal
        for this resource, the engine sends the signals on its behalf (an emulation, listed in
        emulated.json); otherwise it waits for SignalResource calls until Timeout, and then fails as
        CloudFormation does."""
        from . import emulations
        from .handlers import runs_cfn_signal, user_data_of

        count = int(policy.get("Count", 1) or 1)
        timeout = _duration(str(policy.get("Timeout", "PT5M")))
        script = user_data_of(state)
        if script is not None and runs_cfn_signal(script, state.logical_resource_id):
            for _ in range(count):
                self.event(
                    state,
                    "CREATE_IN_PROGRESS",
                    f"Received SUCCESS signal with UniqueId {state.physical_resource_id} (local mode: emulated, sent "
                    "for the cfn-signal call in the instance's UserData; the instance never boots)",
                )
            emulations.note(
                self,
                state,
                "creation-signal",
                f"{count} SUCCESS signal(s) sent by the engine for the cfn-signal call in the UserData; the script "
                "itself never ran",
            )
            return
        deadline = time.time() + timeout
        seen = 0
        with self.changed:
            while True:
                received = self.signals.get(state.logical_resource_id, [])
                for unique_id, status in received[seen:]:
                    seen += 1
                    if status != "SUCCESS":
                        raise ResourceFailure(f"Received FAILURE signal with UniqueId {unique_id}")
                    self.event(state, "CREATE_IN_PROGRESS", f"Received SUCCESS signal with UniqueId {unique_id}")
                if seen >= count:
                    return
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise ResourceFailure(
                        f"Failed to receive {count - seen} resource signal(s) within the specified duration"
                    )
                self.changed.wait(timeout=min(remaining, 5))

    def _delete_one(
        self,
        state: ResourceState,
        body: dict[str, Any] | None,
        undo_create: bool = False,
        policy_key: str = "DeletionPolicy",
    ) -> None:
        """Deletes a resource unless its policy keeps it: Retain always; RetainExceptOnCreate except when
        the delete undoes the operation that created it (`undo_create`). With policy_key
        UpdateReplacePolicy, the old physical resource of a replacement."""
        from .handlers import handler_for

        policy = (body or {}).get(policy_key, "Delete")
        if policy == "Retain" or (policy == "RetainExceptOnCreate" and not undo_create):
            if state.physical_resource_id is not None:
                self.event(state, "DELETE_SKIPPED")
            return
        if state.physical_resource_id is None:
            # Never created (failed before it had an id): nothing to delete.
            if state.status not in ("NOT_STARTED", "DELETE_COMPLETE"):
                self.event(state, "DELETE_COMPLETE")
            return
        self.event(state, "DELETE_IN_PROGRESS")
        try:
            iam_enforcement.authorize_resource(self, "delete", state.cf_resource_type, state.properties or {})
            handler_for(state.cf_resource_type).delete(self, state)
        except ResourceFailure as err:
            self.event(state, "DELETE_FAILED", str(err))
            raise
        except Exception as err:
            traceback.print_exc()
            self.event(state, "DELETE_FAILED", f"{type(err).__name__}: {err}")
            raise ResourceFailure(str(err)) from err
        self.event(state, "DELETE_COMPLETE")

    def _reverse_blockers(self, graph: dict[str, set[str]], names: set[str]) -> dict[str, set[str]]:
        """For deletion: a resource waits for every resource that depends on it."""
        blockers: dict[str, set[str]] = {n: set() for n in names}
        for dependent, deps in graph.items():
            for dep in deps:
                if dep in blockers and dependent in names:
                    blockers[dep].add(dependent)
        return blockers

    def _known_graph(self, *templates: dict[str, Any]) -> dict[str, set[str]]:
        """Dependencies by every template given (old and new during an update), merged."""
        graph: dict[str, set[str]] = {}
        for template in templates:
            if not template:
                continue
            try:
                for name, deps in self.dependencies(template).items():
                    graph.setdefault(name, set()).update(deps)
            except ValidationError:
                continue
        return graph

    def _delete_states(
        self,
        states: dict[str, ResourceState],
        graph: dict[str, set[str]],
        bodies: dict[str, Any],
        undo_create: bool = False,
        policy_key: str = "DeletionPolicy",
    ) -> list[tuple[str, str]]:
        names = {n for n, s in states.items() if s.status not in ("NOT_STARTED", "DELETE_COMPLETE", "DELETE_SKIPPED")}
        blockers = self._reverse_blockers(graph, names)
        return self._run_parallel(
            sorted(names),
            blockers,
            lambda n: self._delete_one(states[n], bodies.get(n), undo_create, policy_key),
            stop_on_failure=False,
        )

    # ------------------------------------------------------------------ outputs
    def _compute_outputs(self) -> None:
        evaluator = Evaluator(self)
        outputs: list[dict[str, Any]] = []
        exports: dict[str, Any] = {}
        for key, output in (self.template.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is not None and not self.conditions.get(condition, False):
                continue
            value = evaluator.value(output.get("Value"))
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            entry = {"OutputKey": key, "OutputValue": _text(value), "Description": output.get("Description")}
            if output.get("Export"):
                name = evaluator.value(output["Export"].get("Name"))
                entry["ExportName"] = name
                exports[name] = _text(value)
            outputs.append(entry)
        self.outputs = outputs
        self.exports = exports

    def _publish_exports(self) -> None:
        from moto.cloudformation.models import cloudformation_backends
        from moto.cloudformation.parsing import Export

        backend = cloudformation_backends[self.account_id][self.region]
        for name, value in self.exports.items():
            owner = backend.exports.get(name)
            if owner is not None and owner.exporting_stack_id != self.stack.stack_id:
                raise ResourceFailure(
                    f"Export with name {name} is already exported by stack {owner.exporting_stack_id}"
                )
            backend.exports[name] = Export(self.stack.stack_id, name, value)

    def _withdraw_exports(self) -> None:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[self.account_id][self.region]
        for name in list(backend.exports):
            if backend.exports[name].exporting_stack_id == self.stack.stack_id:
                del backend.exports[name]

    # ------------------------------------------------------------------ create
    def start_create(self) -> None:
        self.stack.status = "CREATE_IN_PROGRESS"
        self._start("create", self._run_create)

    def _run_create(self) -> None:
        template = self.template
        graph = self.dependencies(template)
        active = self._active_resources(template)
        for name, body in active.items():
            self.resources.setdefault(name, ResourceState(name, body["Type"]))
        failures = self._run_parallel(
            sorted(graph), graph, lambda n: self._create_one(n, active[n]), stop_on_failure=True
        )
        if not failures:
            try:
                self._compute_outputs()
                self._publish_exports()
            except (ResourceFailure, ValidationError) as err:
                failures = [(self.stack.name, str(err))]
        if not failures:
            self.event(None, "CREATE_COMPLETE")
            return
        names = ", ".join(sorted({n for n, _ in failures}))
        if self.disable_rollback:
            self.event(None, "CREATE_FAILED", f"The following resource(s) failed to create: [{names}]. ")
            return
        # Nothing further was started after the failure; what never started gets no events.
        self.event(
            None,
            "ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to create: [{names}]. Rollback requested by user.",
        )
        problems = self._delete_states(self.resources, graph, active, undo_create=True)
        self._withdraw_exports()
        if problems:
            failed = ", ".join(sorted({n for n, _ in problems}))
            self.event(None, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{failed}]. ")
        else:
            self.event(None, "ROLLBACK_COMPLETE")

    # ------------------------------------------------------------------ delete
    def start_delete(self, on_deleted: Callable[[], None]) -> None:
        self.event(None, "DELETE_IN_PROGRESS", "User Initiated")

        def run() -> None:
            graph = self._known_graph(self.template)
            bodies = (self.template or {}).get("Resources", {}) or {}
            failures = self._delete_states(self.resources, graph, bodies)
            if failures:
                names = ", ".join(sorted({n for n, _ in failures}))
                self.event(None, "DELETE_FAILED", f"The following resource(s) failed to delete: [{names}]. ")
                return
            self._withdraw_exports()
            self.event(None, "DELETE_COMPLETE")
            on_deleted()

        self._start("delete", run)

    # ------------------------------------------------------------------ update
    def start_update(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        """Validates synchronously (CloudFormation's UpdateStack does), then updates in the background."""
        old = self._prepared()
        try:
            self._prepare(template, parameters)
        except Exception:
            self._restore(old)
            raise
        self.input_parameters = dict(parameters)
        self.event(None, "UPDATE_IN_PROGRESS", "User Initiated")
        self._start("update", lambda: self._run_update(old))

    def _prepared(self) -> _Prepared:
        return _Prepared(
            self.template,
            self.input_parameters,
            self.resolved_parameters,
            self.no_echo_parameter_keys,
            self.conditions,
        )

    def _restore(self, old: _Prepared) -> None:
        self.template, self.input_parameters = old.template, old.input_parameters
        self.resolved_parameters, self.no_echo_parameter_keys = old.resolved_parameters, old.no_echo_parameter_keys
        self.conditions = old.conditions

    def _run_update(self, old: _Prepared) -> None:
        from .handlers import handler_for

        new_template = self.template
        old_template = old.template
        graph = self.dependencies(new_template)
        active = self._active_resources(new_template)
        old_bodies = (old_template or {}).get("Resources", {}) or {}
        before = {n: s.clone() for n, s in self.resources.items()}
        replaced: dict[str, ResourceState] = {}
        touched: list[str] = []

        def step(name: str) -> None:
            body = active[name]
            state = self.resources.get(name)
            if state is None or not state.exists:
                touched.append(name)
                self._create_one(name, body)
                return
            props = self._resolve_properties(body)
            handler = handler_for(body["Type"])
            if body.get("Type") == state.cf_resource_type and not handler.needs_update(self, state, props):
                return
            touched.append(name)
            self.event(state, "UPDATE_IN_PROGRESS")
            previous = state.clone()
            try:
                self._check_properties(state.cf_resource_type, props)
                iam_enforcement.authorize_resource(self, "update", state.cf_resource_type, props)
                outcome = handler.update(self, state, previous, props, body)
            except ResourceFailure as err:
                # What was attempted, so the rollback's update carries it as the old properties (unless
                # the update was refused before anything changed).
                if not isinstance(err, UpdateRefused):
                    state.properties = props
                self.event(state, "UPDATE_FAILED", str(err))
                raise
            except Exception as err:
                traceback.print_exc()
                state.properties = props
                self.event(state, "UPDATE_FAILED", f"{type(err).__name__}: {err}")
                raise ResourceFailure(str(err)) from err
            if outcome == "replaced":
                replaced[name] = previous
            if outcome != "unchanged":
                state.properties = props
                self.event(state, "UPDATE_COMPLETE")

        failures = self._run_parallel(sorted(graph), graph, step, stop_on_failure=True)
        if not failures:
            try:
                self._compute_outputs()
                self._withdraw_exports()
                self._publish_exports()
            except (ResourceFailure, ValidationError) as err:
                failures = [(self.stack.name, str(err))]
        if not failures:
            self.event(None, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            removed = {n: s for n, s in self.resources.items() if n not in active and s.exists}
            old_graph = self._known_graph(old_template)
            self._delete_states(removed, old_graph, old_bodies)
            for name in removed:
                self.resources.pop(name, None)
            # Replaced resources: the old physical resource goes now, with its old properties, dependents
            # first, unless its UpdateReplacePolicy keeps it.
            self._delete_states(
                replaced,
                self._known_graph(old_template, new_template),
                old_bodies,
                policy_key="UpdateReplacePolicy",
            )
            self.event(None, "UPDATE_COMPLETE")
            return

        names = ", ".join(sorted({n for n, _ in failures}))
        self.event(None, "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: [{names}]. ")
        # Back to the previous template and parameters: resources created by this update are
        # deleted, updated ones are updated back.
        self._restore(old)
        problems: list[tuple[str, str]] = []
        for name in reversed(touched):
            state = self.resources.get(name)
            if state is None:
                continue
            prior = before.get(name)
            try:
                if prior is None or not prior.exists:
                    self._delete_one(state, active.get(name), undo_create=True)
                    self.resources.pop(name, None)
                elif state.physical_resource_id != prior.physical_resource_id:
                    # A replacement: the new physical resource goes, the old one stays as it was.
                    self.resources[name] = prior
                    replaced.pop(name, None)
                    self._delete_one(state, active.get(name) or old_bodies.get(name), undo_create=True)
                    self.resources[name] = prior
                    self.event(prior, "UPDATE_COMPLETE")
                elif state.properties == prior.properties:
                    # Refused before anything changed: it is as it was.
                    self.event(state, "UPDATE_COMPLETE")
                else:
                    # Updated (or attempted): update it back, as CloudFormation's rollback does.
                    self.event(state, "UPDATE_IN_PROGRESS")
                    handler = handler_for(state.cf_resource_type)
                    handler.update(self, state, state.clone(), prior.properties, old_bodies.get(name, {}))
                    state.properties = prior.properties
                    self.event(state, "UPDATE_COMPLETE")
            except Exception as err:
                problems.append((name, str(err)))
        self.event(None, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        if problems:
            self.event(
                None,
                "UPDATE_ROLLBACK_FAILED",
                f"The following resource(s) failed to update: [{', '.join(n for n, _ in problems)}]. ",
            )
        else:
            self.event(None, "UPDATE_ROLLBACK_COMPLETE")


def _schema_checked(resource_type: str, region: str) -> TypeSchema | None:
    """The type's schema, unless the engine handles the type without one (a custom resource: any
    attribute its provider answers)."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return None
    return schema_of(resource_type, region)


def _no_such_attribute(logical_id: str, attribute: str) -> str:
    return f"Template error: resource {logical_id} does not support attribute type {attribute} in Fn::GetAtt"


_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def _duration(text: str) -> float:
    """An ISO 8601 duration as CreationPolicy takes it (PT15M, PT1H30M, PT30S), in seconds."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise ResourceFailure(f"CreationPolicy: Timeout {text} is not an ISO 8601 duration such as PT15M")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def engine_of(stack: Stack) -> StackEngine | None:
    """The engine of a moto stack (patches.py makes one every stack's `resource_map`), if it has one."""
    resource_map: object = stack.resource_map
    return resource_map if isinstance(resource_map, StackEngine) else None


def require_engine(stack: Stack) -> StackEngine:
    engine = engine_of(stack)
    if engine is None:
        raise TypeError(f"stack {stack.name} has moto's own resource map, not the engine (patches not applied)")
    return engine


@dataclass(frozen=True)
class _Prepared:
    """What `_prepare` decided for a template and its parameters: restored when an update fails."""

    template: dict[str, Any]
    input_parameters: dict[str, Any]
    resolved_parameters: dict[str, Any]
    no_echo_parameter_keys: list[str]
    conditions: dict[str, bool]
