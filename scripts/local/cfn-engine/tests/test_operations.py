"""Stack operations end to end inside the engine: create in dependency order, delete in reverse,
rollback of a failed create, outputs and exports. Resources are Test::Recorded (support.Recorder);
moto's in-memory backends stand behind exports and availability zones."""

from __future__ import annotations

import textwrap

import pytest

from kubecfn_embedded.engine import StackEngine
from tests.support import Recorder, make_engine, settle, stack_events, statuses

pytestmark = pytest.mark.usefixtures("aws")

STACK = "unit"

CHAIN = """
Resources:
  A:
    Type: Test::Recorded
    Properties: {Value: one}
  B:
    Type: Test::Recorded
    Properties: {From: !Ref A}
  C:
    Type: Test::Recorded
    Properties: {From: !GetAtt B.Name}
"""

DIAMOND = """
Resources:
  Top:
    Type: Test::Recorded
    DependsOn: [Left, Right]
  Left:
    Type: Test::Recorded
    Properties: {Up: !Ref Base}
  Right:
    Type: Test::Recorded
    Properties: {Up: !Sub "${Base}"}
  Base:
    Type: Test::Recorded
"""


def created(text: str) -> StackEngine:
    engine = make_engine(textwrap.dedent(text))
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    return engine


def deleted(engine: StackEngine) -> list[str]:
    """Deletes the stack; returns what the on-deleted callback saw (once, when it is gone)."""
    seen: list[str] = []
    engine.start_delete(lambda: seen.append(engine.stack.status))
    settle(engine)
    return seen


# ---------------------------------------------------------------------------- create
def test_create_runs_in_dependency_order_and_resolves_references(recorder: Recorder) -> None:
    # Given A <- B <- C
    engine = created(CHAIN)
    # Then each is created after what it refers to, with the value it refers to
    assert recorder.calls == [
        ("create", "A", {"Value": "one"}),
        ("create", "B", {"From": "A-1"}),
        ("create", "C", {"From": "name-of-B"}),
    ]
    assert stack_events(engine) == [
        ("A", "CREATE_IN_PROGRESS"),
        ("A", "CREATE_COMPLETE"),
        ("B", "CREATE_IN_PROGRESS"),
        ("B", "CREATE_COMPLETE"),
        ("C", "CREATE_IN_PROGRESS"),
        ("C", "CREATE_COMPLETE"),
        (STACK, "CREATE_COMPLETE"),
    ]
    assert [(r.logical_resource_id, r.physical_resource_id, r.status) for r in engine.values()] == [
        ("A", "A-1", "CREATE_COMPLETE"),
        ("B", "B-1", "CREATE_COMPLETE"),
        ("C", "C-1", "CREATE_COMPLETE"),
    ]


def test_create_starts_a_resource_only_when_all_it_depends_on_is_complete(recorder: Recorder) -> None:
    engine = created(DIAMOND)
    order = recorder.order("create")
    assert order[0] == "Base"
    assert sorted(order[1:3]) == ["Left", "Right"]
    assert order[3] == "Top"
    events = stack_events(engine)
    top_started = events.index(("Top", "CREATE_IN_PROGRESS"))
    assert events.index(("Left", "CREATE_COMPLETE")) < top_started
    assert events.index(("Right", "CREATE_COMPLETE")) < top_started


def test_a_resource_whose_condition_is_false_is_not_created(recorder: Recorder) -> None:
    created("""
        Parameters:
          Env: {Type: String, Default: dev}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
        Resources:
          Always: {Type: Test::Recorded, Properties: {Size: !If [IsProd, 10, !Ref "AWS::NoValue"]}}
          ProdOnly: {Type: Test::Recorded, Condition: IsProd}
        """)
    assert recorder.calls == [("create", "Always", {})]


