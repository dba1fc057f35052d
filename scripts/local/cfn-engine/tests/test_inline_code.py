"""Inline code (Code.ZipFile) is packaged as Lambda packages it: index.js for Node.js, index.py for Python."""

from __future__ import annotations

import io
import zipfile

import pytest
from moto.awslambda.models import lambda_backends

from kubecfn_embedded import lambda_model
from tests.support import ACCOUNT, REGION, make_engine, settle

pytestmark = pytest.mark.usefixtures("aws")

TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: 'sts:AssumeRole'}}]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: inline-{name}
      Runtime: {runtime}
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: "exports.handler = async () => 'ok';"
"""


@pytest.mark.parametrize(("runtime", "name"), [("nodejs24.x", "index.js"), ("python3.12", "index.py")])
def test_inline_code_is_one_file_named_for_the_runtime(runtime: str, name: str) -> None:
    lambda_model.apply()
    engine = make_engine(TEMPLATE.format(name=runtime.replace(".", "-"), runtime=runtime))
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    fn = lambda_backends[ACCOUNT][REGION].get_function(f"inline-{runtime.replace('.', '-')}")
    with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as zf:
        assert zf.namelist() == [name]
