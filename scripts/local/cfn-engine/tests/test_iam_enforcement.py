"""IAM enforced in the local cloud: the deployer, action-based judgment of unknown resources, Lambda's AssumeRole."""

from __future__ import annotations

import json

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
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, IAMRequest

    monkeypatch.setenv("KUBECFN_ENFORCE_IAM", "1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_ACCESS_KEY_ID", "AKIAKUBECFNDEPLOYER1")
    monkeypatch.setenv("KUBECFN_DEPLOYER_SECRET_ACCESS_KEY", "deployer-secret")
    # install() patches moto's classes: give them back after the test
    for cls, name in (
        (IAMPolicyStatement, "_check_element_matches"),
        (IAMRequest, "check_signature"),
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
