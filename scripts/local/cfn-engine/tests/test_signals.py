"""CreationPolicy signals: nothing boots locally, so nothing runs cfn-signal. The engine sends the
signals itself only when the instance's UserData calls cfn-signal for the resource (an emulation it
lists); otherwise the resource waits for SignalResource calls and fails at its Timeout, as in AWS."""

from __future__ import annotations

import base64
import textwrap
import threading
import time

import pytest
from moto.ec2.models import ec2_backends

from kubecfn_embedded import emulations
from kubecfn_embedded.engine import StackEngine
from kubecfn_embedded.handlers import runs_cfn_signal
from tests.support import ACCOUNT, REGION, make_engine, settle, statuses

pytestmark = pytest.mark.usefixtures("aws")


def instance_stack(script: str) -> str:
    image = ec2_backends[ACCOUNT][REGION].describe_images()[0].id
    user_data = base64.b64encode(script.encode()).decode()
    return textwrap.dedent(f"""
        Resources:
          Bastion:
            Type: AWS::EC2::Instance
            CreationPolicy: {{ResourceSignal: {{Count: 1, Timeout: PT1S}}}}
            Properties: {{ImageId: {image}, InstanceType: t3.micro, UserData: {user_data}}}
        """)


def reasons(engine: StackEngine, logical_id: str) -> list[str | None]:
    return [e.resource_status_reason for e in engine.stack.events if e.logical_resource_id == logical_id]


def test_an_instance_whose_user_data_runs_cfn_signal_gets_its_signal_listed_as_emulated() -> None:
    emulations.reset()
    engine = make_engine(
        instance_stack("#!/bin/bash\nyum install -y x\n/opt/aws/bin/cfn-signal -e $? --stack s --resource Bastion\n")
    )
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    assert any(r and r.startswith("Received SUCCESS signal with UniqueId i-") for r in reasons(engine, "Bastion"))
    assert [(e["kind"], e["logicalResourceId"]) for e in emulations.entries()] == [
        ("ec2-instance", "Bastion"),
        ("creation-signal", "Bastion"),
    ]


def test_an_instance_whose_user_data_never_signals_times_out_as_in_aws() -> None:
    engine = make_engine(instance_stack("#!/bin/bash\n# cfn-signal is only mentioned here\necho hello\n"))
    engine.start_create()
    assert settle(engine) == "ROLLBACK_COMPLETE"
    assert "Failed to receive 1 resource signal(s) within the specified duration" in reasons(engine, "Bastion")


def test_a_signal_for_another_resource_does_not_count() -> None:
    assert not runs_cfn_signal("cfn-signal -e 0 --stack s --resource Other --region r", "Bastion")
    assert runs_cfn_signal("cfn-signal -e 0 --stack s --resource 'Bastion' --region r", "Bastion")
    assert runs_cfn_signal('  /opt/aws/bin/cfn-signal --exit-code "$1" --stack x -r Bastion || true', "Bastion")


def test_signal_resource_completes_a_resource_that_waits(recorder: object) -> None:
    engine = make_engine(
        "Resources:\n  A: {Type: Test::Recorded, CreationPolicy: {ResourceSignal: {Timeout: PT10S}}}\n"
    )
    engine.start_create()
    deadline = time.time() + 5
    while statuses(engine, "A") != ["CREATE_IN_PROGRESS"] and time.time() < deadline:
        time.sleep(0.05)
    threading.Thread(target=engine.signal, args=("A", "from-the-test", "SUCCESS")).start()
    assert settle(engine) == "CREATE_COMPLETE"
    assert "Received SUCCESS signal with UniqueId from-the-test" in reasons(engine, "A")


def test_a_failure_signal_fails_the_resource(recorder: object) -> None:
    engine = make_engine(
        "Resources:\n  A: {Type: Test::Recorded, CreationPolicy: {ResourceSignal: {Timeout: PT10S}}}\n"
    )
    engine.start_create()
    deadline = time.time() + 5
    while statuses(engine, "A") != ["CREATE_IN_PROGRESS"] and time.time() < deadline:
        time.sleep(0.05)
    engine.signal("A", "bad", "FAILURE")
    assert settle(engine) == "ROLLBACK_COMPLETE"
    assert "Received FAILURE signal with UniqueId bad" in reasons(engine, "A")
