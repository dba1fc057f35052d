"""The embedded mode's configuration: a JSON file written by `npm start` (scripts/start.ts), whose
path is in KUBECFN_EMBEDDED_CONFIG. It is read on every use, so it may be written after the server
starts (the local Lambda service and moto each need the other's address).

{
  "lambdaEndpoint": "http://127.0.0.1:PORT",        # Lambda Invoke API of the local Lambda service
  "lambdaServiceToken": "...",                        # how CloudFormation's own Invoke is known to that service
  "functionsDir": "/path/functions",                 # where Lambda functions are exported for that service
  "controlPlanes": {"endpoint": "http://127.0.0.1:PORT", "token": ..., "version": "v1.35.4"},
                                                     # starts a control plane per EKS cluster (control_planes.py)
  "cluster": {"server": ..., "caData": PEM, "token": ..., "version": "v1.35.4"},
                                                     # or: one control plane for one cluster at a time (harnesses)
  "clusterAccessFile": "/path/cluster-access.json", # KUBECFN_CLUSTER_ACCESS file (provider test harnesses only)
  "eksAccessFile": "/path/eks-access.json"          # access entries for the local EKS authenticator
}
"""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import ResourceFailure


def load() -> dict[str, Any]:
    path = os.environ.get("KUBECFN_EMBEDDED_CONFIG", "")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def require(key: str) -> Any:
    value = load().get(key)
    if not value:
        raise ResourceFailure(
            f"local mode is not configured: '{key}' is missing from {os.environ.get('KUBECFN_EMBEDDED_CONFIG')} "
            "(start the stack with npm start)"
        )
    return value
