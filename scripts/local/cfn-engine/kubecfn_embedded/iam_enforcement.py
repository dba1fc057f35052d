"""IAM enforced on every AWS call made over HTTP, as in an AWS account.

When ``KUBECFN_ENFORCE_IAM=1`` (``npm start`` sets it; the embedded AWS then also sets moto's
``INITIAL_NO_AUTH_ACTION_COUNT=0``), moto checks each request's SigV4 signature against the IAM users and
STS sessions it knows, and each action against the caller's policies. The local cloud adds:

- the deployer: an IAM user whose access key the embedded AWS chooses (``KUBECFN_DEPLOYER_ACCESS_KEY_ID``,
  ``KUBECFN_DEPLOYER_SECRET_ACCESS_KEY``), allowed everything, as the administrator who launches the stack;
- resource scoping where moto cannot tell the resource: moto names the resource of most non-S3 actions
  ``*``, against which a statement scoped to an ARN (``eks:DescribeCluster`` on the cluster's ARN) would
  never match. Such statements are judged by their actions alone: a missing action is refused as in AWS,
  a resource ARN that names the wrong cluster is not, and a Deny scoped to an ARN does not apply
  (listed as an emulation in scripts/local/README.md).

The Lambda service's own AssumeRole of an execution role does not go through HTTP (sts_identity.py).
"""

from __future__ import annotations

import os
from typing import Any

ACCOUNT_ID = "123456789012"
DEPLOYER = "kubecfn-deployer"
_ADMIN = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def enforced() -> bool:
    return os.environ.get("KUBECFN_ENFORCE_IAM") == "1"


def install() -> None:
    """Creates the deployer and relaxes resource matching for unknown resources (when enforced)."""
    if not enforced():
        return
    _judge_unknown_resources_by_action()
    _check_signatures_as_sigv4_defines()
    _answer_json_services_in_json()
    _read_policies_given_as_objects()
    _create_deployer(
        os.environ["KUBECFN_DEPLOYER_ACCESS_KEY_ID"],
        os.environ["KUBECFN_DEPLOYER_SECRET_ACCESS_KEY"],
    )


def _create_deployer(access_key_id: str, secret: str) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT_ID]["aws"]
    iam.create_user("us-east-1", DEPLOYER, path="/", tags=[])
    iam.put_user_policy(DEPLOYER, "administrator", _ADMIN)
    key = iam.create_access_key(DEPLOYER)
    key.access_key_id = access_key_id
    key.secret_access_key = secret


def _check_signatures_as_sigv4_defines() -> None:
    from moto.iam.access_control import IAMRequest

    from .sts_identity import verify_header_signature

    original = IAMRequest.check_signature

    def check_signature(self: IAMRequest) -> None:
        try:
            original(self)  # right for the query protocols (IAM, STS, EC2, CloudFormation)
        except Exception:
            secret = str(getattr(self._access_key, "_secret_access_key", ""))
            body = self._body if isinstance(self._body, bytes) else str(self._body or "").encode()
            if not verify_header_signature(self._method, self._path, dict(self._headers), body, secret):
                raise

    IAMRequest.check_signature = check_signature  # type: ignore[method-assign,assignment]


def _answer_json_services_in_json() -> None:
    """A refused call to a JSON service (EKS, Lambda, ECR, ...) answers as that service does: JSON, not XML."""
    import botocore.session
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError, _RESTError

    protocols: dict[str, str] = {}
    session = botocore.session.get_session()

    def protocol_of(service: str) -> str:
        if service not in protocols:
            try:
                protocols[service] = str(session.get_service_model(service).metadata.get("protocol", ""))
            except Exception:
                protocols[service] = ""
        return protocols[service]

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: ActionAuthenticatorMixin, resource: str = "*") -> None:
        try:
            original(self, resource)
        except _RESTError as err:
            authorization = str(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
            service = authorization.split("Credential=", 1)[-1].split("/")[3] if "Credential=" in authorization else ""
            if protocol_of(service) not in ("json", "rest-json"):
                raise
            code = "AccessDeniedException" if err.error_type == "AccessDenied" else err.error_type
            raise JsonRESTError(code, err.message) from err

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


def _read_policies_given_as_objects() -> None:
    """A role made by CloudFormation keeps its inline PolicyDocument as an object; moto's check wants text."""
    import json

    from moto.iam.access_control import IAMPolicy

    original = IAMPolicy.__init__

    def init(self: IAMPolicy, policy: Any) -> None:
        if isinstance(policy, dict) and "policy_document" not in policy:
            policy = json.dumps(policy)
        original(self, policy)

    IAMPolicy.__init__ = init  # type: ignore[method-assign]


def _judge_unknown_resources_by_action() -> None:
    from moto.iam.access_control import IAMPolicyStatement

    original = IAMPolicyStatement._check_element_matches

    def matches(self: IAMPolicyStatement, statement_element: Any, value: str) -> bool:
        if statement_element == "Resource" and value == "*":
            # Allow statements count by their action; a Deny scoped to some ARN is not taken to cover all.
            return bool(self._statement.get("Effect") == "Allow")
        result: bool = original(self, statement_element, value)
        return result

    IAMPolicyStatement._check_element_matches = matches  # type: ignore[method-assign]
