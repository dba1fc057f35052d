"""The STS side of an EKS token: a presigned GetCallerIdentity is answered only when its signature holds."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kubecfn_embedded.sts_identity import StsError, authorize_request, verify

STS = "https://sts.us-east-1.amazonaws.com/"


def presign(credentials: Credentials, cluster: str = "ci") -> str:
    """A presigned GetCallerIdentity covering `x-k8s-aws-id`, as aws-iam-authenticator's client makes it."""
    request = AWSRequest(
        method="GET",
        url=STS + "?" + urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}),
        headers={"x-k8s-aws-id": cluster},
    )
    SigV4QueryAuth(credentials, "sts", "us-east-1", expires=60).add_auth(request)
    return str(request.url)


@pytest.fixture
def role_session(aws: None) -> Credentials:
    """Credentials of an assumed IAM role (what a Lambda function runs with)."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="provider", Path="/kubecfn/", AssumeRolePolicyDocument="{}")
    sts = boto3.client("sts", region_name="us-east-1")
    c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/kubecfn/provider", RoleSessionName="fn")["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def test_a_role_session_token_is_answered_with_the_assumed_role_arn(role_session: Credentials) -> None:
    # given a token signed by the role session for cluster "ci"
    url = presign(role_session)

    # when STS is asked with the header the token was signed for
    identity = verify(url, {"x-k8s-aws-id": "ci"})

    # then it names the session as GetCallerIdentity does
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/provider/fn"
    assert identity["Account"] == "123456789012"


def test_an_iam_user_key_is_answered_with_the_user_arn(aws: None) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="deployer")
    key = iam.create_access_key(UserName="deployer")["AccessKey"]

    identity = verify(presign(Credentials(key["AccessKeyId"], key["SecretAccessKey"])), {"x-k8s-aws-id": "ci"})

    assert identity["Arn"] == "arn:aws:iam::123456789012:user/deployer"


def test_a_token_for_another_cluster_does_not_match(role_session: Credentials) -> None:
    url = presign(role_session, cluster="other")

    with pytest.raises(StsError) as refused:
        verify(url, {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "SignatureDoesNotMatch"


def test_a_wrong_secret_does_not_match(role_session: Credentials) -> None:
    forged = Credentials(role_session.access_key, "not-the-secret", role_session.token)

    with pytest.raises(StsError) as refused:
        verify(presign(forged), {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "SignatureDoesNotMatch"


def test_a_tampered_url_does_not_match(role_session: Credentials) -> None:
    url = presign(role_session).replace("Version=2011-06-15", "Version=2011-06-16")

    with pytest.raises(StsError) as refused:
        verify(url, {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "SignatureDoesNotMatch"


def test_an_unknown_key_is_an_invalid_client_token(aws: None) -> None:
    with pytest.raises(StsError) as refused:
        verify(presign(Credentials("AKIAUNKNOWN000000000", "secret")), {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "InvalidClientTokenId"


def test_a_session_key_without_its_session_token_is_invalid(role_session: Credentials) -> None:
    without_token = Credentials(role_session.access_key, role_session.secret_key)

    with pytest.raises(StsError) as refused:
        verify(presign(without_token), {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "InvalidClientTokenId"


def test_another_action_is_refused(role_session: Credentials) -> None:
    url = presign(role_session).replace("Action=GetCallerIdentity", "Action=AssumeRole")

    with pytest.raises(StsError) as refused:
        verify(url, {"x-k8s-aws-id": "ci"})

    assert refused.value.code == "InvalidAction"


# The local Lambda service's Invoke API: the signature of the Authorization header, then IAM's judgment.
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:kubecfn-kube-1"
INVOKE_PATH = f"/2015-03-31/functions/{quote(FUNCTION, safe='')}/invocations"


def signed_invoke(credentials: Credentials, body: bytes = b'{"a":1}') -> dict[str, str]:
    """The headers of an Invoke as the AWS SDK signs it (Authorization, X-Amz-Date, the session token)."""
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:9001{INVOKE_PATH}",
        data=body,
        headers={"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"},
    )
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    return {**dict(request.headers.items()), "host": "127.0.0.1:9001"}


def allow_invoke(resource: str) -> None:
    boto3.client("iam", region_name="us-east-1").put_role_policy(
        RoleName="provider",
        PolicyName="continue",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": resource}],
            }
        ),
    )


def test_a_signed_invoke_allowed_by_the_role_policy_is_answered_with_the_caller(role_session: Credentials) -> None:
    allow_invoke(FUNCTION)

    answer = authorize_request(
        "POST", INVOKE_PATH, signed_invoke(role_session), b'{"a":1}', "lambda:InvokeFunction", FUNCTION
    )

    assert answer == {"Arn": "arn:aws:sts::123456789012:assumed-role/provider/fn"}


def test_an_invoke_the_role_may_not_make_is_access_denied_naming_the_action(role_session: Credentials) -> None:
    allow_invoke("arn:aws:lambda:us-east-1:123456789012:function:other")

    with pytest.raises(StsError) as err:
        authorize_request(
            "POST", INVOKE_PATH, signed_invoke(role_session), b'{"a":1}', "lambda:InvokeFunction", FUNCTION
        )

    assert err.value.code == "AccessDeniedException"
    assert f"is not authorized to perform: lambda:InvokeFunction on resource: {FUNCTION}" in err.value.message


def test_an_invoke_whose_body_was_changed_after_signing_does_not_match(role_session: Credentials) -> None:
    allow_invoke(FUNCTION)

    with pytest.raises(StsError) as err:
        authorize_request(
            "POST", INVOKE_PATH, signed_invoke(role_session), b'{"a":2}', "lambda:InvokeFunction", FUNCTION
        )

    assert err.value.code == "InvalidSignatureException"


def test_an_unsigned_invoke_is_refused(aws: None) -> None:
    with pytest.raises(StsError) as err:
        authorize_request("POST", INVOKE_PATH, {"host": "x"}, b"{}", "lambda:InvokeFunction", FUNCTION)

    assert err.value.code == "MissingAuthenticationTokenException"


def test_an_invoke_signed_by_an_unknown_key_is_unrecognized(aws: None) -> None:
    headers = signed_invoke(Credentials("AKIAUNKNOWNKEY000000", "secret"))

    with pytest.raises(StsError) as err:
        authorize_request("POST", INVOKE_PATH, headers, b'{"a":1}', "lambda:InvokeFunction", FUNCTION)

    assert err.value.code == "UnrecognizedClientException"


def test_an_invoke_with_another_session_token_is_unrecognized(role_session: Credentials) -> None:
    allow_invoke(FUNCTION)
    forged = Credentials(role_session.access_key, role_session.secret_key, "another-token")

    with pytest.raises(StsError) as err:
        authorize_request("POST", INVOKE_PATH, signed_invoke(forged), b'{"a":1}', "lambda:InvokeFunction", FUNCTION)

    assert err.value.code == "UnrecognizedClientException"
