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
  passes the signature check.
"""

from __future__ import annotations

from typing import Any

#: The request context of every S3 request, as far as bucket policies ask for it.
S3_REQUEST_CONTEXT = {"s3:signatureversion": "AWS4-HMAC-SHA256"}

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

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _installed = True
