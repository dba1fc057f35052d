"""The engine is strict where CloudFormation is strict and fails closed elsewhere: types, attributes and
properties are checked against CloudFormation's resource schemas (cfn-lint's bundled copy), and what
nobody models fails with a reason that says it is not emulated instead of being made up."""

from __future__ import annotations

import textwrap

import pytest
from moto.ec2.models import ec2_backends

from kubecfn_embedded import handlers
from kubecfn_embedded.engine import StackEngine
from kubecfn_embedded.errors import ValidationError
from tests.support import ACCOUNT, REGION, make_engine, settle, statuses

pytestmark = pytest.mark.usefixtures("aws")


def created_or_failed(text: str) -> StackEngine:
    engine = make_engine(textwrap.dedent(text))
    engine.start_create()
    settle(engine)
    return engine


def reasons(engine: StackEngine, status: str) -> list[tuple[str, str | None]]:
    return [
        (e.logical_resource_id, e.resource_status_reason) for e in engine.stack.events if e.resource_status == status
    ]


# ---------------------------------------------------------------------------- types
def test_a_type_cloudformation_does_not_know_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValidationError) as err:
        make_engine("Resources:\n  A: {Type: 'AWS::Nope::Thing'}\n  B: {Type: 'AWS::EC2::VPC'}\n")
    assert err.value.message == "Template format error: Unrecognized resource types: [AWS::Nope::Thing]"


def test_a_known_type_nobody_emulates_fails_the_stack_saying_so() -> None:
    # Given a type CloudFormation has (a schema) that neither moto nor the engine models
    engine = created_or_failed("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          Schedule:
            Type: AWS::Scheduler::Schedule
            DependsOn: Vpc
            Properties:
              FlexibleTimeWindow: {Mode: "OFF"}
              ScheduleExpression: rate(1 hour)
              Target: {Arn: x, RoleArn: y}
        """)
    # Then it fails (no record with a made-up id) and the stack rolls back
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert reasons(engine, "CREATE_FAILED") == [
        (
            "Schedule",
            "Resource type AWS::Scheduler::Schedule is not emulated by the local engine: neither moto nor kubecfn's "
            "engine models it, so local mode cannot create it (see scripts/local/README.md, Emulated)",
        )
    ]
    assert statuses(engine, "Vpc")[-1] == "DELETE_COMPLETE"


# ---------------------------------------------------------------------------- attributes
def test_an_attribute_the_type_does_not_have_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValidationError) as err:
        make_engine("""
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  P: {Type: AWS::SSM::Parameter, Properties: {Type: String, Value: !Sub "${Vpc.Nope}"}}
""")
    assert err.value.message == "Template error: resource Vpc does not support attribute type Nope in Fn::GetAtt"


def test_an_attribute_the_type_has_but_nobody_emulates_fails_the_reader() -> None:
    engine = created_or_failed("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          P: {Type: AWS::SSM::Parameter, Properties: {Type: String, Value: !GetAtt Vpc.VpcEncryptionControl.Mode}}
        """)
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert reasons(engine, "CREATE_FAILED") == [
        (
            "P",
            "Fn::GetAtt Vpc.VpcEncryptionControl.Mode: attribute VpcEncryptionControl.Mode of AWS::EC2::VPC is not "
            "emulated by the local engine (no value is made up for it)",
        )
    ]


def test_attributes_moto_models_are_read_from_moto() -> None:
    engine = created_or_failed("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
        Outputs:
          Cidr: {Value: !GetAtt Vpc.CidrBlock}
        """)
    assert engine.stack.status == "CREATE_COMPLETE"
    assert engine.outputs[0]["OutputValue"] == "10.0.0.0/16"


# ---------------------------------------------------------------------------- properties
def test_a_property_the_type_does_not_have_fails_the_resource_as_cloudformation_words_it() -> None:
    engine = created_or_failed(
        "Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16, Colour: red}}\n"
    )
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert reasons(engine, "CREATE_FAILED") == [("Vpc", "Encountered unsupported property Colour")]
    assert [v for v in ec2_backends[ACCOUNT][REGION].describe_vpcs() if v.cidr_block == "10.0.0.0/16"] == []


# ---------------------------------------------------------------------------- delete
def test_a_delete_nobody_can_do_fails_instead_of_completing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a type moto creates but cannot delete through CloudFormation (the engine's own deleter removed)
    monkeypatch.delitem(handlers._BACKEND_DELETERS, "AWS::EC2::RouteTable")
    engine = created_or_failed("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          Table: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}
        """)
    assert engine.stack.status == "CREATE_COMPLETE"
    engine.start_delete(lambda: None)
    # Then the delete fails saying so, and what depends on it stays
    assert settle(engine) == "DELETE_FAILED"
    [(name, reason)] = [(n, r) for n, r in reasons(engine, "DELETE_FAILED") if n != engine.stack.name]
    assert name == "Table"
    assert reason is not None
    assert reason.startswith("Deleting AWS::EC2::RouteTable is not emulated by the local engine")
    assert "DELETE_COMPLETE" not in statuses(engine, "Vpc")
