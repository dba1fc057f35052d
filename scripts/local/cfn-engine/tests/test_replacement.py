"""Replacement decisions of the real handlers on update: custom resources (the provider's answer
decides) and types backed by moto's models (the type's schema decides: a change to a create-only
property replaces, any other is made in place through moto, or fails as not emulated)."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from moto.ec2.models import ec2_backends
from moto.logs.models import logs_backends
from moto.ssm.models import ssm_backends

from kubecfn_embedded import custom_resources
from kubecfn_embedded.engine import StackEngine
from kubecfn_embedded.template import parse_template
from tests.support import ACCOUNT, REGION, make_engine, settle, stack_events

pytestmark = pytest.mark.usefixtures("aws")

TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:provider"


class Provider:
    """Stands in for custom_resources.send: records each request and answers from `physical_ids`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.next_id = "phys-1"

    def send(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if request["request_type"] == "Delete":
            return {"PhysicalResourceId": request["physical_id"], "Data": {}}
        return {"PhysicalResourceId": self.next_id, "Data": {"Out": f"out-of-{self.next_id}"}}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Provider:
    fake = Provider()
    monkeypatch.setattr(custom_resources, "send", fake.send)
    return fake


CUSTOM = f"""
Parameters:
  Key: {{Type: String, Default: one}}
  Token: {{Type: String, Default: "{TOKEN}"}}
Resources:
  Custom:
    Type: Custom::Thing
    Properties: {{ServiceToken: !Ref Token, Key: !Ref Key, Count: 2}}
Outputs:
  Out: {{Value: !GetAtt Custom.Out}}
"""


def created(text: str) -> StackEngine:
    engine = make_engine(textwrap.dedent(text))
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    return engine


def update(engine: StackEngine, text: str, parameters: dict[str, str] | None = None) -> list[tuple[str, str]]:
    before = len(engine.stack.events)
    engine.start_update(parse_template(textwrap.dedent(text)), dict(parameters or {}))
    settle(engine)
    return stack_events(engine)[before:]


def brief(request: dict[str, Any]) -> tuple[Any, ...]:
    return (request["request_type"], request.get("physical_id"), request["properties"].get("Key"))


# ---------------------------------------------------------------------------- custom resources
def test_custom_resource_create_takes_the_providers_id_and_data(provider: Provider) -> None:
    engine = created(CUSTOM)
    assert [brief(r) for r in provider.requests] == [("Create", None, "one")]
    assert provider.requests[0]["properties"] == {"ServiceToken": TOKEN, "Key": "one", "Count": 2}
    assert provider.requests[0]["resource_type"] == "Custom::Thing"
    assert engine.resources["Custom"].physical_resource_id == "phys-1"
    assert engine.outputs[0]["OutputValue"] == "out-of-phys-1"


def test_custom_resource_answering_the_same_id_is_updated_in_place(provider: Provider) -> None:
    engine = created(CUSTOM)
    events = update(engine, CUSTOM, {"Key": "two"})
    assert [brief(r) for r in provider.requests] == [("Create", None, "one"), ("Update", "phys-1", "two")]
    assert provider.requests[1]["old_properties"] == {"ServiceToken": TOKEN, "Key": "one", "Count": 2}
    assert ("Custom", "DELETE_IN_PROGRESS") not in events
    assert engine.stack.status == "UPDATE_COMPLETE"


def test_custom_resource_answering_a_new_id_is_replaced_and_the_old_id_deleted_at_cleanup(
    provider: Provider,
) -> None:
    engine = created(CUSTOM)
    provider.next_id = "phys-2"
    events = update(engine, CUSTOM, {"Key": "two"})
    assert [brief(r) for r in provider.requests] == [
        ("Create", None, "one"),
        ("Update", "phys-1", "two"),
        ("Delete", "phys-1", "one"),
    ]
    assert events.index((engine.stack.name, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")) < events.index(
        ("Custom", "DELETE_IN_PROGRESS")
    )
    assert engine.resources["Custom"].physical_resource_id == "phys-2"
    assert engine.outputs[0]["OutputValue"] == "out-of-phys-2"


def test_custom_resource_service_token_cannot_change(provider: Provider) -> None:
    engine = created(CUSTOM)
    update(engine, CUSTOM, {"Token": TOKEN + "-other"})
    failed = [e for e in engine.stack.events if e.resource_status == "UPDATE_FAILED"]
    assert [e.resource_status_reason for e in failed][:1] == ["Modifying service token is not allowed."]
    assert [brief(r) for r in provider.requests] == [("Create", None, "one")]


def test_a_refused_service_token_change_rolls_back_cleanly(provider: Provider) -> None:
    engine = created(CUSTOM)
    update(engine, CUSTOM, {"Token": TOKEN + "-other"})
    assert engine.stack.status == "UPDATE_ROLLBACK_COMPLETE"


def test_custom_resource_attribute_missing_from_the_answer_fails_the_reader(provider: Provider) -> None:
    engine = make_engine(
        textwrap.dedent(f"""
        Resources:
          Custom: {{Type: Custom::Thing, Properties: {{ServiceToken: "{TOKEN}"}}}}
          Reader: {{Type: Custom::Thing, Properties: {{ServiceToken: "{TOKEN}", In: !GetAtt Custom.Missing}}}}
        """)
    )
    engine.start_create()
    assert settle(engine) == "ROLLBACK_COMPLETE"
    failed = [e for e in engine.stack.events if e.resource_status == "CREATE_FAILED"]
    assert [(e.logical_resource_id, e.resource_status_reason) for e in failed] == [
        (
            "Reader",
            "CustomResource attribute error: Vendor response doesn't contain Missing key in object "
            f"{engine.stack.stack_id}|Custom",
        )
    ]


# ---------------------------------------------------------------------------- moto-backed types
def test_a_type_with_a_moto_updater_is_updated_in_place() -> None:
    # Given an SSM parameter (moto has an updater for the type)
    text = "Resources:\n  P: {Type: AWS::SSM::Parameter, Properties: {Name: /kubecfn/p, Type: String, Value: v1}}\n"
    engine = created(text)
    # When its value changes
    events = update(engine, text.replace("v1", "v2"))
    # Then it is updated, keeps its physical id, and nothing is deleted
    assert engine.resources["P"].physical_resource_id == "/kubecfn/p"
    assert [e for e in events if e[0] == "P"] == [("P", "UPDATE_IN_PROGRESS"), ("P", "UPDATE_COMPLETE")]
    parameter = ssm_backends[ACCOUNT][REGION].get_parameter("/kubecfn/p")
    assert parameter is not None
    assert parameter.value == "v2"


def test_a_type_without_a_moto_updater_is_replaced_and_the_old_one_deleted_at_cleanup() -> None:
    # Given a VPC (moto has no updater for the type), when its CIDR block changes
    text = "Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n"
    engine = created(text)
    old_id = engine.resources["Vpc"].physical_resource_id
    events = update(engine, text.replace("10.0.0.0/16", "10.1.0.0/16"))
    # Then a new VPC takes its place and the old one is deleted in the cleanup phase
    new_id = engine.resources["Vpc"].physical_resource_id
    assert new_id != old_id
    assert [e for e in events if e[0] == "Vpc"] == [
        ("Vpc", "UPDATE_IN_PROGRESS"),
        ("Vpc", "UPDATE_COMPLETE"),
        ("Vpc", "DELETE_IN_PROGRESS"),
        ("Vpc", "DELETE_COMPLETE"),
    ]
    vpcs = ec2_backends[ACCOUNT][REGION].describe_vpcs()
    assert [(v.id, v.cidr_block) for v in vpcs if v.cidr_block.startswith("10.")] == [(new_id, "10.1.0.0/16")]


def test_changing_only_tags_keeps_the_vpc() -> None:
    text = textwrap.dedent("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16, Tags: [{Key: a, Value: b}]}}
        """)
    engine = created(text)
    old_id = engine.resources["Vpc"].physical_resource_id
    update(engine, text.replace("Value: b", "Value: c"))
    assert engine.stack.status == "UPDATE_COMPLETE"
    assert engine.resources["Vpc"].physical_resource_id == old_id
    tags = ec2_backends[ACCOUNT][REGION].describe_tags(filters={"resource-id": [str(old_id)]})
    assert {t["key"]: t["value"] for t in tags if not t["key"].startswith("aws:")} == {"a": "c"}


def test_changing_a_named_log_groups_retention_updates_it() -> None:
    text = "Resources:\n  Logs: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /k/logs, RetentionInDays: 7}}\n"
    engine = created(text)
    update(engine, text.replace("RetentionInDays: 7", "RetentionInDays: 14"))
    assert engine.stack.status == "UPDATE_COMPLETE"
    assert logs_backends[ACCOUNT][REGION].groups["/k/logs"].retention_in_days == 14


# ---------------------------------------------------------------------------- decided by the schema
def test_a_create_only_change_replaces_even_where_moto_has_an_updater() -> None:
    # Given an SSM parameter (moto's updater would delete and re-create it at once)
    text = "Resources:\n  P: {Type: AWS::SSM::Parameter, Properties: {Name: /kubecfn/a, Type: String, Value: v}}\n"
    engine = created(text)
    # When its Name (create-only in the schema) changes
    events = update(engine, text.replace("/kubecfn/a", "/kubecfn/b"))
    # Then the new one is created first and the old one deleted in the cleanup phase
    assert engine.stack.status == "UPDATE_COMPLETE"
    assert events.index(("P", "UPDATE_COMPLETE")) < events.index(
        (engine.stack.name, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    )
    assert events.index((engine.stack.name, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")) < events.index(
        ("P", "DELETE_COMPLETE")
    )
    assert ssm_backends[ACCOUNT][REGION].get_parameter("/kubecfn/a") is None


def test_a_custom_named_resource_that_needs_replacing_is_refused_as_cloudformation_refuses_it() -> None:
    text = textwrap.dedent("""
        Resources:
          Role:
            Type: AWS::IAM::Role
            Properties:
              RoleName: kubecfn-role
              Path: /one/
              AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}
        """)
    engine = created(text)
    update(engine, text.replace("/one/", "/two/"))
    failed = [e.resource_status_reason for e in engine.stack.events if e.resource_status == "UPDATE_FAILED"]
    assert failed == [
        "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename kubecfn-role "
        "and update the stack again."
    ]
    assert engine.stack.status == "UPDATE_ROLLBACK_COMPLETE"


def test_an_in_place_change_moto_cannot_make_fails_instead_of_replacing() -> None:
    # Given a subnet (no moto updater), when MapPublicIpOnLaunch changes (an update without replacement in AWS)
    text = textwrap.dedent("""
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          Subnet:
            Type: AWS::EC2::Subnet
            Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, MapPublicIpOnLaunch: false}
        """)
    engine = created(text)
    old_id = engine.resources["Subnet"].physical_resource_id
    update(engine, text.replace("MapPublicIpOnLaunch: false", "MapPublicIpOnLaunch: true"))
    # Then the update fails saying it is not emulated, and the subnet is the same one
    failed = [e.resource_status_reason for e in engine.stack.events if e.resource_status == "UPDATE_FAILED"]
    assert failed[:1] == [
        "Updating MapPublicIpOnLaunch of AWS::EC2::Subnet in place is not emulated by the local engine (moto cannot "
        "update the type without replacing it; in AWS the change needs no replacement)"
    ]
    assert engine.resources["Subnet"].physical_resource_id == old_id
    assert [s.id for s in ec2_backends[ACCOUNT][REGION].describe_subnets() if s.cidr_block == "10.0.1.0/24"] == [old_id]
