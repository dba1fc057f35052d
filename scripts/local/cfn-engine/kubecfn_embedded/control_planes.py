"""The local control plane of each EKS cluster.

With `controlPlanes` in the configuration (what `npm start` and LocalDeployment write), every
AWS::EKS::Cluster gets a control plane of its own, started by the local cloud's control-plane
service (scripts/local/cluster/control-planes.ts) when the engine creates the cluster and stopped
when it deletes it: two stacks side by side never see each other's objects, and DescribeCluster gives
each cluster its own endpoint and CA.

With only `cluster` (harnesses that start one control plane themselves), that control plane stands
for one EKS cluster at a time, as before: a second cluster fails until the first is deleted.

The engine keeps each cluster's API server, CA and admin token (for its node groups' fake nodes) by
(account, region, name) for as long as the cluster exists.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from . import config
from .errors import ResourceFailure

Key = tuple[str, str, str]

_lock = threading.Lock()
# The API server, CA (PEM), admin token and version of each cluster's control plane.
_planes: dict[Key, dict[str, str]] = {}
# Without the service: the one EKS cluster the shared control plane stands for, name -> owner.
_shared_owner: dict[str, str] = {}

# A control plane starts in about 3 s on two cores; allow for a loaded machine.
START_TIMEOUT_S = 300


def running_version() -> str:
    """The Kubernetes version the local control planes run ('' when local mode is not configured)."""
    loaded = config.load()
    service = loaded.get("controlPlanes") or {}
    shared = loaded.get("cluster") or {}
    return str(service.get("version") or shared.get("version") or "")


def _service() -> dict[str, Any] | None:
    service = config.load().get("controlPlanes")
    return service if isinstance(service, dict) and service.get("endpoint") else None


def _call(service: dict[str, Any], method: str, key: Key) -> tuple[int, dict[str, Any]]:
    path = "/".join(urllib.parse.quote(part, safe="") for part in key)
    req = urllib.request.Request(f"{str(service['endpoint']).rstrip('/')}/clusters/{path}", method=method)
    req.add_header("Authorization", f"Bearer {service.get('token', '')}")
    try:
        with urllib.request.urlopen(req, timeout=START_TIMEOUT_S) as res:
            return res.status, json.loads(res.read().decode() or "{}")
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, {"message": text}


def start(key: Key, owner: str) -> dict[str, str]:
    """Starts (or finds) the control plane of cluster `key`, created by `owner` (stack id / logical id);
    returns its server, caData (PEM), token and version."""
    service = _service()
    if service is None:
        shared = config.require("cluster")
        name = key[2]
        with _lock:
            if _shared_owner and owner not in _shared_owner.values():
                raise ResourceFailure(
                    f"Local mode runs one control plane, already standing for cluster {next(iter(_shared_owner))}; "
                    f"cannot create cluster {name}"
                )
            _shared_owner[name] = owner
        plane = {k: str(shared.get(k, "")) for k in ("server", "caData", "token", "version")}
    else:
        try:
            status, answer = _call(service, "PUT", key)
        except OSError as err:
            raise ResourceFailure(f"the local control plane of cluster {key[2]} did not start: {err}") from err
        if status != 200:
            raise ResourceFailure(
                f"the local control plane of cluster {key[2]} did not start: {answer.get('message', status)}"
            )
        plane = {k: str(answer.get(k, "")) for k in ("server", "caData", "token", "version")}
    with _lock:
        _planes[key] = plane
    return plane


def stop(key: Key) -> None:
    """Stops the control plane of cluster `key`; nothing to do when it is gone already."""
    with _lock:
        _planes.pop(key, None)
        _shared_owner.pop(key[2], None)
    service = _service()
    if service is None:
        return
    try:
        status, answer = _call(service, "DELETE", key)
    except OSError as err:
        raise ResourceFailure(f"the local control plane of cluster {key[2]} did not stop: {err}") from err
    if status not in (200, 404):
        raise ResourceFailure(
            f"the local control plane of cluster {key[2]} did not stop: {answer.get('message', status)}"
        )


def access(key: Key) -> dict[str, str] | None:
    """The server, caData, token and version of cluster `key`'s control plane; None when it has none."""
    with _lock:
        plane = _planes.get(key)
        return dict(plane) if plane else None
