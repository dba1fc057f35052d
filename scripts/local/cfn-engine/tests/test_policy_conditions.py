"""Bucket policy conditions (policy_conditions.py): taskcat's auto-bucket policy lets SigV4 uploads through."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.s3.models import FakeBucket

from kubecfn_embedded import policy_conditions

BUCKET = "tcat-kubecfn-abc123"
OBJECT = f"arn:aws:s3:::{BUCKET}/kubecfn/templates/a.yaml"


def _policy(effect: str, signature: str = "AWS") -> str:
    # taskcat's auto-bucket policy (sigv4_policy in taskcat/_dataclasses.py), effect and value varied
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": effect,
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": f"arn:aws:s3:::{BUCKET}/*",
                    "Condition": {"StringEquals": {"s3:signatureversion": signature}},
                }
            ],
        }
    )


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    # install() patches moto's classes: give them back after the test
    monkeypatch.setattr(IAMPolicyStatement, "is_action_permitted", IAMPolicyStatement.is_action_permitted)
    monkeypatch.setattr(FakeBucket, "get_permission", FakeBucket.get_permission)
    monkeypatch.setattr(policy_conditions, "_installed", False)
    policy_conditions.install()


def _put_with_policy(policy: str) -> str:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)
    try:
        s3.put_object(Bucket=BUCKET, Key="kubecfn/templates/a.yaml", Body=b"a: 1\n")
        return "stored"
    except s3.exceptions.ClientError as e:
        return str(e.response["Error"]["Code"])


def test_moto_alone_refuses_every_upload_to_taskcats_bucket(aws: None) -> None:
    # the gap the patch closes: the SigV2-only Deny applied to SigV4 uploads too
    assert _put_with_policy(_policy("Deny")) == "403"


def test_sigv4_uploads_pass_taskcats_bucket_policy(aws: None, patched: None) -> None:
    assert _put_with_policy(_policy("Deny")) == "stored"


def test_the_deny_without_tls_denies_nothing_the_local_endpoint_stands_for_https(aws: None, patched: None) -> None:
    # the regional code bucket's policy (templates/kubecfn-functions.template.yaml): no plain-HTTP access
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
    assert _put_with_policy(policy) == "stored"


def test_a_deny_whose_condition_holds_still_refuses(aws: None, patched: None) -> None:
    assert _put_with_policy(_policy("Deny", "AWS4-HMAC-SHA256")) == "403"


def test_a_statement_whose_condition_does_not_hold_is_left_out(patched: None) -> None:
    context = {"s3:signatureversion": "AWS4-HMAC-SHA256"}
    for effect in ("Deny", "Allow"):
        result = IAMPolicy(_policy(effect)).is_action_permitted(
            "s3:GetObject", OBJECT, incoming_condition_values=context
        )
        assert result == PermissionResult.NEUTRAL


def test_statements_without_condition_are_unchanged(patched: None) -> None:
    policy = json.dumps(
        {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
    )
    assert IAMPolicy(policy).is_action_permitted("s3:PutObject", OBJECT) == PermissionResult.DENIED
    assert IAMPolicy(policy).is_action_permitted("s3:PutObject", "arn:aws:s3:::other/x") == PermissionResult.NEUTRAL
