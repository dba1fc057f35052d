"""IAM enforced in the local cloud: the deployer, action-based judgment of unknown resources, Lambda's AssumeRole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from kubecfn_embedded import iam_enforcement
from kubecfn_embedded.sts_identity import assume_role_for_lambda

SCOPED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": "arn:aws:eks:us-east-1:123456789012:cluster/ci",
        }
    ],
}


@pytest.fixture
def enforced(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, IAMRequest, IAMRequestBase

    monkeypatch.setenv("KUBECFN_ENFORCE_IAM", "1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_ACCESS_KEY_ID", "AKIAKUBECFNDEPLOYER1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_SECRET_ACCESS_KEY", "deployer-secret")
    # install() patches moto's classes: give them back after the test
    for cls, name in (
        (IAMPolicyStatement, "_check_element_matches"),
        (IAMRequest, "check_signature"),
        (IAMRequestBase, "check_action_permitted"),
        (IAMPolicy, "__init__"),
        (ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action"),
    ):
        monkeypatch.setattr(cls, name, getattr(cls, name))
    iam_enforcement.install()


def test_the_deployer_has_the_chosen_key_and_may_do_everything(enforced: None) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends["123456789012"]["aws"]
    user = iam.get_user_from_access_key_id("AKIAKUBECFNDEPLOYER1")

    assert user is not None
    assert user.name == "kubecfn-deployer"
    assert iam.list_access_keys("kubecfn-deployer")[0].secret_access_key == "deployer-secret"


def test_an_action_scoped_to_an_arn_is_allowed_where_moto_cannot_name_the_resource(enforced: None) -> None:
    assert IAMPolicy(json.dumps(SCOPED)).is_action_permitted("eks:DescribeCluster", "*") == PermissionResult.PERMITTED


def test_a_missing_action_is_still_refused(enforced: None) -> None:
    assert IAMPolicy(json.dumps(SCOPED)).is_action_permitted("eks:DeleteCluster", "*") == PermissionResult.NEUTRAL


def test_a_deny_scoped_to_an_arn_does_not_cover_every_resource(enforced: None) -> None:
    deny = {"Version": "2012-10-17", "Statement": [{**SCOPED["Statement"][0], "Effect": "Deny"}]}  # type: ignore[dict-item]

    assert IAMPolicy(json.dumps(deny)).is_action_permitted("eks:DescribeCluster", "*") == PermissionResult.NEUTRAL


def test_known_resources_are_still_matched_exactly(enforced: None) -> None:
    other = "arn:aws:eks:us-east-1:123456789012:cluster/other"

    assert IAMPolicy(json.dumps(SCOPED)).is_action_permitted("eks:DescribeCluster", other) == PermissionResult.NEUTRAL


def test_not_enforced_changes_nothing(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECFN_ENFORCE_IAM", raising=False)
    iam_enforcement.install()

    assert IAMPolicy(json.dumps(SCOPED)).is_action_permitted("eks:DescribeCluster", "*") == PermissionResult.NEUTRAL


def test_lambda_gets_a_session_of_the_execution_role(aws: None) -> None:
    creds = assume_role_for_lambda("arn:aws:iam::123456789012:role/provider", "KubeProvider")

    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"]
    assert creds["Expiration"].endswith("Z")


def test_a_header_signature_is_checked_as_sigv4_defines() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from kubecfn_embedded.sts_identity import verify_header_signature

    # given an EKS DescribeCluster signed by botocore, as the SDKs sign it
    request = AWSRequest(
        method="GET", url="http://127.0.0.1:5000/clusters/kubecfn-local", headers={"Host": "127.0.0.1:5000"}
    )
    SigV4Auth(Credentials("ASIAEXAMPLE", "secret", "token"), "eks", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())

    # then the right secret verifies it, another does not, nor a changed path
    assert verify_header_signature("GET", "/clusters/kubecfn-local", headers, b"", "secret")
    assert not verify_header_signature("GET", "/clusters/kubecfn-local", headers, b"", "other")
    assert not verify_header_signature("GET", "/clusters/someone-else", headers, b"", "secret")


def test_a_policy_document_kept_as_an_object_is_read(enforced: None) -> None:
    # CloudFormation-made roles keep their inline PolicyDocument as an object
    assert IAMPolicy(SCOPED).is_action_permitted("eks:DescribeCluster", "*") == PermissionResult.PERMITTED


# CloudFormation acts with the caller's permissions: each resource's calls are judged against them.
DEPLOYER_ARN = "arn:aws:iam::123456789012:user/kubecfn-deployer"
ROLE_TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: kubecfn-provider
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
"""


