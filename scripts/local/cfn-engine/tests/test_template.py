"""Template text to data: YAML short forms, CloudFormation's YAML scalars, the format errors, and
where a template URL points in S3."""

from __future__ import annotations

import pytest

from kubecfn_embedded.errors import ValidationError
from kubecfn_embedded.template import bucket_and_key, parse_template

YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Thing:
    Type: Test::Recorded
    Condition: IsProd
    Properties:
      Name: !Sub "${AWS::StackName}-thing"
      Arn: !GetAtt Other.Arn
      Nested: !GetAtt Child.Outputs.VpcId
      Size: !If [IsProd, !FindInMap [Sizes, prod, Count], !Ref "AWS::NoValue"]
      Zones: !GetAZs ""
      Script: !Base64 |
        echo hi
      Enabled: !Condition IsProd
"""


def test_short_form_tags_become_the_long_form() -> None:
    # Given a YAML template with short-form tags
    template = parse_template(YAML)
    # Then each tag is the one-key mapping of its long form
    props = template["Resources"]["Thing"]["Properties"]
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-thing"}
    assert props["Arn"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert props["Nested"] == {"Fn::GetAtt": ["Child", "Outputs.VpcId"]}
    assert props["Size"] == {
        "Fn::If": ["IsProd", {"Fn::FindInMap": ["Sizes", "prod", "Count"]}, {"Ref": "AWS::NoValue"}]
    }
    assert props["Zones"] == {"Fn::GetAZs": ""}
    assert props["Script"] == {"Fn::Base64": "echo hi\n"}
    assert props["Enabled"] == {"Condition": "IsProd"}


def test_json_templates_are_read_as_json() -> None:
    template = parse_template('{"Resources": {"A": {"Type": "Test::Recorded", "Properties": {"On": "yes"}}}}')
    assert template == {"Resources": {"A": {"Type": "Test::Recorded", "Properties": {"On": "yes"}}}}


def test_yes_no_on_off_stay_strings_and_only_true_false_are_booleans() -> None:
    # Given YAML 1.1 boolean words that CloudFormation reads as strings
    template = parse_template(
        "Resources:\n  A:\n    Type: T\n    Properties:\n"
        "      A: yes\n      B: on\n      C: off\n      D: No\n"
        "      E: true\n      F: False\n      G: 12\n      H: 1.5\n"
    )
    # Then only true/false are booleans; numbers stay numbers
    assert template["Resources"]["A"]["Properties"] == {
        "A": "yes",
        "B": "on",
        "C": "off",
        "D": "No",
        "E": True,
        "F": False,
        "G": 12,
        "H": 1.5,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Template format error: template is empty"),
        ("   \n", "Template format error: template is empty"),
        ("- a\n- b\n", "Template format error: JSON not well-formed."),
        ("Description: x\n", "Template format error: At least one Resources member must be defined."),
        ("Resources: {}\n", "Template format error: At least one Resources member must be defined."),
        (
            "Resources:\n  A:\n    Properties: {}\n",
            "Template format error: [/Resources/A] Every Resources object must contain a Type member.",
        ),
    ],
)
def test_malformed_templates_are_refused_with_cloudformations_message(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_template(text)
    assert err.value.message == message


def test_yaml_syntax_errors_are_reported_as_not_well_formed() -> None:
    with pytest.raises(ValidationError, match=r"Template format error: YAML not well-formed\."):
        parse_template("Resources:\n  A: [unclosed\n")


@pytest.mark.parametrize(
    ("url", "bucket", "key"),
    [
        ("https://my-bucket.s3.amazonaws.com/templates/main.yaml", "my-bucket", "templates/main.yaml"),
        ("https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.yaml", "my-bucket", "a/b.yaml"),
        ("https://my-bucket.s3-eu-west-1.amazonaws.com/a.yaml", "my-bucket", "a.yaml"),
        ("https://my.dotted.bucket.s3.amazonaws.com/a.yaml", "my.dotted.bucket", "a.yaml"),
        ("https://s3.amazonaws.com/my-bucket/x/y.yaml", "my-bucket", "x/y.yaml"),
        ("https://s3.eu-west-1.amazonaws.com/my-bucket/y.yaml", "my-bucket", "y.yaml"),
        ("http://127.0.0.1:5000/my-bucket/dir/with%20space.yaml", "my-bucket", "dir/with space.yaml"),
    ],
)
def test_template_urls_name_a_bucket_and_key(url: str, bucket: str, key: str) -> None:
    assert bucket_and_key(url) == (bucket, key)


def test_a_url_without_a_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="names no bucket and key"):
        bucket_and_key("https://s3.amazonaws.com/only-bucket")
