"""What the engine's unit tests share: a stack record without moto's CloudFormation backend, an engine
built from template text, and a resource type whose handler records what the engine asks of it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import Event

from kubecfn_embedded import handlers
from kubecfn_embedded.engine import ResourceState, StackEngine
from kubecfn_embedded.errors import ResourceFailure
from kubecfn_embedded.template import parse_template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
RECORDED = "Test::Recorded"


@dataclass
class FakeStack:
    """What the engine reads and writes of a moto Stack (engine.StackRecord)."""

    template_dict: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    name: str = "unit"
    stack_id: str = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/unit/0001"
    account_id: str = ACCOUNT
    region_name: str = REGION
    status: str = "CREATE_PENDING"
    notification_arns: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def make_engine(template: str, parameters: dict[str, str] | None = None, name: str = "unit") -> StackEngine:
    """An engine for `template` (YAML or JSON text), prepared as CreateStack prepares it."""
    stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0001"
    return StackEngine(FakeStack(parse_template(template), dict(parameters or {}), name=name, stack_id=stack_id))


def stack_events(engine: StackEngine) -> list[tuple[str, str]]:
    """(logical id, status) of every event, oldest first; the stack's own under its name."""
    return [(e.logical_resource_id, e.resource_status) for e in engine.stack.events]


def statuses(engine: StackEngine, logical_id: str) -> list[str]:
    return [status for name, status in stack_events(engine) if name == logical_id]


def settle(engine: StackEngine) -> str:
    status = engine.wait_settled(timeout=20)
    assert not status.endswith("_IN_PROGRESS"), f"the operation did not finish: {status}"
    return status


class Recorder(handlers.Handler):
    """A handler for Test::Recorded resources: records each call as (action, logical id, properties);
    fails the (action, logical id) pairs in `fail` and any action whose properties say `Fail: true`;
    replaces a resource (a new physical id) when its `Replace` property changes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.fail: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.made: dict[str, int] = {}

    def _record(self, action: str, state: ResourceState, props: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((action, state.logical_resource_id, dict(props)))
        if (action, state.logical_resource_id) in self.fail or props.get("Fail") is True:
            raise ResourceFailure(f"{action} of {state.logical_resource_id} failed on purpose")

    def _new_id(self, state: ResourceState) -> str:
        """<logical id>-1 for the first physical resource, -2 for its replacement ..."""
        with self.lock:
            count = self.made.get(state.logical_resource_id, 0) + 1
            self.made[state.logical_resource_id] = count
            return f"{state.logical_resource_id}-{count}"

    def order(self, action: str) -> list[str]:
        return [name for a, name, _ in self.calls if a == action]

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        self._record("create", state, props)
        state.physical_resource_id = self._new_id(state)
        state.attributes = {"Name": f"name-of-{state.logical_resource_id}"}

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        self._record("update", state, props)
        if props.get("Replace") != previous.properties.get("Replace"):
            state.physical_resource_id = self._new_id(state)
            return "replaced"
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        self._record("delete", state, state.properties)
