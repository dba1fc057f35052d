"""ParentId and RootId of nested stacks in DescribeStacks (nested_stack_ids.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from moto.cloudformation.models import Stack

from kubecfn_embedded import nested_stack_ids
from tests.support import make_engine

TEMPLATE = "Resources:\n  A:\n    Type: Test::Recorded\n"


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    # install() adds properties to moto's class: take them away again after the test
    for name in ("parent_id", "root_id"):
        if name in vars(Stack):
            monkeypatch.setattr(Stack, name, vars(Stack)[name])
        else:
            monkeypatch.setattr(Stack, name, None, raising=False)
            monkeypatch.delattr(Stack, name)
    monkeypatch.setattr(nested_stack_ids, "_installed", False)
    nested_stack_ids.install()


def _ids(engine: object) -> tuple[str | None, str | None]:
    stack = SimpleNamespace(resource_map=engine)
    return Stack.parent_id.fget(stack), Stack.root_id.fget(stack)  # type: ignore[attr-defined]


def test_a_nested_stack_names_its_parent_and_its_root(installed: None) -> None:
    root = make_engine(TEMPLATE, name="root")
    child = make_engine(TEMPLATE, name="child")
    grandchild = make_engine(TEMPLATE, name="grandchild")
    child.parent = root
    grandchild.parent = child
    assert _ids(root) == (None, None)
    assert _ids(child) == (root.stack.stack_id, root.stack.stack_id)
    assert _ids(grandchild) == (child.stack.stack_id, root.stack.stack_id)


def test_a_stack_without_the_engine_has_neither(installed: None) -> None:
    assert _ids({}) == (None, None)
