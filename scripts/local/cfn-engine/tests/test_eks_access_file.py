"""The file the local EKS authenticator reads the access entries from (config key eksAccessFile).

Two access entries of one stack are created at once (the KubeProvider's and the HelmProvider's, in
parallel): each write must put the file in place while no other write can take a newer snapshot,
or the older snapshot may land last and drop an entry (the HelmProvider then got Unauthorized).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kubecfn_embedded import handlers


@pytest.fixture
def access_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "embedded-config.json"
    target = tmp_path / "eks-access.json"
    config.write_text(json.dumps({"eksAccessFile": str(target)}), encoding="utf-8")
    monkeypatch.setenv("KUBECFN_EMBEDDED_CONFIG", str(config))
    key = ("123456789012", "us-east-1", "c")
    monkeypatch.setitem(handlers._authentication_modes, key, "API_AND_CONFIG_MAP")
    monkeypatch.setitem(handlers._access_entries, key, {})
    return target


def test_the_file_is_replaced_under_the_lock_that_guards_the_entries(
    access_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[bool] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        held.append(handlers._eks_lock.locked())
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    handlers._write_eks_access()
    assert held == [True]
