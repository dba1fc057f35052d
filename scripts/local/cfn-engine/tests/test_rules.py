"""Rules that read the account: Fn::RefAll, Fn::ValueOf and Fn::ValueOfAll, evaluated against moto's EC2
as CloudFormation evaluates them against the account before it starts (the existing-VPC entrypoint's
SubnetsInTheVpc and SubnetsInTwoZones rules are of this kind)."""

from __future__ import annotations

from typing import Any

import pytest
from moto.ec2.models import ec2_backends

from kubecfn_embedded.errors import ValidationError
from tests.support import ACCOUNT, REGION, make_engine

# The existing-VPC entrypoint's two rules, as it writes them.
SUBNET_RULES = """
Parameters:
  VPCID: {Type: "AWS::EC2::VPC::Id"}
  PrivateSubnet1ID: {Type: "AWS::EC2::Subnet::Id"}
  PrivateSubnet2ID: {Type: "AWS::EC2::Subnet::Id"}
  PrivateSubnet3ID: {Type: String, Default: ""}
Rules:
  SubnetsInTheVpc:
    Assertions:
      - Assert:
          Fn::EachMemberEquals:
            - Fn::ValueOfAll: [AWS::EC2::Subnet::Id, VpcId]
            - !Ref VPCID
        AssertDescription: PrivateSubnet1ID and PrivateSubnet2ID must be subnets of VPCID.
  SubnetsInTwoZones:
    Assertions:
      - Assert: !Not
          - Fn::EachMemberEquals:
              - Fn::ValueOfAll: [AWS::EC2::Subnet::Id, AvailabilityZone]
              - Fn::ValueOf: [PrivateSubnet1ID, AvailabilityZone]
        AssertDescription: PrivateSubnet1ID and PrivateSubnet2ID must be in different Availability Zones.
Resources:
  A: {Type: Test::Recorded}
"""


@pytest.fixture
def network(aws: None) -> dict[str, Any]:
    """Two VPCs; in the first, subnets in zones a, a and b; in the second, one subnet in zone b."""
    ec2 = ec2_backends[ACCOUNT][REGION]
    vpc = ec2.create_vpc("10.0.0.0/16")
    other = ec2.create_vpc("10.1.0.0/16")
    return {
        "vpc": vpc.id,
        "other": other.id,
        "a1": ec2.create_subnet(vpc.id, "10.0.1.0/24", availability_zone=f"{REGION}a").id,
        "a2": ec2.create_subnet(vpc.id, "10.0.2.0/24", availability_zone=f"{REGION}a").id,
        "b": ec2.create_subnet(vpc.id, "10.0.3.0/24", availability_zone=f"{REGION}b").id,
        "other_b": ec2.create_subnet(other.id, "10.1.1.0/24", availability_zone=f"{REGION}b").id,
    }


def refused(text: str, parameters: dict[str, str]) -> str:
    with pytest.raises(ValidationError) as err:
        make_engine(text, parameters)
    return str(err.value.message)


def test_subnets_of_the_vpc_in_two_zones_pass(network: dict[str, Any]) -> None:
    engine = make_engine(
        SUBNET_RULES, {"VPCID": network["vpc"], "PrivateSubnet1ID": network["a1"], "PrivateSubnet2ID": network["b"]}
    )
    assert engine.resolved_parameters["PrivateSubnet2ID"] == network["b"]


def test_a_subnet_of_another_vpc_is_refused_with_the_rules_description(network: dict[str, Any]) -> None:
    params = {"VPCID": network["vpc"], "PrivateSubnet1ID": network["a1"], "PrivateSubnet2ID": network["other_b"]}
    assert refused(SUBNET_RULES, params) == "PrivateSubnet1ID and PrivateSubnet2ID must be subnets of VPCID."


def test_two_subnets_in_one_zone_are_refused(network: dict[str, Any]) -> None:
    params = {"VPCID": network["vpc"], "PrivateSubnet1ID": network["a1"], "PrivateSubnet2ID": network["a2"]}
    assert refused(SUBNET_RULES, params) == (
        "PrivateSubnet1ID and PrivateSubnet2ID must be in different Availability Zones."
    )


def test_ref_all_lists_the_accounts_values(network: dict[str, Any]) -> None:
    text = """
Parameters:
  VPCID: {Type: "AWS::EC2::VPC::Id"}
Rules:
  KnownVpc:
    Assertions:
      - Assert: {"Fn::Contains": [{"Fn::RefAll": "AWS::EC2::VPC::Id"}, !Ref VPCID]}
Resources:
  A: {Type: Test::Recorded}
"""
    make_engine(text, {"VPCID": network["other"]})


def test_value_of_all_covers_list_parameters_of_their_own_type(network: dict[str, Any]) -> None:
    text = """
Parameters:
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>"}
Rules:
  OneVpc:
    Assertions:
      - Assert:
          Fn::EachMemberEquals:
            - Fn::ValueOfAll: ["List<AWS::EC2::Subnet::Id>", VpcId]
            - Fn::Sub: x
Resources:
  A: {Type: Test::Recorded}
"""
    # Fn::Sub is no rule function: refused before any lookup.
    assert "uses Fn::Sub, which Rules do not allow" in refused(text, {"Subnets": f"{network['a1']},{network['b']}"})
    fixed = text.replace("- Fn::Sub: x", f"- {network['vpc']}")
    make_engine(fixed, {"Subnets": f"{network['a1']},{network['b']}"})
    assert refused(fixed, {"Subnets": f"{network['a1']},{network['other_b']}"}).startswith(
        "Template validation error: Assertion failed for rule OneVpc"
    )


def test_an_attribute_nobody_emulates_fails_closed(network: dict[str, Any]) -> None:
    text = SUBNET_RULES.replace("Fn::ValueOf: [PrivateSubnet1ID, AvailabilityZone]", "Fn::ValueOf: [VPCID, CidrBlock]")
    params = {"VPCID": network["vpc"], "PrivateSubnet1ID": network["a1"], "PrivateSubnet2ID": network["b"]}
    assert refused(text, params).startswith(
        "Template error: Fn::ValueOf of attribute CidrBlock of parameter type AWS::EC2::VPC::Id is not emulated"
    )


def test_value_of_a_parameter_that_is_not_of_an_aws_type_fails_closed(network: dict[str, Any]) -> None:
    text = SUBNET_RULES.replace(
        "Fn::ValueOf: [PrivateSubnet1ID, AvailabilityZone]", "Fn::ValueOf: [PrivateSubnet3ID, AvailabilityZone]"
    )
    params = {"VPCID": network["vpc"], "PrivateSubnet1ID": network["a1"], "PrivateSubnet2ID": network["b"]}
    assert "parameter type String is not emulated" in refused(text, params)


def test_outside_rules_the_functions_stay_refused(network: dict[str, Any]) -> None:
    text = """
Parameters:
  Subnet: {Type: "AWS::EC2::Subnet::Id"}
Conditions:
  InA: !Equals [{"Fn::ValueOf": [Subnet, AvailabilityZone]}, x]
Resources:
  A: {Type: Test::Recorded}
"""
    assert "Fn::ValueOf is not emulated" in refused(text, {"Subnet": network["a1"]})
