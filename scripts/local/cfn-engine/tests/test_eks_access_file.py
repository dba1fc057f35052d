"""eks-access.json, which the local EKS authenticator reads, always ends with every access entry: two
entries made at once (CloudFormation creates independent resources in parallel) must not leave the
file of the writer whose snapshot was taken first."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from kubecfn_embedded import handlers

KEY = ("123456789012", "us-east-1", "c")


def test_a_writer_that_snapshotted_first_does_not_overwrite_a_later_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = tmp_path / "eks-access.json"
    config = tmp_path / "embedded-config.json"
    config.write_text(json.dumps({"eksAccessFile": str(access)}))
    monkeypatch.setenv("KUBECFN_EMBEDDED_CONFIG", str(config))
    monkeypatch.setattr(handlers, "_authentication_modes", {KEY: "API"})
    monkeypatch.setattr(handlers, "_access_entries", {KEY: {"first": {"principalArn": "first"}}})
    # The first writer is slow between its snapshot and its write; the second entry comes meanwhile.
    in_slow_write = threading.Event()
    real_dump = json.dump

    def slow_first_dump(obj: Any, fp: Any, **kw: Any) -> None:
        if not in_slow_write.is_set():
            in_slow_write.set()
            threading.Event().wait(0.3)
        real_dump(obj, fp, **kw)

    monkeypatch.setattr(json, "dump", slow_first_dump)

    first = threading.Thread(target=handlers._write_eks_access)
    first.start()
    in_slow_write.wait(5)
    with handlers._eks_lock:
        handlers._access_entries[KEY]["second"] = {"principalArn": "second"}
    handlers._write_eks_access()
    first.join()

    entries = json.loads(access.read_text())["clusters"]["c"]["accessEntries"]
    assert sorted(e["principalArn"] for e in entries) == ["first", "second"]
