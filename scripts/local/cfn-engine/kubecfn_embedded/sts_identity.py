"""STS ``GetCallerIdentity`` from a presigned URL, verified as STS verifies it.

An EKS bearer token is a presigned ``GetCallerIdentity`` URL whose SigV4 signature covers the
``x-k8s-aws-id`` header (the cluster name). EKS's authenticator replays it against STS; STS checks the
signature with the signer's secret and answers who signed it. moto's STS neither routes an unsigned
GET to STS nor checks query signatures, so the local cloud's authenticator asks this endpoint instead:
it finds the secret of the access key in moto's IAM users and STS sessions, recomputes the signature
(with the session token, over the signed headers the caller says it would send), and answers the
caller's ARN exactly as ``GetCallerIdentity`` would. A wrong key, secret, session token, cluster name
or a tampered URL is refused with STS's own error codes.

Runs in moto's process (installed by ``install()``) on ``127.0.0.1:$KUBECFN_STS_VERIFY_PORT``:

    POST /verify  {"url": "https://sts.../?Action=GetCallerIdentity&...", "headers": {"x-k8s-aws-id": "c"}}
    200 {"Arn": ..., "Account": ..., "UserId": ...}     403 {"Code": ..., "Message": ...}

The same server is the Lambda service's way to its functions' execution roles: Lambda assumes a role
as the service principal lambda.amazonaws.com, which no signed request can be; the role's trust policy
was checked when the function was exported (custom_resources.py).

    POST /assume-role  {"roleArn": ..., "sessionName": ...}
    200 {"AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ..., "Expiration": ISO-8601}

The local Lambda service's Invoke API asks it who signed a request and whether that principal may make
the call: the SigV4 signature in the Authorization header is checked as for moto's own APIs
(``verify_header_signature``), then the action on the resource against the signer's identity policies
(iam_enforcement.authorize). Errors are Lambda's: UnrecognizedClientException (unknown key or wrong
session token), InvalidSignatureException, MissingAuthenticationTokenException, AccessDeniedException.

    POST /authorize  {"method": "POST", "path": "/2015-03-31/functions/f/invocations", "headers": {...},
                      "body": base64, "action": "lambda:InvokeFunction", "resource": "arn:aws:lambda:...:function:f"}
    200 {"Arn": ...}     403 {"Code": ..., "Message": ...}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class StsError(Exception):
    """An answer STS would give as an error: its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Signer:
    secret: str
    session_token: str | None
    arn: str
    account: str
    user_id: str


def _find_signer(access_key_id: str) -> _Signer:
    """The principal that owns ``access_key_id``: an STS session (AssumeRole) or an IAM user's key."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id in list(sts_backends.keys()):
        for region in list(sts_backends[account_id].keys()):
            for role in sts_backends[account_id][region].assumed_roles:
                if role.access_key_id == access_key_id:
                    return _Signer(role.secret_access_key, role.session_token, role.arn, role.account_id, role.user_id)
    for account_id in list(iam_backends.keys()):
        for partition in list(iam_backends[account_id].keys()):
            backend = iam_backends[account_id][partition]
            user = backend.get_user_from_access_key_id(access_key_id)
            if user is None:
                continue
            for key in backend.list_access_keys(user.name):
                if key.access_key_id == access_key_id:
                    if key.status != "Active":
                        break
                    return _Signer(key.secret_access_key, None, user.arn, user.account_id, user.id)
    raise StsError("InvalidClientTokenId", "The security token included in the request is invalid.")


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _signature(secret: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(url: str, headers: dict[str, str]) -> dict[str, str]:
    """Who signed the presigned ``GetCallerIdentity`` URL, if its signature holds; raises StsError otherwise."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(params)
    if query.get("Action") != "GetCallerIdentity":
        raise StsError("InvalidAction", f"Could not find operation {query.get('Action')} for version 2011-06-15")
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in query:
        raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token")
    try:
        access_key_id, date, region, service, terminator = query["X-Amz-Credential"].split("/")
        amz_date = query["X-Amz-Date"]
        signed_headers = query["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        raise StsError("IncompleteSignature", "The request signature does not conform to AWS standards.") from None
    if service != "sts" or terminator != "aws4_request" or not amz_date.startswith(date):
        raise StsError("IncompleteSignature", "Credential should be scoped to a valid service and date.")
    signer = _find_signer(access_key_id)
    if signer.session_token is not None and query.get("X-Amz-Security-Token") != signer.session_token:
        raise StsError("InvalidClientTokenId", "The security token included in the request is invalid.")

    values = {k.lower(): v for k, v in headers.items()}
    values["host"] = parts.netloc
    missing = [h for h in signed_headers if h not in values]
    if missing:
        raise StsError("SignatureDoesNotMatch", f"Signed headers not sent: {', '.join(missing)}")
    canonical_query = "&".join(
        f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(params) if k != "X-Amz-Signature"
    )
    canonical_headers = "".join(f"{h}:{values[h].strip()}\n" for h in signed_headers)
    scope = f"{date}/{region}/{service}/aws4_request"
    for payload_hash in (_EMPTY_SHA256, "UNSIGNED-PAYLOAD"):
        canonical_request = "\n".join(
            ["GET", parts.path or "/", canonical_query, canonical_headers, ";".join(signed_headers), payload_hash]
        )
        string_to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        expected = _signature(signer.secret, date, region, service, string_to_sign)
        if hmac.compare_digest(expected, query["X-Amz-Signature"]):
            return {"Arn": signer.arn, "Account": signer.account, "UserId": signer.user_id}
    raise StsError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
    )


