"""ResourceProperties of resource events (event_properties.py), NoEcho values masked."""

from __future__ import annotations

import json

from kubecfn_embedded.engine import ResourceState
from kubecfn_embedded.event_properties import resource_properties_json
from tests.support import make_engine

TEMPLATE = """
Parameters:
  Token: {Type: String, NoEcho: true}
  Name: {Type: String}
Resources:
  A:
    Type: Test::Recorded
    Properties: {Name: !Ref Name, Values: !Sub 'token: ${Token}'}
"""


def test_events_carry_the_resolved_properties_with_no_echo_values_masked() -> None:
    engine = make_engine(TEMPLATE, {"Token": "glrt-s3cr3t", "Name": "runner"})
    state = ResourceState("A", "Test::Recorded")
    assert resource_properties_json(engine, state) is None  # not resolved yet
    state.properties = {"Name": "runner", "Values": "token: glrt-s3cr3t", "TemplateURL": "https://b.s3.amazonaws.com/k"}
    text = resource_properties_json(engine, state)
    assert text is not None
    assert "glrt-s3cr3t" not in text
    assert json.loads(text) == {
        "Name": "runner",
        "Values": "token: ****",
        "TemplateURL": "https://b.s3.amazonaws.com/k",
    }