def deployer_with(monkeypatch: pytest.MonkeyPatch, *statements: dict[str, object]) -> None:
    """The deployer of install(), with only these statements (moto's patches given back after the test)."""
    monkeypatch.setenv(
        "KUBECFN_DEPLOYER_POLICIES", json.dumps({"deploy": {"Version": "2012-10-17", "Statement": list(statements)}})
    )


@pytest.fixture
def limited(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, IAMRequest, IAMRequestBase

    monkeypatch.setenv("KUBECFN_ENFORCE_IAM", "1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_ACCESS_KEY_ID", "AKIAKUBECFNDEPLOYER1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_SECRET_ACCESS_KEY", "deployer-secret")
    for cls, name in (
        (IAMPolicyStatement, "_check_element_matches"),
        (IAMRequest, "check_signature"),
        (IAMRequestBase, "check_action_permitted"),
        (IAMPolicy, "__init__"),
        (ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action"),
    ):
        monkeypatch.setattr(cls, name, getattr(cls, name))


def create_as_deployer(template: str) -> tuple[str, list[str]]:
    from tests.support import make_engine, settle

    engine = make_engine(template)
    engine.caller_arn = DEPLOYER_ARN
    engine.start_create()
    status = settle(engine)
    reasons = [str(e.resource_status_reason) for e in engine.stack.events if e.resource_status == "CREATE_FAILED"]
    return status, reasons


def test_the_deployer_gets_the_policies_it_is_given(limited: None, monkeypatch: pytest.MonkeyPatch) -> None:
    deployer_with(monkeypatch, {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"})
    iam_enforcement.install()

    assert iam_enforcement.is_allowed(DEPLOYER_ARN, "iam:GetRole", "*")
    assert not iam_enforcement.is_allowed(DEPLOYER_ARN, "iam:CreateRole", "*")


def test_a_resource_whose_call_the_caller_may_not_make_fails_naming_the_action(
    limited: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer_with(monkeypatch, {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"})
    iam_enforcement.install()

    status, reasons = create_as_deployer(ROLE_TEMPLATE)

    assert status == "ROLLBACK_COMPLETE"
    assert reasons[0].startswith(
        f'Resource handler returned message: "User: {DEPLOYER_ARN} is not authorized to perform: iam:CreateRole '
        "on resource: arn:aws:iam::123456789012:role/kubecfn-provider"
    )


def test_a_resource_the_caller_may_create_is_created(limited: None, monkeypatch: pytest.MonkeyPatch) -> None:
    deployer_with(
        monkeypatch,
        {
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:DeleteRole"],
            "Resource": "arn:aws:iam::*:role/kubecfn-*",
        },
    )
    iam_enforcement.install()

    status, reasons = create_as_deployer(ROLE_TEMPLATE)

    assert (status, reasons) == ("CREATE_COMPLETE", [])


def test_a_role_passed_to_a_service_the_policy_does_not_name_is_refused(
    limited: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer_with(
        monkeypatch,
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::*:role/*",
            "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
        },
    )
    iam_enforcement.install()
    role = "arn:aws:iam::123456789012:role/r"

    assert iam_enforcement.is_allowed(DEPLOYER_ARN, "iam:PassRole", role, {"iam:PassedToService": "eks.amazonaws.com"})
    assert not iam_enforcement.is_allowed(
        DEPLOYER_ARN, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"}
    )


def test_a_custom_resource_is_the_callers_invoke_of_its_service_token() -> None:
    token = "arn:aws:lambda:us-east-1:123456789012:function:kubecfn-kube-1"

    calls = iam_enforcement.calls_for("create", "Custom::KubeGet", {"ServiceToken": token}, "us-east-1", "123456789012")

    assert calls == [iam_enforcement.Call("lambda:InvokeFunction", token)]


def test_a_function_needs_its_name_its_role_passed_to_lambda_and_its_code() -> None:
    props = {
        "FunctionName": "kubecfn-kube-1",
        "Role": "arn:aws:iam::123456789012:role/p",
        "Code": {"S3Bucket": "b", "S3Key": "kubecfn/kube.zip"},
    }

    calls = iam_enforcement.calls_for("create", "AWS::Lambda::Function", props, "us-east-1", "123456789012")

    assert calls == [
        iam_enforcement.Call("lambda:CreateFunction", "arn:aws:lambda:us-east-1:123456789012:function:kubecfn-kube-1"),
        iam_enforcement.Call("s3:GetObject", "arn:aws:s3:::b/kubecfn/kube.zip"),
        iam_enforcement.Call(
            "iam:PassRole", "arn:aws:iam::123456789012:role/p", {"iam:PassedToService": "lambda.amazonaws.com"}
        ),
    ]


def test_head_bucket_is_judged_as_list_bucket(enforced: None) -> None:
    from moto.iam.access_control import IAMRequestBase

    class Request:
        """What moto's check reads of a HeadBucket request by a principal without policies."""

        _action = "s3:HeadBucket"

        class _access_key:  # noqa: N801
            @staticmethod
            def collect_policies() -> list[str]:
                return []

        def _is_assuming_role_operation(self, resource: str) -> bool:
            return False

        def _raise_access_denied(self) -> None:
            raise PermissionError(self._action)

    with pytest.raises(PermissionError, match=r"^s3:ListBucket$"):
        IAMRequestBase.check_action_permitted(Request(), "arn:aws:s3:::b")  # type: ignore[arg-type]


def test_the_documented_deploy_policy_allows_the_quick_starts_calls_and_no_others(
    limited: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    policy = json.loads((Path(__file__).parents[4] / "docs" / "iam" / "deploy-policy.json").read_text())
    monkeypatch.setenv("KUBECFN_DEPLOYER_POLICIES", json.dumps({"deploy": policy}))
    iam_enforcement.install()
    role = "arn:aws:iam::123456789012:role/kubecfn-KubeProviderRole-1"
    function = {"FunctionName": "kubecfn-kube-1", "Role": role, "Code": {"S3Bucket": "b", "S3Key": "kubecfn/kube.zip"}}

    def judged(resource_type: str, props: dict[str, Any]) -> list[bool]:
        calls = iam_enforcement.calls_for("create", resource_type, props, "us-east-1", "123456789012")
        return [iam_enforcement.is_allowed(DEPLOYER_ARN, c.action, c.resource, c.context or None) for c in calls]

    assert judged("AWS::Lambda::Function", function) == [True, True, True]
    assert judged("AWS::Lambda::Function", {**function, "FunctionName": "other"}) == [False, True, True]
    assert judged("AWS::Lambda::Function", {**function, "Code": {"S3Bucket": "b", "S3Key": "x/kube.zip"}}) == [
        True,
        False,
        True,
    ]
    assert judged(
        "Custom::KubeGet", {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:kubecfn-kube-1"}
    ) == [True]
    assert judged("Custom::KubeGet", {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:admin"}) == [
        False
    ]
    assert judged("AWS::EKS::Cluster", {"RoleArn": role}) == [True, True]
    assert judged(
        "AWS::CloudFormation::Stack", {"TemplateURL": "https://b.s3.us-east-1.amazonaws.com/kubecfn/t.yaml"}
    ) == [True, True]
    assert judged("AWS::SNS::Topic", {}) == []  # a type the table does not know is not judged
    assert not iam_enforcement.is_allowed(DEPLOYER_ARN, "iam:CreateUser", "*")
