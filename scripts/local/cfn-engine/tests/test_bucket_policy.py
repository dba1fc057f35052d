"""AWS::S3::BucketPolicy (moto has no CloudFormation model for it): the policy is put on the bucket,
and removed with the stack."""

from __future__ import annotations

import json

import pytest
from moto.s3.models import s3_backends

from tests.support import ACCOUNT, make_engine, settle

pytestmark = pytest.mark.usefixtures("aws")

TEMPLATE = """
Resources:
  Code:
    Type: AWS::S3::Bucket
    Properties: {BucketName: regional-code}
  CodePolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Code
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: 's3:*'
            Resource: [!Sub 'arn:aws:s3:::${Code}', !Sub 'arn:aws:s3:::${Code}/*']
            Condition: {Bool: {aws:SecureTransport: 'false'}}
"""


def policy() -> object:
    return s3_backends[ACCOUNT]["aws"].get_bucket("regional-code").policy


def test_the_policy_is_put_on_the_bucket_and_goes_with_the_stack() -> None:
    engine = make_engine(TEMPLATE)
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    document = json.loads(policy())  # type: ignore[arg-type]
    assert document["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    engine.start_delete(lambda: None)
    assert settle(engine) == "DELETE_COMPLETE"
    assert "regional-code" not in s3_backends[ACCOUNT]["aws"].buckets
