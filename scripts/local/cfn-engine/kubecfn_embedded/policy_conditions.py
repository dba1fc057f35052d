"""Policy conditions in bucket policies, as IAM evaluates them for the requests the local cloud serves.

moto evaluates a bucket policy with no request context, and answers DENIED for any statement whose
conditions fail, Allow and Deny alike. taskcat's auto-created bucket carries a policy that denies
``s3:*`` on its objects when ``s3:signatureversion`` is ``AWS`` (SigV2 only): moto applied that Deny to
every request, and every upload to the bucket was refused with 403. Two corrections:

- a statement whose conditions do not hold is left out (neither allows nor denies), as in IAM's
  evaluation logic; a condition on a key the request context lacks still counts as holding (moto's
  leniency, unchanged);
- a bucket policy is evaluated with ``s3:signatureversion`` = ``AWS4-HMAC-SHA256``: the SDKs, the AWS
  CLI and taskcat's boto3 sign with SigV4, and with IAM enforced (iam_enforcement.py) nothing else
  passes the signature check; and with ``aws:SecureTransport`` = true (see S3_REQUEST_CONTEXT).
"""

from __future__ import annotations

from typing import Any

#: The request context of every S3 request, as far as bucket policies ask for it. The local endpoint
#: is plain HTTP on the loopback, standing for S3's HTTPS endpoints (every SDK and CLI uses TLS there):
#: ``aws:SecureTransport`` is true, so the usual "deny without TLS" statement denies nothing.
S3_REQUEST_CONTEXT = {"s3:signatureversion": "AWS4-HMAC-SHA256", "aws:SecureTransport": "true"}

_installed = False


def install() -> None:
    """Applies both corrections to moto (once)."""
    global _installed
    if _installed:
        return
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        statement: dict[str, Any] = self._statement
        if statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values=S3_REQUEST_CONTEXT
        )

    # moto evaluates StringEquals only and takes any other operator as holding: a `Bool` Deny (the usual
    # "deny without TLS") then denied everything. Bool compares the value case-insensitively, as IAM does.
    from moto.iam import policy_conditions as moto_conditions

    def bool_operation(expected: list[str] | str, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in (str(v).lower() for v in values)

    moto_conditions.CONDITION_OPERATIONS["Bool"] = bool_operation  # type: ignore[assignment]
    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _installed = True
