"""``ParentId`` and ``RootId`` of nested stacks in DescribeStacks, as CloudFormation gives them.

moto's stacks have neither, so a nested stack looked like a stack of its own: tools that find a
stack's nested stacks by them (taskcat's report lists each nested stack's events by walking
DescribeStacks for ``ParentId``) found none. The engine knows each stack's parent (``StackEngine.parent``,
set by the nested-stack handler); this exposes it as the two attributes moto's serializer reads
(``parent_id``, ``root_id``), absent on a top-level stack as in CloudFormation.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Adds the ``parent_id`` and ``root_id`` properties to moto's stacks (once)."""
    global _installed
    if _installed:
        return
    from moto.cloudformation.models import Stack

    from .engine import engine_of

    def parent_id(self: Stack) -> str | None:
        engine = engine_of(self)
        return engine.parent.stack.stack_id if engine is not None and engine.parent is not None else None

    def root_id(self: Stack) -> str | None:
        engine = engine_of(self)
        top = engine.parent if engine is not None else None
        if top is None:
            return None
        while top.parent is not None:
            top = top.parent
        return str(top.stack.stack_id)

    Stack.parent_id = property(parent_id)  # type: ignore[attr-defined]
    Stack.root_id = property(root_id)  # type: ignore[attr-defined]
    _installed = True
