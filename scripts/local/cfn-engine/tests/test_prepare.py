"""What the engine decides before a stack operation starts: parameter values and their constraints,
Conditions, Rules. A bad request is refused synchronously, with CloudFormation's message."""

from __future__ import annotations

import textwrap

import pytest

from kubecfn_embedded.errors import ValidationError
from tests.support import make_engine

pytestmark = pytest.mark.usefixtures("aws")

RESOURCE = """
Resources:
  Thing:
    Type: Test::Recorded
"""


def template(text: str) -> str:
    return textwrap.dedent(text) + RESOURCE


def refused(text: str, parameters: dict[str, str] | None = None) -> str:
    with pytest.raises(ValidationError) as err:
        make_engine(template(text), parameters)
    return str(err.value.message)


# ---------------------------------------------------------------------------- parameters
PARAMETERS = """
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Name:
    Type: String
    AllowedPattern: "[a-z][a-z0-9-]*"
    MinLength: 3
    MaxLength: 10
  Count:
    Type: Number
    Default: 2
    MinValue: 1
    MaxValue: 5
  Zones:
    Type: CommaDelimitedList
    Default: "a, b,c"
  Secret:
    Type: String
    NoEcho: true
    Default: hidden
"""


def test_parameters_resolve_to_given_values_or_defaults_lists_split_and_trimmed() -> None:
    # Given a template with defaults, and only Name given
    engine = make_engine(template(PARAMETERS), {"Name": "abc"})
    # Then every parameter has its value, numbers as text, list parameters as lists
    assert engine.resolved_parameters == {
        "Env": "dev",
        "Name": "abc",
        "Count": "2",
        "Zones": ["a", "b", "c"],
        "Secret": "hidden",
    }
    assert engine.no_echo_parameter_keys == ["Secret"]


def test_a_parameter_without_value_or_default_is_refused() -> None:
    assert refused(PARAMETERS) == "Parameters: [Name] must have values"


def test_an_undeclared_parameter_is_refused() -> None:
    assert refused(PARAMETERS, {"Name": "abc", "Other": "x"}) == "Parameters: [Other] do not exist in the template"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Env": "test"}, "Parameter 'Env' must be one of AllowedValues"),
        ({"Name": "Abc"}, "Parameter 'Name' must match pattern [a-z][a-z0-9-]*"),
        ({"Name": "ab"}, "Parameter 'Name' must contain at least 3 characters"),
        ({"Name": "abcdefghijk"}, "Parameter 'Name' must contain at most 10 characters"),
        ({"Count": "x"}, "Parameter 'Count' must be a number not x"),
        ({"Count": "0"}, "Parameter 'Count' must be a number not less than 1"),
        ({"Count": "6"}, "Parameter 'Count' must be a number not greater than 5"),
    ],
)
def test_parameter_constraints(given: dict[str, str], message: str) -> None:
    assert refused(PARAMETERS, {"Name": "abc", **given}) == message


def test_constraint_description_replaces_the_generic_message() -> None:
    text = """
    Parameters:
      Env:
        Type: String
        AllowedValues: [dev]
        ConstraintDescription: use dev
    """
    assert refused(text, {"Env": "prod"}) == "Parameter 'Env' failed to satisfy constraint: use dev"


def test_aws_typed_parameters_must_name_existing_resources() -> None:
    text = """
    Parameters:
      Vpc:
        Type: AWS::EC2::VPC::Id
    """
    assert refused(text, {"Vpc": "vpc-0000dead"}) == (
        "Parameter validation failed: parameter value vpc-0000dead for parameter name Vpc does not exist. "
        "Rollback requested by user."
    )


# ---------------------------------------------------------------------------- conditions
def test_conditions_may_refer_to_each_other_in_any_order() -> None:
    # Given conditions declared before the ones they use
    engine = make_engine(
        template("""
        Parameters:
          Env: {Type: String, Default: prod}
        Conditions:
          BigAndProd: !And [!Condition IsProd, !Condition IsBig]
          NotProd: !Not [!Condition IsProd]
          IsProd: !Equals [!Ref Env, prod]
          IsBig: !Or [!Equals [a, b], !Condition IsProd]
        """)
    )
    # Then each is evaluated once its dependencies are
    assert engine.conditions == {"BigAndProd": True, "NotProd": False, "IsProd": True, "IsBig": True}


