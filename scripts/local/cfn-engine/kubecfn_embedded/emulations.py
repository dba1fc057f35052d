"""What the engine emulated rather than did for real, as a machine-readable list.

Each time a resource is stood in for (an EC2 instance that never boots, a creation signal the
engine sends on the instance's behalf, an EKS control plane that is the local one, fake nodes, EKS
records nothing enforces), one entry is added. In local mode the list is written, whole, to
`emulated.json` beside the configuration file (the directory of KUBECFN_EMBEDDED_CONFIG), so that
`npm start` can print it at the end; its shape is documented in scripts/local/README.md (Emulated):

    {"version": 1, "emulations": [
      {"kind": "creation-signal", "stackName": "...", "stackId": "...", "logicalResourceId": "...",
       "resourceType": "AWS::EC2::Instance", "physicalResourceId": "i-...", "detail": "..."}]}

Entries stay after their resource is deleted: the list says what a run emulated.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import ResourceState, StackEngine

FILE_NAME = "emulated.json"

_lock = threading.Lock()
_entries: list[dict[str, Any]] = []


def path() -> str | None:
    """Where the list is written in local mode (None without a configuration file: unit tests)."""
    config = os.environ.get("KUBECFN_EMBEDDED_CONFIG")
    return os.path.join(os.path.dirname(os.path.abspath(config)), FILE_NAME) if config else None


def note(engine: StackEngine, state: ResourceState, kind: str, detail: str) -> None:
    """Adds an entry (once per stack, resource and kind) and rewrites the file."""
    entry = {
        "kind": kind,
        "stackName": engine.stack.name,
        "stackId": engine.stack.stack_id,
        "logicalResourceId": state.logical_resource_id,
        "resourceType": state.cf_resource_type,
        "physicalResourceId": state.physical_resource_id or "",
        "detail": detail,
    }
    with _lock:
        key = (entry["stackId"], entry["logicalResourceId"], kind)
        _entries[:] = [e for e in _entries if (e["stackId"], e["logicalResourceId"], e["kind"]) != key]
        _entries.append(entry)
        _write()


def entries() -> list[dict[str, Any]]:
    with _lock:
        return [dict(e) for e in _entries]


def reset() -> None:
    with _lock:
        _entries.clear()


def _write() -> None:
    target = path()
    if target is None:
        return
    tmp = f"{target}.{uuid.uuid4().hex}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "emulations": _entries}, f, indent=2)
        os.replace(tmp, target)
    except OSError:
        # The list is a report: a failure to write it must not fail a stack.
        with contextlib.suppress(OSError):
            os.remove(tmp)
