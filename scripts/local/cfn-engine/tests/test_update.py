"""Stack updates: what is created, updated, replaced and deleted, in which phase, and how a failed
update rolls back. Resources are Test::Recorded (support.Recorder), which replaces a resource when its
`Replace` property changes and fails an action whose properties say `Fail: true`."""

from __future__ import annotations

import textwrap

import pytest

from kubecfn_embedded.engine import StackEngine
from kubecfn_embedded.errors import ValidationError
from kubecfn_embedded.template import parse_template
from tests.support import Recorder, make_engine, settle, stack_events

pytestmark = pytest.mark.usefixtures("aws")

STACK = "unit"

V1 = """
Parameters:
  Size: {Type: String, Default: "1"}
Resources:
  A:
    Type: Test::Recorded
    Properties: {Replace: "1", Size: !Ref Size}
  B:
    Type: Test::Recorded
    Properties: {From: !Ref A}
  C:
    Type: Test::Recorded
    Properties: {Fixed: c}
"""


def created(recorder: Recorder, text: str = V1) -> StackEngine:
    engine = make_engine(textwrap.dedent(text))
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    recorder.calls.clear()
    return engine


def update(engine: StackEngine, text: str, parameters: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Updates the stack; returns the events of the update only."""
    before = len(engine.stack.events)
    engine.start_update(parse_template(textwrap.dedent(text)), dict(parameters or {}))
    settle(engine)
    return stack_events(engine)[before:]


def test_an_update_touches_only_what_changed(recorder: Recorder) -> None:
    # Given a stack, when only parameter Size changes (used by A alone)
    engine = created(recorder)
    events = update(engine, V1, {"Size": "2"})
    # Then only A is updated, in place, and B (which refers to A's unchanged id) is left alone
    assert recorder.calls == [("update", "A", {"Replace": "1", "Size": "2"})]
    assert events == [
        (STACK, "UPDATE_IN_PROGRESS"),
        ("A", "UPDATE_IN_PROGRESS"),
        ("A", "UPDATE_COMPLETE"),
        (STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        (STACK, "UPDATE_COMPLETE"),
    ]
    assert engine.resources["A"].properties == {"Replace": "1", "Size": "2"}
    assert engine.input_parameters == {"Size": "2"}


def test_added_resources_are_created_and_removed_ones_deleted_in_the_cleanup_phase(recorder: Recorder) -> None:
    engine = created(recorder)
    v2 = V1.replace("  C:\n    Type: Test::Recorded\n    Properties: {Fixed: c}\n", "  D:\n    Type: Test::Recorded\n")
    events = update(engine, v2)
    assert recorder.calls == [("create", "D", {}), ("delete", "C", {"Fixed": "c"})]
    assert events == [
        (STACK, "UPDATE_IN_PROGRESS"),
        ("D", "CREATE_IN_PROGRESS"),
        ("D", "CREATE_COMPLETE"),
        (STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("C", "DELETE_IN_PROGRESS"),
        ("C", "DELETE_COMPLETE"),
        (STACK, "UPDATE_COMPLETE"),
    ]
    assert sorted(engine.resources) == ["A", "B", "D"]


def test_a_replacement_updates_its_dependents_then_deletes_the_old_resource_at_cleanup(recorder: Recorder) -> None:
    # Given A <- B, when A is replaced (a new physical id)
    engine = created(recorder)
    events = update(engine, V1.replace('Replace: "1"', 'Replace: "2"'))
    # Then B is updated to the new id, and the old A goes last, with its old properties
    assert recorder.calls == [
        ("update", "A", {"Replace": "2", "Size": "1"}),
        ("update", "B", {"From": "A-2"}),
        ("delete", "A", {"Replace": "1", "Size": "1"}),
    ]
    assert events == [
        (STACK, "UPDATE_IN_PROGRESS"),
        ("A", "UPDATE_IN_PROGRESS"),
        ("A", "UPDATE_COMPLETE"),
        ("B", "UPDATE_IN_PROGRESS"),
        ("B", "UPDATE_COMPLETE"),
        (STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("A", "DELETE_IN_PROGRESS"),
        ("A", "DELETE_COMPLETE"),
        (STACK, "UPDATE_COMPLETE"),
    ]
    old_a_deleted = next(e for e in engine.stack.events if e.resource_status == "DELETE_IN_PROGRESS")
    assert old_a_deleted.physical_resource_id == "A-1"
    assert engine.resources["A"].physical_resource_id == "A-2"
    assert engine.resources["A"].status == "UPDATE_COMPLETE"


def test_a_failed_update_updates_back_what_it_changed_and_deletes_what_it_created(recorder: Recorder) -> None:
    # Given A <- B; the update changes A, adds N (after A) and makes B fail
    engine = created(recorder)
    v2 = (
        V1.replace("Properties: {From: !Ref A}", "Properties: {From: !Ref A, Fail: true}")
        + "  N:\n    Type: Test::Recorded\n    DependsOn: A\n"
    )
    events = update(engine, v2, {"Size": "2"})
    # Then the stack is back on the old template: A and B updated back to their old properties, N deleted
    calls = recorder.calls
    assert calls[0] == ("update", "A", {"Replace": "1", "Size": "2"})
    assert sorted(calls[1:3]) == [("create", "N", {}), ("update", "B", {"From": "A-1", "Fail": True})]
    # Rolled back in the reverse order of the update: B (whose update failed) and N, then A
    rollback = calls[3:]
    assert sorted(rollback[:2]) == [("delete", "N", {}), ("update", "B", {"From": "A-1"})]
    assert rollback[2:] == [("update", "A", {"Replace": "1", "Size": "1"})]
    assert engine.stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [e for e in events if e[0] == STACK] == [
        (STACK, "UPDATE_IN_PROGRESS"),
        (STACK, "UPDATE_ROLLBACK_IN_PROGRESS"),
        (STACK, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        (STACK, "UPDATE_ROLLBACK_COMPLETE"),
    ]
    reason = [e.resource_status_reason for e in engine.stack.events if e.resource_status == "UPDATE_FAILED"]
    assert reason == ["update of B failed on purpose"]
    assert engine.template == parse_template(textwrap.dedent(V1))
    assert engine.input_parameters == {}
    assert engine.resolved_parameters == {"Size": "1"}
    assert engine.resources["A"].properties == {"Replace": "1", "Size": "1"}
    assert "N" not in engine.resources


def test_a_failed_update_after_a_replacement_deletes_the_new_resource_and_keeps_the_old(
    recorder: Recorder,
) -> None:
    # Given A is replaced and then B fails
    engine = created(recorder)
    v2 = V1.replace('Replace: "1"', 'Replace: "2"').replace(
        "Properties: {From: !Ref A}", "Properties: {From: !Ref A, Fail: true}"
    )
    update(engine, v2)
    # Then the new A is deleted and the old A is the stack's A again
    assert recorder.calls == [
        ("update", "A", {"Replace": "2", "Size": "1"}),
        ("update", "B", {"From": "A-2", "Fail": True}),
        ("update", "B", {"From": "A-1"}),
        ("delete", "A", {"Replace": "2", "Size": "1"}),
    ]
    assert engine.stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert engine.resources["A"].physical_resource_id == "A-1"
    assert engine.resources["A"].properties == {"Replace": "1", "Size": "1"}


def test_an_update_refused_by_validation_leaves_the_stack_as_it_was(recorder: Recorder) -> None:
    engine = created(recorder)
    template_before = engine.template
    events_before = len(engine.stack.events)
    with pytest.raises(ValidationError) as err:
        engine.start_update(parse_template(textwrap.dedent(V1)), {"Nope": "x"})
    assert err.value.message == "Parameters: [Nope] do not exist in the template"
    assert engine.template is template_before
    assert engine.resolved_parameters == {"Size": "1"}
    assert len(engine.stack.events) == events_before
    assert engine.stack.status == "CREATE_COMPLETE"


def test_change_set_actions_name_added_modified_and_removed_resources(recorder: Recorder) -> None:
    engine = created(recorder)
    v2 = parse_template(
        textwrap.dedent(V1).replace("Fixed: c", "Fixed: d").replace("  B:\n", "  New:\n    Type: T\n  B:\n")
    )
    del v2["Resources"]["A"]
    assert engine.build_change_set_actions(v2) == {
        "Add": {"New": {"LogicalResourceId": "New", "ResourceType": "T"}},
        "Modify": {"C": {"LogicalResourceId": "C", "ResourceType": "Test::Recorded"}},
        "Remove": {"A": {"LogicalResourceId": "A", "ResourceType": "Test::Recorded"}},
    }


def test_retain_except_on_create_resource_made_by_a_failed_update_is_deleted(recorder: Recorder) -> None:
    engine = created(recorder)
    v2 = (
        V1.replace("Properties: {From: !Ref A}", "Properties: {From: !Ref A, Fail: true}")
        + "  N:\n    Type: Test::Recorded\n    DeletionPolicy: RetainExceptOnCreate\n    DependsOn: A\n"
    )
    update(engine, v2)
    assert ("delete", "N", {}) in recorder.calls


REPLACED = """
Resources:
  A:
    Type: Test::Recorded
    UpdateReplacePolicy: {policy}
    DeletionPolicy: {deletion}
    Properties: {{Replace: "{a}"}}
  B:
    Type: Test::Recorded
    Properties: {{From: !Ref A, Replace: "{b}"}}
"""


def test_update_replace_policy_retain_keeps_the_old_resource(recorder: Recorder) -> None:
    engine = created(recorder, REPLACED.format(policy="Retain", deletion="Delete", a="1", b="1"))
    events = update(engine, REPLACED.format(policy="Retain", deletion="Delete", a="2", b="1"))
    assert engine.stack.status == "UPDATE_COMPLETE"
    assert "delete" not in [action for action, _, _ in recorder.calls]
    assert ("A", "DELETE_SKIPPED") in events
    assert engine.resources["A"].physical_resource_id == "A-2"


def test_deletion_policy_retain_does_not_keep_the_old_resource_of_a_replacement(recorder: Recorder) -> None:
    # DeletionPolicy is for the stack's delete; a replacement's old resource follows UpdateReplacePolicy
    engine = created(recorder, REPLACED.format(policy="Delete", deletion="Retain", a="1", b="1"))
    update(engine, REPLACED.format(policy="Delete", deletion="Retain", a="2", b="1"))
    assert ("delete", "A", {"Replace": "1"}) in recorder.calls


def test_old_resources_of_replacements_are_deleted_dependents_first(recorder: Recorder) -> None:
    # Given B refers to A, when both are replaced
    engine = created(recorder, REPLACED.format(policy="Delete", deletion="Delete", a="1", b="1"))
    events = update(engine, REPLACED.format(policy="Delete", deletion="Delete", a="2", b="2"))
    # Then the old B is gone before the old A is deleted, as in the stack's delete
    assert events.index(("B", "DELETE_COMPLETE")) < events.index(("A", "DELETE_IN_PROGRESS"))
