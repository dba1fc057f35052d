"""Faults injected on request (`npm start` with KUBECFN_CHAOS_* switches), and how many.

The switches are in the configuration file (`chaos`: {"responsePut503": true}), read on every use;
the counts are written, whole, to `chaos.json` beside it after each injection, so `npm start` and the
tests can print what was injected:

    {"version": 1, "injected": {"responsePut503": 3}}

- responsePut503: the first PUT to each custom-resource response URL is answered with S3's 503
  SlowDown; the provider must PUT again (CloudFormation reads the first answer that is accepted).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid

from . import config

FILE_NAME = "chaos.json"

_lock = threading.Lock()
_counts: dict[str, int] = {}


def enabled(switch: str) -> bool:
    switches = config.load().get("chaos")
    return isinstance(switches, dict) and switches.get(switch) is True


def count(switch: str) -> None:
    with _lock:
        _counts[switch] = _counts.get(switch, 0) + 1
        _write()


def counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def reset() -> None:
    with _lock:
        _counts.clear()


def _write() -> None:
    config_path = os.environ.get("KUBECFN_EMBEDDED_CONFIG")
    if not config_path:
        return
    target = os.path.join(os.path.dirname(os.path.abspath(config_path)), FILE_NAME)
    tmp = f"{target}.{uuid.uuid4().hex}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "injected": _counts}, f, indent=2)
        os.replace(tmp, target)
    except OSError:
        # A report: failing to write it must not fail a stack.
        with contextlib.suppress(OSError):
            os.remove(tmp)