def test_getazs_reads_the_regions_zones_from_moto(recorder: Recorder) -> None:
    created("""
        Resources:
          Net: {Type: Test::Recorded, Properties: {Zones: !GetAZs "", First: !Select [0, !GetAZs ""]}}
        """)
    assert recorder.calls == [
        ("create", "Net", {"Zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"], "First": "eu-west-1a"})
    ]


def test_outputs_and_exports_are_published_and_importable_by_another_stack(recorder: Recorder) -> None:
    # Given a stack exporting a value
    engine = created("""
        Resources:
          Vpc: {Type: Test::Recorded}
        Outputs:
          VpcId:
            Description: the VPC
            Value: !Ref Vpc
            Export: {Name: !Sub "${AWS::StackName}-vpc"}
          Zones:
            Value: !GetAZs ""
        """)
    assert engine.outputs == [
        {"OutputKey": "VpcId", "OutputValue": "Vpc-1", "Description": "the VPC", "ExportName": "unit-vpc"},
        {"OutputKey": "Zones", "OutputValue": "eu-west-1a,eu-west-1b,eu-west-1c", "Description": None},
    ]
    # When another stack imports it
    created("""
        Resources:
          User: {Type: Test::Recorded, Properties: {Vpc: !ImportValue unit-vpc}}
        """)
    # Then it reads the exported value
    assert recorder.calls[-1] == ("create", "User", {"Vpc": "Vpc-1"})


# ---------------------------------------------------------------------------- rollback of a create
def test_a_failed_create_rolls_back_what_was_created_and_starts_nothing_more(recorder: Recorder) -> None:
    # Given A <- B <- C where B fails
    recorder.fail.add(("create", "B"))
    engine = make_engine(textwrap.dedent(CHAIN))
    # When the stack is created
    engine.start_create()
    # Then A is deleted again, C never starts, and the stack ends in ROLLBACK_COMPLETE
    assert settle(engine) == "ROLLBACK_COMPLETE"
    assert recorder.calls == [
        ("create", "A", {"Value": "one"}),
        ("create", "B", {"From": "A-1"}),
        ("delete", "A", {"Value": "one"}),
    ]
    assert stack_events(engine) == [
        ("A", "CREATE_IN_PROGRESS"),
        ("A", "CREATE_COMPLETE"),
        ("B", "CREATE_IN_PROGRESS"),
        ("B", "CREATE_FAILED"),
        (STACK, "ROLLBACK_IN_PROGRESS"),
        ("B", "DELETE_COMPLETE"),
        ("A", "DELETE_IN_PROGRESS"),
        ("A", "DELETE_COMPLETE"),
        (STACK, "ROLLBACK_COMPLETE"),
    ]
    reasons = [e.resource_status_reason for e in engine.stack.events]
    assert reasons[3] == "create of B failed on purpose"
    assert reasons[4] == "The following resource(s) failed to create: [B]. Rollback requested by user."


def test_disable_rollback_keeps_what_was_created(recorder: Recorder) -> None:
    recorder.fail.add(("create", "B"))
    engine = make_engine(textwrap.dedent(CHAIN))
    engine.disable_rollback = True
    engine.start_create()
    assert settle(engine) == "CREATE_FAILED"
    assert recorder.order("delete") == []
    assert engine.status_reason == "The following resource(s) failed to create: [B]. "
    assert engine.resources["A"].status == "CREATE_COMPLETE"


def test_a_failed_delete_during_rollback_ends_in_rollback_failed(recorder: Recorder) -> None:
    recorder.fail.update({("create", "C"), ("delete", "A")})
    engine = make_engine(textwrap.dedent(CHAIN))
    engine.start_create()
    assert settle(engine) == "ROLLBACK_FAILED"
    assert recorder.order("delete") == ["B", "A"]
    assert engine.status_reason == "The following resource(s) failed to delete: [A]. "


