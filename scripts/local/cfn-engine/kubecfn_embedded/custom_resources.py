"""The custom-resource protocol, CloudFormation's side: an event goes to the provider Lambda by an
asynchronous Invoke (the Lambda Invoke API of the local Lambda service), and the answer comes back
as an HTTP PUT to a one-time response URL, here served by a small HTTP server inside this process
(in AWS it is a presigned S3 URL). Waits are bounded by the resource's ServiceTimeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

from . import chaos, config
from .errors import ResourceFailure

MAX_RESPONSE_BYTES = 4096
# The response URLs are served on the loopback interface only.
_HOST = "127.0.0.1"


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.body: bytes | None = None


# CloudFormation's response buckets, one per Region; the URLs are path-style on the local S3.
RESPONSE_BUCKET_PREFIX = "/cloudformation-custom-resource-response-"


class ResponseEndpoint:
    """Receives the PUTs of custom-resource answers, as CloudFormation's response bucket in S3.

    Inside moto server the URLs are on moto's own address (the S3 endpoint every local function is
    given, so the providers' check that an answer goes to S3 holds), and moto's WSGI application
    hands those PUTs here (patches.py). Without moto server (the engine's unit tests) a small
    server of its own stands in.
    """

    _instance: ResponseEndpoint | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.pending: dict[str, _Pending] = {}
        self.answered: set[str] = set()
        self.server: ThreadingHTTPServer | None = None
        # Response URLs whose first PUT was refused (chaos: responsePut503), once each.
        self.refused: set[str] = set()

    def deliver(self, key: str, body: bytes) -> tuple[int, bytes]:
        """Takes one PUT of an answer (`key`: the URL's path, percent-encoded or not); returns the
        HTTP status and body S3 would answer."""
        key = unquote(key)
        waiting = self.pending.get(key)
        if waiting is not None and key not in self.refused and chaos.enabled("responsePut503"):
            # S3 asks a client to slow down or try again with a 503; the sender must retry.
            self.refused.add(key)
            chaos.count("responsePut503")
            return 503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        if waiting is None and key in self.answered:
            # A presigned URL stays valid after the first answer (a duplicate or retried
            # invocation may PUT again): S3 takes the object; CloudFormation read the first.
            return 200, b""
        if waiting is None:
            return 403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        if waiting.body is None:
            waiting.body = body
            waiting.done.set()
        return 200, b""

    def _base_url(self) -> str:
        port = os.environ.get("MOTO_PORT")
        if port:
            return f"http://{_HOST}:{port}"
        with self._lock:
            if self.server is None:
                endpoint = self

                class Handler(BaseHTTPRequestHandler):
                    def do_PUT(self) -> None:
                        length = int(self.headers.get("Content-Length") or 0)
                        status, text = endpoint.deliver(self.path.split("?", 1)[0], self.rfile.read(length))
                        self.send_response(status)
                        self.send_header("ETag", '"' + uuid.uuid4().hex + '"')
                        self.end_headers()
                        self.wfile.write(text)

                    def log_message(self, format: str, *args: Any) -> None:
                        return

                self.server = ThreadingHTTPServer((_HOST, 0), Handler)
                self.server.daemon_threads = True
                threading.Thread(target=self.server.serve_forever, name="kubecfn-cfn-responses", daemon=True).start()
            return f"http://{_HOST}:{self.server.server_port}"

    @classmethod
    def get(cls) -> ResponseEndpoint:
        with cls._lock:
            if cls._instance is None:
                cls._instance = ResponseEndpoint()
            return cls._instance

    def new_url(self, region: str, stack_id: str, logical_id: str, request_id: str) -> tuple[str, _Pending]:
        bucket = f"cloudformation-custom-resource-response-{region.replace('-', '')}"
        key = f"/{bucket}/{quote(stack_id, safe='')}%7C{logical_id}%7C{request_id}"
        waiting = _Pending()
        self.pending[unquote(key)] = waiting
        signature = uuid.uuid4().hex + uuid.uuid4().hex
        # Shaped like CloudFormation's pre-signed S3 URL: the signing time is in X-Amz-Date (the
        # providers read when the request was issued from it).
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        url = (
            f"{self._base_url()}{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}"
            f"&X-Amz-Expires=7200&X-Amz-Signature={signature}"
        )
        return url, waiting

    def forget(self, url_key: _Pending) -> None:
        for key, value in list(self.pending.items()):
            if value is url_key:
                del self.pending[key]
                self.answered.add(key)


class CustomResourceFailed(ResourceFailure):
    """The provider answered FAILED; CloudFormation keeps the physical id it gave (a rollback's
    Delete is sent for it: kubecfn's runtime answers a create-failed marker there)."""

    def __init__(self, physical_id: str | None, message: str):
        super().__init__(message)
        self.physical_id = physical_id


def _stringify(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


def export_function(account_id: str, region: str, service_token: str) -> str:
    """Exports the Lambda function behind a ServiceToken for the local Lambda service, and returns its name.

    Lambda copies a function's code (and its layers') from S3 when the function is created or updated;
    moto does the same into the function's ``code_bytes``. Those bytes, the layers' and the function's
    configuration (Runtime, Handler, Timeout, MemorySize, Environment, EventInvokeConfig) are written to
    the ``functionsDir`` of the engine's configuration, where the local Lambda service reads them on
    every invocation: what runs is what the template declares, nothing from a table.
    """
    from moto.awslambda.models import lambda_backends

    if not isinstance(service_token, str) or not service_token.startswith("arn:"):
        raise ResourceFailure(
            f"Invalid service token: ServiceToken must be the ARN of a Lambda function, got {service_token!r}"
        )
    if ":sns:" in service_token:
        raise ResourceFailure("SNS-backed custom resources are not supported in local mode")
    backend = lambda_backends[account_id][region]
    try:
        fn = backend.get_function(service_token)
    except Exception:
        raise ResourceFailure(f"Lambda function {service_token} does not exist (ServiceToken)") from None
    if fn.package_type != "Zip" or not getattr(fn, "code_bytes", b""):
        raise ResourceFailure(
            f"Lambda function {fn.function_name} has no zip package (image or empty code): local mode runs "
            "zip packages only"
        )
    directory = str(config.require("functionsDir"))
    os.makedirs(directory, exist_ok=True)
    layers = []
    for layer in fn.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None or not version.code_bytes:
            raise ResourceFailure(f"Lambda function {fn.function_name}: layer {layer['Arn']} has no content")
        layers.append(_write_package(directory, version.code_bytes))
    retry: dict[str, Any] = {}
    for invoke_config in fn.event_invoke_config:
        retry = {
            k: v for k, v in invoke_config.config.items() if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        }
    _check_execution_role(account_id, str(fn.role), str(fn.function_name))
    definition = {
        "name": fn.function_name,
        "role": fn.role,
        "arn": fn.function_arn,
        "runtime": fn.run_time,
        "handler": fn.handler,
        "timeout": int(fn.timeout),
        "memorySize": int(fn.memory_size),
        "environment": {str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        "code": _write_package(directory, fn.code_bytes),
        "layers": layers,
        **({"maximumRetryAttempts": int(retry["MaximumRetryAttempts"])} if "MaximumRetryAttempts" in retry else {}),
        **(
            {"maximumEventAgeInSeconds": int(retry["MaximumEventAgeInSeconds"])}
            if "MaximumEventAgeInSeconds" in retry
            else {}
        ),
    }
    target = os.path.join(directory, f"{fn.function_name}.json")
    temporary = f"{target}.{os.getpid()}.{threading.get_ident()}"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(definition, f)
    os.replace(temporary, target)
    return str(fn.function_name)


def _check_execution_role(account_id: str, role_arn: str, function_name: str) -> None:
    """Lambda runs a function as its execution role: the role must exist and trust lambda.amazonaws.com."""
    from moto.iam.models import iam_backends

    refused = (
        f"Lambda function {function_name}: The role defined for the function cannot be assumed by Lambda ({role_arn})"
    )
    try:
        role = iam_backends[account_id]["aws"].get_role_by_arn(role_arn)
    except Exception:
        raise ResourceFailure(refused) from None
    document: Any = role.assume_role_policy_document or "{}"
    try:
        trust = document if isinstance(document, dict) else json.loads(unquote(str(document)))
    except ValueError:
        raise ResourceFailure(refused) from None
    statements = trust.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = (statement.get("Principal") or {}).get("Service")
        services = principal if isinstance(principal, list) else [principal]
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") == "Allow" and "lambda.amazonaws.com" in services and "sts:AssumeRole" in actions:
            return
    raise ResourceFailure(refused)


def _write_package(directory: str, data: bytes) -> str:
    """Writes a code or layer package once, named by its content."""
    path = os.path.join(directory, "packages", hashlib.sha256(data).hexdigest() + ".zip")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}"
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    return path


def send(
    *,
    account_id: str,
    region: str,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    request_type: str,
    properties: dict[str, Any],
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sends one request and returns the provider's SUCCESS body; raises ResourceFailure otherwise."""
    service_token = properties.get("ServiceToken")
    if not service_token:
        raise ResourceFailure("ServiceToken: required property is missing")
    function = export_function(account_id, region, service_token)
    timeout_text = str(properties.get("ServiceTimeout", "3600"))
    try:
        timeout = int(timeout_text)
    except ValueError:
        raise ResourceFailure(f"ServiceTimeout: expected an integer from 1 to 3600, got {timeout_text}") from None
    if not 1 <= timeout <= 3600:
        raise ResourceFailure(f"ServiceTimeout: expected an integer from 1 to 3600, got {timeout}")

    _note_wanted_chart(resource_type, properties)
    request_id = str(uuid.uuid4())
    endpoint = ResponseEndpoint.get()
    url, waiting = endpoint.new_url(region, stack_id, logical_id, request_id)
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": _stringify(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = _stringify(old_properties)

    lambda_endpoint = config.require("lambdaEndpoint")
    headers = {"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"}
    # CloudFormation invokes the ServiceToken as its service principal (the caller's lambda:InvokeFunction
    # was judged before, iam_enforcement.authorize_resource); the local Lambda service knows it by this token.
    service_token = config.load().get("lambdaServiceToken")
    if service_token:
        headers["X-Kubecfn-Service-Token"] = str(service_token)
    req = urllib.request.Request(
        f"{lambda_endpoint.rstrip('/')}/2015-03-31/functions/{quote(function, safe='')}/invocations",
        data=json.dumps(event).encode(),
        method="POST",
        headers=headers,
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            res.read()
    except (urllib.error.URLError, OSError) as err:
        endpoint.forget(waiting)
        raise ResourceFailure(f"Failed to invoke Lambda function {function}: {err}") from err

    try:
        if not waiting.done.wait(timeout):
            raise ResourceFailure(
                "CloudFormation did not receive a response from your Custom Resource. Please check your logs for "
                f"requestId [{request_id}]. "
                "If you are using the Python cfn-response module, you may need to update your Lambda function code so "
                "that CloudFormation can attach the updated version."
            )
    finally:
        endpoint.forget(waiting)
    body = waiting.body or b""
    if len(body) > MAX_RESPONSE_BYTES:
        raise ResourceFailure("Response object is too long.")
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ResourceFailure(f"Invalid response object: the response is not JSON (RequestId: {request_id})") from None
    if not isinstance(answer, dict):
        raise ResourceFailure(f"Invalid response object: the response is not a JSON object (RequestId: {request_id})")
    status = answer.get("Status")
    if status == "FAILED":
        raise CustomResourceFailed(
            answer.get("PhysicalResourceId"),
            "Received response status [FAILED] from custom resource. Message returned: "
            f"{answer.get('Reason') or 'See the details in CloudWatch Log Stream'} (RequestId: {request_id})",
        )
    if status != "SUCCESS":
        raise ResourceFailure(
            f"Invalid response object: Status must be SUCCESS or FAILED, got {status!r} (RequestId: {request_id})"
        )
    if not answer.get("PhysicalResourceId"):
        raise ResourceFailure(f"Invalid PhysicalResourceId (RequestId: {request_id})")
    if request_type != "Create" and physical_id and answer.get("StackId") not in (None, stack_id):
        raise ResourceFailure(f"Invalid response object: StackId does not match (RequestId: {request_id})")
    data = answer.get("Data") or {}
    if not isinstance(data, dict):
        raise ResourceFailure(f"Invalid response object: Data must be an object (RequestId: {request_id})")
    answer["Data"] = data
    return answer


def _note_wanted_chart(resource_type: str, properties: dict[str, Any]) -> None:
    """Tells the local chart mirror (scripts/local/aws/chart-mirror.ts) which chart a Helm
    release is about to ask a repository for: the machine has no internet."""
    path = config.load().get("chartWantsFile")
    if (
        not path
        or resource_type != "Custom::HelmRelease"
        or not properties.get("Chart")
        or not properties.get("Repository")
    ):
        return
    line = json.dumps(
        {"repository": properties["Repository"], "chart": properties["Chart"], "version": properties.get("Version")}
    )
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