def assume_role_for_lambda(role_arn: str, session_name: str) -> dict[str, str]:
    """A session of a function's execution role, as the Lambda service gets it (one hour)."""
    from moto.sts.models import sts_backends

    account_id = role_arn.split(":")[4]
    role = sts_backends[account_id]["aws"].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "AccessKeyId": role.access_key_id,
        "SecretAccessKey": role.secret_access_key,
        "SessionToken": role.session_token,
        "Expiration": role.expiration.isoformat() + "Z",
    }


def verify_header_signature(method: str, raw_path: str, headers: dict[str, str], body: bytes, secret: str) -> bool:
    """Whether a request signed with SigV4 in its Authorization header carries the signature of ``secret``.

    moto's own check rebuilds the request through botocore and miscomputes it for REST-JSON calls (EKS's
    ``GET /clusters/<name>`` is refused as SignatureDoesNotMatch), so the local cloud computes the canonical
    request itself, as the SigV4 specification defines it, over the path and headers as they arrived.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization", "")
    try:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
        signed_headers = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].strip().split(";")
        signature = authorization.split("Signature=", 1)[1].split(",", 1)[0].strip()
        _, date, region, service, _ = credential.split("/")
        amz_date = lower["x-amz-date"]
    except (IndexError, KeyError, ValueError):
        return False
    path, _, query = raw_path.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    canonical_query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(params))
    canonical_headers = "".join(f"{h}:{' '.join(lower.get(h, '').split())}\n" for h in signed_headers)
    payload_hash = lower.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    scope = f"{date}/{region}/{service}/aws4_request"
    # Services other than S3 sign the path URI-encoded once more; try the path as sent and as re-encoded.
    for canonical_uri in dict.fromkeys([path or "/", quote(path or "/", safe="/~")]):
        canonical_request = "\n".join(
            [method, canonical_uri, canonical_query, canonical_headers, ";".join(signed_headers), payload_hash]
        )
        string_to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        if hmac.compare_digest(_signature(secret, date, region, service, string_to_sign), signature):
            return True
    return False


def authorize_request(
    method: str, path: str, headers: dict[str, str], body: bytes, action: str, resource: str
) -> dict[str, str]:
    """Who signed a request, if its signature holds and their policies allow ``action`` on ``resource``."""
    from .iam_enforcement import AccessDenied, authorize

    lower = {k.lower(): v for k, v in headers.items()}
    authorization = lower.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or "Credential=" not in authorization:
        raise StsError("MissingAuthenticationTokenException", "Missing Authentication Token")
    access_key_id = authorization.split("Credential=", 1)[1].split("/", 1)[0].strip()
    try:
        signer = _find_signer(access_key_id)
    except StsError:
        raise StsError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        ) from None
    if signer.session_token is not None and lower.get("x-amz-security-token") != signer.session_token:
        raise StsError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if not verify_header_signature(method, path, headers, body, signer.secret):
        raise StsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    try:
        authorize(signer.arn, action, resource)
    except AccessDenied as err:
        raise StsError("AccessDeniedException", str(err)) from None
    return {"Arn": signer.arn}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        answer: Any
        try:
            body: Any = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/assume-role":
                answer, status = assume_role_for_lambda(str(body["roleArn"]), str(body["sessionName"])), 200
            elif self.path == "/authorize":
                answer = authorize_request(
                    str(body["method"]),
                    str(body["path"]),
                    {str(k): str(v) for k, v in dict(body.get("headers") or {}).items()},
                    base64.b64decode(str(body.get("body") or "")),
                    str(body["action"]),
                    str(body["resource"]),
                )
                status = 200
            else:
                answer, status = verify(str(body["url"]), dict(body.get("headers") or {})), 200
        except StsError as err:
            answer, status = {"Code": err.code, "Message": err.message}, 403
        except (KeyError, ValueError, TypeError) as err:
            answer, status = {"Code": "MalformedInput", "Message": str(err)}, 400
        except Exception as err:  # an answer in every case: the authenticator must never hang on us
            answer, status = {"Code": "InternalFailure", "Message": f"{type(err).__name__}: {err}"}, 500
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


def install() -> None:
    """Starts the endpoint when ``KUBECFN_STS_VERIFY_PORT`` names a port (the embedded mode sets it)."""
    port = os.environ.get("KUBECFN_STS_VERIFY_PORT")
    if not port:
        return
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="kubecfn-sts-verify", daemon=True).start()
