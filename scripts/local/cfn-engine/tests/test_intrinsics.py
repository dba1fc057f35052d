"""Intrinsic and condition functions, evaluated in a scope the test writes out in full."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubecfn_embedded.errors import ResourceFailure, ValidationError
from kubecfn_embedded.intrinsics import NO_VALUE, Evaluator, references
from kubecfn_embedded.template import parse_template


@dataclass
class Scope:
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"Env": "prod", "Subnets": ["subnet-a", "subnet-b"], "Size": "3"}
    )
    pseudo: dict[str, Any] = field(
        default_factory=lambda: {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    )
    conditions: dict[str, bool] = field(default_factory=lambda: {"IsProd": True, "IsDev": False})
    mappings: dict[str, Any] = field(
        default_factory=lambda: {"Sizes": {"prod": {"Instance": "m5.large", "Count": 3}, "dev": {"Instance": "t3"}}}
    )
    resource_names: set[str] = field(default_factory=lambda: {"Bucket", "Child"})
    exports: dict[str, str] = field(default_factory=lambda: {"shared-vpc": "vpc-123"})
    asked_zones: list[str] = field(default_factory=list)

    def ref_resource(self, logical_id: str) -> Any:
        return f"physical-{logical_id}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return f"{logical_id}:{attribute}"

    def import_value(self, name: str) -> Any:
        if name not in self.exports:
            raise ResourceFailure(f"No export named {name} found.")
        return self.exports[name]

    def availability_zones(self, region: str) -> list[str]:
        self.asked_zones.append(region)
        return [f"{region}a", f"{region}b", f"{region}c"]


def evaluate(node: Any, scope: Scope | None = None) -> Any:
    return Evaluator(scope or Scope()).value(node)


def yaml_value(text: str, scope: Scope | None = None) -> Any:
    """Evaluates the `Value` of a YAML fragment, short-form tags included."""
    template = parse_template(f"Resources:\n  R:\n    Type: Test::Recorded\nValue: {text}\n")
    return evaluate(template["Value"], scope)


# ---------------------------------------------------------------------------- Ref
def test_ref_returns_parameters_then_pseudo_parameters_then_physical_ids() -> None:
    # Given a scope with a parameter, pseudo parameters and a resource
    # When each kind is referenced
    # Then each gives its own value, list parameters as lists
    assert evaluate({"Ref": "Env"}) == "prod"
    assert evaluate({"Ref": "Subnets"}) == ["subnet-a", "subnet-b"]
    assert evaluate({"Ref": "AWS::Region"}) == "eu-west-1"
    assert evaluate({"Ref": "Bucket"}) == "physical-Bucket"


def test_ref_to_no_value_removes_the_property_and_the_list_item() -> None:
    node = {"Keep": "yes", "Drop": {"Ref": "AWS::NoValue"}, "List": ["a", {"Ref": "AWS::NoValue"}, "b"]}
    assert evaluate(node) == {"Keep": "yes", "List": ["a", "b"]}
    assert evaluate({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_ref_to_an_unknown_name_is_refused_with_cloudformations_message() -> None:
    with pytest.raises(ValidationError) as err:
        evaluate({"Ref": "Nope"})
    assert err.value.message == (
        "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
    )


# ---------------------------------------------------------------------------- GetAtt
def test_getatt_takes_the_list_form_and_the_dotted_form() -> None:
    assert evaluate({"Fn::GetAtt": ["Bucket", "Arn"]}) == "Bucket:Arn"
    assert evaluate({"Fn::GetAtt": "Bucket.Arn"}) == "Bucket:Arn"


def test_getatt_short_form_keeps_dots_after_the_first_for_nested_stack_outputs() -> None:
    # Given !GetAtt Child.Outputs.VpcId (YAML short form)
    # Then the attribute is "Outputs.VpcId" of resource Child
    assert yaml_value("!GetAtt Child.Outputs.VpcId") == "Child:Outputs.VpcId"


def test_getatt_attribute_may_itself_be_a_ref() -> None:
    assert evaluate({"Fn::GetAtt": ["Bucket", {"Ref": "Env"}]}) == "Bucket:prod"


def test_getatt_with_a_malformed_argument_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"Fn::GetAtt expects \[LogicalId, Attribute\]"):
        evaluate({"Fn::GetAtt": ["Bucket"]})


# ---------------------------------------------------------------------------- Sub
def test_sub_string_form_substitutes_parameters_pseudo_parameters_resources_and_attributes() -> None:
    node = {"Fn::Sub": "${Env}-${AWS::Region}-${Bucket}-${Bucket.Arn}-${ Env }"}
    assert evaluate(node) == "prod-eu-west-1-physical-Bucket-Bucket:Arn-prod"


def test_sub_list_form_variables_take_precedence_and_may_hold_functions() -> None:
    node = {"Fn::Sub": ["${Env}/${Name}", {"Env": "local", "Name": {"Fn::Join": ["-", ["a", "b"]]}}]}
    assert evaluate(node) == "local/a-b"


def test_sub_keeps_an_escaped_variable_literal() -> None:
    assert evaluate({"Fn::Sub": "${!Literal} and ${Env}"}) == "${Literal} and prod"


def test_sub_writes_booleans_as_cloudformation_does() -> None:
    assert evaluate({"Fn::Sub": ["${Flag}", {"Flag": True}]}) == "true"


def test_sub_refuses_a_list_variable() -> None:
    with pytest.raises(ValidationError, match="variable Subnets in Fn::Sub expression is a list"):
        evaluate({"Fn::Sub": "${Subnets}"})


def test_sub_refuses_a_malformed_argument() -> None:
    with pytest.raises(ValidationError, match=r"Fn::Sub expects a string or \[string, \{variables\}\]"):
        evaluate({"Fn::Sub": ["a", "b", "c"]})


# ---------------------------------------------------------------------------- Join, Select, Split
def test_join_joins_strings_numbers_and_booleans() -> None:
    assert evaluate({"Fn::Join": [",", ["a", 1, True, False, {"Ref": "Env"}]]}) == "a,1,true,false,prod"
    assert evaluate({"Fn::Join": ["", []]}) == ""


def test_join_of_a_list_parameter() -> None:
    assert evaluate({"Fn::Join": [" ", {"Ref": "Subnets"}]}) == "subnet-a subnet-b"


def test_join_refuses_a_non_list() -> None:
    with pytest.raises(ValidationError, match="Fn::Join expects a list, got str"):
        evaluate({"Fn::Join": [",", "abc"]})


def test_select_picks_by_index_given_as_number_or_string() -> None:
    assert evaluate({"Fn::Select": [1, ["a", "b", "c"]]}) == "b"
    assert evaluate({"Fn::Select": ["0", {"Ref": "Subnets"}]}) == "subnet-a"


def test_select_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="Fn::Select cannot select nonexistent value at index 3"):
        evaluate({"Fn::Select": [3, ["a", "b", "c"]]})


def test_split_splits_a_string() -> None:
    assert evaluate({"Fn::Split": ["|", "a|b||c"]}) == ["a", "b", "", "c"]
    assert evaluate({"Fn::Select": [2, {"Fn::Split": [":", "arn:aws:s3"]}]}) == "s3"


# ---------------------------------------------------------------------------- If and conditions
def test_if_takes_the_branch_its_condition_selects() -> None:
    assert evaluate({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert evaluate({"Fn::If": ["IsDev", "big", "small"]}) == "small"


def test_if_with_no_value_removes_the_property() -> None:
    node = {"A": {"Fn::If": ["IsDev", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}
    assert evaluate(node) == {"B": 1}


def test_if_with_an_unknown_condition_is_refused() -> None:
    with pytest.raises(ValidationError, match="Unresolved condition dependency Nope in Fn::If"):
        evaluate({"Fn::If": ["Nope", 1, 2]})


def test_condition_functions() -> None:
    ev = Evaluator(Scope())
    assert ev.condition({"Fn::Equals": [{"Ref": "Env"}, "prod"]}) is True
    assert ev.condition({"Fn::Equals": [3, "3"]}) is True
    assert ev.condition({"Fn::Equals": [True, "true"]}) is True
    assert ev.condition({"Fn::Not": [{"Condition": "IsProd"}]}) is False
    assert ev.condition({"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]}) is True
    assert ev.condition({"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]}) is False
    assert ev.condition({"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]}) is True
    assert ev.condition({"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "b"]}]}) is False
    assert ev.condition("True") is True


def test_a_condition_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(ValidationError, match="a condition must evaluate to a boolean, got 'prod'"):
        Evaluator(Scope()).condition({"Ref": "Env"})


def test_rule_functions_on_lists() -> None:
    ev = Evaluator(Scope())
    assert ev.condition({"Fn::Contains": [["a", "b"], "b"]}) is True
    assert ev.condition({"Fn::Contains": [{"Ref": "Subnets"}, "subnet-c"]}) is False
    assert ev.condition({"Fn::EachMemberEquals": [["x", "x"], "x"]}) is True
    assert ev.condition({"Fn::EachMemberEquals": [["x", "y"], "x"]}) is False
    assert ev.condition({"Fn::EachMemberIn": [{"Ref": "Subnets"}, ["subnet-a", "subnet-b", "c"]]}) is True
    assert ev.condition({"Fn::EachMemberIn": [["subnet-a", "z"], ["subnet-a"]]}) is False


def test_refall_and_valueof_are_refused_as_not_emulated() -> None:
    with pytest.raises(ValidationError, match="Fn::ValueOf is not emulated by the local engine"):
        evaluate({"Fn::ValueOf": ["Subnets", "VpcId"]})


# ---------------------------------------------------------------------------- FindInMap
def test_findinmap_reads_the_mapping() -> None:
    assert evaluate({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Instance"]}) == "m5.large"
    assert evaluate({"Fn::FindInMap": ["Sizes", "prod", "Count"]}) == 3


def test_findinmap_default_value_is_used_only_when_the_key_is_missing() -> None:
    assert evaluate({"Fn::FindInMap": ["Sizes", "dev", "Count", {"DefaultValue": 1}]}) == 1
    assert evaluate({"Fn::FindInMap": ["Sizes", "prod", "Count", {"DefaultValue": 1}]}) == 3


def test_findinmap_missing_key_fails_with_cloudformations_message() -> None:
    with pytest.raises(ResourceFailure, match="Unable to get mapping for Sizes::dev::Count"):
        evaluate({"Fn::FindInMap": ["Sizes", "dev", "Count"]})


# ---------------------------------------------------------------------------- GetAZs, Base64, Cidr
def test_getazs_of_the_empty_string_is_the_stacks_region() -> None:
    scope = Scope()
    assert evaluate({"Fn::GetAZs": ""}, scope) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert evaluate({"Fn::GetAZs": {"Ref": "AWS::Region"}}, scope) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert evaluate({"Fn::GetAZs": "us-east-2"}, scope) == ["us-east-2a", "us-east-2b", "us-east-2c"]
    assert scope.asked_zones == ["eu-west-1", "eu-west-1", "us-east-2"]


def test_base64_encodes_the_evaluated_string() -> None:
    encoded = evaluate({"Fn::Base64": {"Fn::Sub": "#!/bin/sh\necho ${Env}\n"}})
    assert encoded == base64.b64encode(b"#!/bin/sh\necho prod\n").decode()


def test_cidr_splits_a_block_into_subnets_of_the_given_host_bits() -> None:
    assert evaluate({"Fn::Cidr": ["10.0.0.0/16", 3, 8]}) == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
    assert evaluate({"Fn::Cidr": ["192.168.0.0/24", "2", "6"]}) == ["192.168.0.0/26", "192.168.0.64/26"]


def test_cidr_with_ipv6() -> None:
    assert evaluate({"Fn::Cidr": ["2001:db8::/56", 2, 64]}) == ["2001:db8::/64", "2001:db8:0:1::/64"]


# ---------------------------------------------------------------------------- ImportValue, Length, ToJsonString
def test_importvalue_reads_the_export() -> None:
    assert evaluate({"Fn::ImportValue": {"Fn::Sub": "shared-vpc"}}) == "vpc-123"


def test_importvalue_of_a_missing_export_fails() -> None:
    with pytest.raises(ResourceFailure, match=r"No export named missing found\."):
        evaluate({"Fn::ImportValue": "missing"})


def test_length_and_tojsonstring() -> None:
    assert evaluate({"Fn::Length": {"Ref": "Subnets"}}) == 2
    text = evaluate({"Fn::ToJsonString": {"a": {"Ref": "Env"}, "b": [1, True]}})
    assert text == '{"a":"prod","b":[1,true]}'
    assert json.loads(text) == {"a": "prod", "b": [1, True]}


# ---------------------------------------------------------------------------- references
def collect(node: Any, conditions: dict[str, bool] | None = None) -> list[str]:
    found: list[str] = []
    names = {"A", "B", "C", "D"}
    references(node, conditions if conditions is not None else {"On": True, "Off": False}, names, found.append)
    return found


def test_references_are_found_in_ref_getatt_and_sub_but_not_in_parameters() -> None:
    node = {
        "X": {"Ref": "A"},
        "Y": {"Fn::GetAtt": ["B", "Arn"]},
        "Z": {"Fn::Sub": "${C.Name}-${!D}-${Param}"},
        "P": {"Ref": "Param"},
    }
    assert collect(node) == ["A", "B", "C"]


def test_references_follow_only_the_selected_fn_if_branch() -> None:
    assert collect({"Fn::If": ["On", {"Ref": "A"}, {"Ref": "B"}]}) == ["A"]
    assert collect({"Fn::If": ["Off", {"Ref": "A"}, {"Ref": "B"}]}) == ["B"]


def test_references_skip_sub_names_given_as_variables() -> None:
    assert collect({"Fn::Sub": ["${A}-${B}", {"A": "literal", "X": {"Ref": "D"}}]}) == ["B", "D"]