def test_a_resource_whose_condition_is_false_is_not_part_of_the_stack() -> None:
    engine = make_engine(
        textwrap.dedent("""
        Conditions:
          Never: !Equals [a, b]
        Resources:
          Kept: {Type: Test::Recorded}
          Skipped: {Type: Test::Recorded, Condition: Never}
        """)
    )
    assert sorted(engine.dependencies(engine.template)) == ["Kept"]


def test_an_unknown_condition_on_a_resource_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        make_engine("Resources:\n  A: {Type: Test::Recorded, Condition: Nope}\n")
    assert err.value.message == "Template format error: Unresolved condition dependency Nope in Resources block"


# ---------------------------------------------------------------------------- rules
RULES = """
Parameters:
  Env: {Type: String, Default: dev}
  Public: {Type: String, Default: "false"}
  Cidrs: {Type: CommaDelimitedList, Default: ""}
Rules:
  PublicNeedsCidrs:
    RuleCondition: !Equals [!Ref Public, "true"]
    Assertions:
      - Assert: !Not [!EachMemberEquals [!Ref Cidrs, ""]]
        AssertDescription: " A public endpoint needs PublicAccessCidrs "
  KnownEnv:
    Assertions:
      - Assert: !Contains [[dev, prod], !Ref Env]
"""


def test_rules_pass_when_their_assertions_hold() -> None:
    engine = make_engine(template(RULES), {"Public": "true", "Cidrs": "10.0.0.0/8"})
    assert engine.resolved_parameters["Cidrs"] == ["10.0.0.0/8"]


def test_a_rule_whose_condition_is_false_is_not_checked() -> None:
    engine = make_engine(template(RULES), {"Public": "false"})
    assert engine.resolved_parameters["Public"] == "false"


def test_a_failed_assertion_refuses_the_request_with_its_description() -> None:
    assert refused(RULES, {"Public": "true"}) == "A public endpoint needs PublicAccessCidrs"


def test_a_failed_assertion_without_description_names_the_rule() -> None:
    assert refused(RULES, {"Env": "qa"}) == "Template validation error: Assertion failed for rule KnownEnv"


def test_fn_join_in_a_rule_is_refused_as_cloudformation_refuses_it() -> None:
    with_join = RULES.replace('!EachMemberEquals [!Ref Cidrs, ""]', '!Equals [!Join [",", !Ref Cidrs], ""]')
    # Even where the assertion would hold, and when the rule's condition is false
    for public in ("true", "false"):
        assert refused(with_join, {"Public": public, "Cidrs": "10.0.0.0/8"}).startswith(
            "Template error: rule PublicNeedsCidrs uses Fn::Join, which Rules do not allow"
        )


RULE_FUNCTIONS_ONLY = """
Parameters:
  Public: {Type: String, Default: "false"}
  Cidrs: {Type: CommaDelimitedList, Default: ""}
Rules:
  PublicNeedsCidrs:
    RuleCondition: !Equals [!Ref Public, "true"]
    Assertions:
      - Assert: !Not [!Equals [!Ref Public, maybe]]
      - Assert: !EachMemberIn [!Ref Cidrs, [10.0.0.0/8, 192.168.0.0/16]]
"""


def test_rules_written_with_rule_functions_only_are_evaluated() -> None:
    make_engine(template(RULE_FUNCTIONS_ONLY), {"Public": "true", "Cidrs": "10.0.0.0/8"})
    assert refused(RULE_FUNCTIONS_ONLY, {"Public": "true", "Cidrs": "172.16.0.0/12"}).startswith("Template validation")


def test_fn_if_in_a_rule_is_refused_too() -> None:
    # cloudformation-coverage-roadmap#921: CloudFormation refuses Fn::If in Rules
    rules = RULE_FUNCTIONS_ONLY.replace(
        "!EachMemberIn [!Ref Cidrs, [10.0.0.0/8, 192.168.0.0/16]]",
        "!EachMemberIn [!If [Never, [], !Ref Cidrs], [10.0.0.0/8, 192.168.0.0/16]]",
    ) + ("Conditions:\n  Never: !Equals [a, b]\n")
    assert "uses Fn::If, which Rules do not allow" in refused(rules, {"Public": "true", "Cidrs": "10.0.0.0/8"})
