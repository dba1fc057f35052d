"""A few Kubernetes API calls against an EKS cluster's local control plane (fake nodes for managed node
groups), as its admin (control_planes.access gives the server, CA and token)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any


def _context(ca_pem: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem)


def call(
    cluster: dict[str, str], method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(cluster["server"].rstrip("/") + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {cluster['token']}")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, context=_context(cluster["caData"]), timeout=15) as res:
            text = res.read().decode() or "null"
            return res.status, json.loads(text)
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, {"message": text}