def test_an_export_name_taken_by_another_stack_fails_the_create(recorder: Recorder) -> None:
    template = """
        Resources:
          R: {Type: Test::Recorded}
        Outputs:
          Out: {Value: x, Export: {Name: taken}}
        """
    created(template)
    second = make_engine(textwrap.dedent(template), name="other")
    second.start_create()
    assert settle(second) == "ROLLBACK_COMPLETE"
    reasons = [e.resource_status_reason for e in second.stack.events if e.logical_resource_id == "other"]
    assert reasons[0] == "The following resource(s) failed to create: [other]. Rollback requested by user."
    assert recorder.order("delete") == ["R"]


def test_retain_keeps_the_resource_when_its_create_rolls_back(recorder: Recorder) -> None:
    recorder.fail.add(("create", "B"))
    engine = make_engine(
        "Resources:\n  A: {Type: Test::Recorded, DeletionPolicy: Retain}\n  B: {Type: Test::Recorded, DependsOn: A}\n"
    )
    engine.start_create()
    assert settle(engine) == "ROLLBACK_COMPLETE"
    assert recorder.order("delete") == []
    assert statuses(engine, "A")[-1] == "DELETE_SKIPPED"


def test_retain_except_on_create_deletes_the_resource_when_its_create_rolls_back(recorder: Recorder) -> None:
    recorder.fail.add(("create", "B"))
    engine = make_engine(
        "Resources:\n  A: {Type: Test::Recorded, DeletionPolicy: RetainExceptOnCreate}\n"
        "  B: {Type: Test::Recorded, DependsOn: A}\n"
    )
    engine.start_create()
    assert settle(engine) == "ROLLBACK_COMPLETE"
    assert recorder.order("delete") == ["A"]


# ---------------------------------------------------------------------------- delete
def test_delete_runs_in_reverse_dependency_order(recorder: Recorder) -> None:
    engine = created(CHAIN)
    # When the stack is deleted
    seen = deleted(engine)
    # Then what depends on a resource goes before it, and the stack goes last
    assert recorder.order("delete") == ["C", "B", "A"]
    assert stack_events(engine)[7:] == [
        (STACK, "DELETE_IN_PROGRESS"),
        ("C", "DELETE_IN_PROGRESS"),
        ("C", "DELETE_COMPLETE"),
        ("B", "DELETE_IN_PROGRESS"),
        ("B", "DELETE_COMPLETE"),
        ("A", "DELETE_IN_PROGRESS"),
        ("A", "DELETE_COMPLETE"),
        (STACK, "DELETE_COMPLETE"),
    ]
    assert seen == ["DELETE_COMPLETE"]


def test_delete_waits_for_every_dependent(recorder: Recorder) -> None:
    engine = created(DIAMOND)
    deleted(engine)
    order = recorder.order("delete")
    assert order[0] == "Top"
    assert sorted(order[1:3]) == ["Left", "Right"]
    assert order[3] == "Base"


@pytest.mark.parametrize("policy", ["Retain", "RetainExceptOnCreate"])
def test_delete_skips_retained_resources(recorder: Recorder, policy: str) -> None:
    engine = created(f"""
        Resources:
          Kept: {{Type: Test::Recorded, DeletionPolicy: {policy}}}
          Gone: {{Type: Test::Recorded, Properties: {{X: !Ref Kept}}}}
        """)
    deleted(engine)
    assert recorder.order("delete") == ["Gone"]
    assert ("Kept", "DELETE_SKIPPED") in stack_events(engine)
    assert engine.stack.status == "DELETE_COMPLETE"


def test_a_failed_delete_keeps_what_it_depends_on_and_the_stack(recorder: Recorder) -> None:
    engine = created(CHAIN)
    recorder.fail.add(("delete", "B"))
    seen = deleted(engine)
    assert recorder.order("delete") == ["C", "B"]
    assert engine.stack.status == "DELETE_FAILED"
    assert engine.status_reason == "The following resource(s) failed to delete: [B]. "
    assert engine.resources["A"].status == "CREATE_COMPLETE"
    assert seen == []
