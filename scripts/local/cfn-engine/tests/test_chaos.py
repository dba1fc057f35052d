"""The response endpoint's fault on request (chaos `responsePut503`): the first PUT to each response
URL gets S3's 503 SlowDown and is not taken as the answer; the next PUT is, and the refusal is counted."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest

from kubecfn_embedded import chaos, config
from kubecfn_embedded.custom_resources import ResponseEndpoint


def put(url: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method="PUT")
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return int(res.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def received(waiting: Any) -> bytes | None:
    return waiting.body  # type: ignore[no-any-return]


def switches(monkeypatch: pytest.MonkeyPatch, value: dict[str, Any]) -> None:
    monkeypatch.setattr(config, "load", lambda: value)


def test_the_first_put_of_each_response_url_is_refused_with_503_and_the_next_is_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chaos.reset()
    switches(monkeypatch, {"chaos": {"responsePut503": True}})
    endpoint = ResponseEndpoint.get()
    first_url, first = endpoint.new_url("eu-west-1", "arn:stack/s/1", "A", "r-1")
    second_url, second = endpoint.new_url("eu-west-1", "arn:stack/s/1", "B", "r-2")

    assert put(first_url, b'{"Status": "FAILED"}') == 503
    assert received(first) is None
    assert put(first_url, b'{"Status": "SUCCESS"}') == 200
    assert put(second_url, b'{"Status": "SUCCESS"}') == 503
    assert put(second_url, b'{"Status": "SUCCESS"}') == 200

    assert received(first) == b'{"Status": "SUCCESS"}'
    assert second.done.is_set()
    assert chaos.counts() == {"responsePut503": 2}


def test_without_the_switch_the_first_put_is_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    chaos.reset()
    switches(monkeypatch, {})
    url, waiting = ResponseEndpoint.get().new_url("eu-west-1", "arn:stack/s/1", "C", "r-3")

    assert put(url, b'{"Status": "SUCCESS"}') == 200

    assert waiting.body == b'{"Status": "SUCCESS"}'
    assert chaos.counts() == {}
