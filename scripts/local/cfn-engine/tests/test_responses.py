"""CloudFormation's response bucket on moto's own address: answers PUT there reach the engine."""

from __future__ import annotations

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from kubecfn_embedded import patches
from kubecfn_embedded.custom_resources import ResponseEndpoint


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setattr(DomainDispatcherApplication, "__call__", patches._app_call)
    monkeypatch.setenv("MOTO_PORT", "5999")
    return Client(DomainDispatcherApplication(create_backend_app))


def test_an_answer_put_on_the_response_url_reaches_the_waiting_request(app: Client) -> None:
    url, waiting = ResponseEndpoint.get().new_url(
        "eu-west-1", "arn:aws:cloudformation:eu-west-1:1:stack/s/x", "R", "id1"
    )
    assert url.startswith("http://127.0.0.1:5999/cloudformation-custom-resource-response-euwest1/arn%3Aaws%3A")
    assert "X-Amz-Date=" in url
    path, _, query = url.partition("://")[2].partition("/")[2].partition("?")

    answered = app.put("/" + path, query_string=query, data=b'{"Status":"SUCCESS"}')

    assert answered.status_code == 200
    assert waiting.done.is_set()
    assert waiting.body == b'{"Status":"SUCCESS"}'


def test_a_put_for_no_pending_request_is_refused_as_s3_refuses_an_expired_url(app: Client) -> None:
    answered = app.put("/cloudformation-custom-resource-response-useast1/unknown", data=b"{}")

    assert answered.status_code == 403
    assert b"AccessDenied" in answered.data
