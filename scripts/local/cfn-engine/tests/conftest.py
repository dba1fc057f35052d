"""Fixtures of the engine's unit tests (helpers are in support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from kubecfn_embedded import handlers
from tests.support import RECORDED, Recorder


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Handles the Test::Recorded type for the length of one test."""
    handler = Recorder()
    monkeypatch.setitem(handlers._HANDLERS, RECORDED, handler)
    return handler


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-memory AWS backends, fresh for one test (no server, no network)."""
    with mock_aws():
        yield


@pytest.fixture(autouse=True)
def _recorded_type_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test::Recorded is a type the engine handles in every test (templates with an unknown type are
    refused before anything starts); the `recorder` fixture gives a handler the test can read."""
    monkeypatch.setitem(handlers._HANDLERS, RECORDED, Recorder())


@pytest.fixture(autouse=True)
def _no_local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never read a local-mode configuration file of a running `npm start`."""
    monkeypatch.delenv("KUBECFN_EMBEDDED_CONFIG", raising=False)
