"""EKS realities the engine keeps: zones EKS refuses, the Kubernetes version the local control plane
runs, and one access entry per principal (the cluster creator's included). In-process, with moto's
in-memory EC2 and EKS backends and a local-mode configuration file naming a control plane that is
never called."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kubecfn_embedded import emulations, handlers
from kubecfn_embedded.engine import StackEngine
from kubecfn_embedded.template import parse_template
from tests.support import ACCOUNT, FakeStack, settle

pytestmark = pytest.mark.usefixtures("aws")

REGION = "us-east-1"
LOCAL_VERSION = "v1.35.4"


@pytest.fixture(autouse=True)
def local_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration file with the local control plane's details; the engine's one-cluster and
    access-entry bookkeeping fresh for each test."""
    path = tmp_path / "embedded-config.json"
    cluster = {"server": "https://127.0.0.1:1", "caData": "PEM", "token": "t", "version": LOCAL_VERSION}
    path.write_text(json.dumps({"cluster": cluster}))
    monkeypatch.setenv("KUBECFN_EMBEDDED_CONFIG", str(path))
    monkeypatch.setattr(handlers, "_eks_owner", {})
    monkeypatch.setattr(handlers, "_access_principals", {})
    emulations.reset()
    return path


def cluster_stack(
    zones: tuple[str, str] = ("us-east-1a", "us-east-1b"),
    version: str | None = None,
    bootstrap: bool = True,
    entries: tuple[str, ...] = (),
) -> str:
    version_line = f"Version: '{version}'" if version else ""
    entry_text = "".join(
        f"""
          Entry{i}:
            Type: AWS::EKS::AccessEntry
            Properties: {{ClusterName: !Ref Cluster, PrincipalArn: '{principal}'}}"""
        for i, principal in enumerate(entries)
    )
    return textwrap.dedent(f"""
        Resources:
          Vpc: {{Type: AWS::EC2::VPC, Properties: {{CidrBlock: 10.0.0.0/16}}}}
          SubnetA:
            Type: AWS::EC2::Subnet
            Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24, AvailabilityZone: {zones[0]}}}
          SubnetB:
            Type: AWS::EC2::Subnet
            Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.2.0/24, AvailabilityZone: {zones[1]}}}
          Cluster:
            Type: AWS::EKS::Cluster
            Properties:
              Name: local
              {version_line}
              RoleArn: arn:aws:iam::{ACCOUNT}:role/eks
              AccessConfig:
                AuthenticationMode: API_AND_CONFIG_MAP
                BootstrapClusterCreatorAdminPermissions: {str(bootstrap).lower()}
              ResourcesVpcConfig: {{SubnetIds: [!Ref SubnetA, !Ref SubnetB]}}{entry_text}
        """)


def run(text: str, caller: str | None = None) -> StackEngine:
    stack = FakeStack(
        parse_template(text),
        name="eks",
        stack_id=f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/eks/1",
        region_name=REGION,
    )
    engine = StackEngine(stack)
    engine.caller_arn = caller
    engine.start_create()
    settle(engine)
    return engine


def failure(engine: StackEngine, logical_id: str) -> str:
    reasons = [
        e.resource_status_reason
        for e in engine.stack.events
        if e.logical_resource_id == logical_id and e.resource_status == "CREATE_FAILED"
    ]
    assert len(reasons) == 1, f"{logical_id} did not fail once: {engine.stack.events}"
    return str(reasons[0])


def test_a_cluster_in_a_zone_eks_refuses_fails_with_the_eks_message() -> None:
    # us-east-1e is use1-az3 in moto's zone table, a zone EKS places no control plane in
    engine = run(cluster_stack(zones=("us-east-1a", "us-east-1e")))
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    reason = failure(engine, "Cluster")
    assert reason.startswith(
        "Resource handler returned message: \"Cannot create cluster 'local' because us-east-1e, the targeted "
        "availability zone, does not currently have sufficient capacity to support the cluster. Retry and choose "
        "from these availability zones: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f (Service: Eks, "
        "Status Code: 400, Error Code: UnsupportedAvailabilityZoneException"
    )


def test_a_version_the_local_control_plane_does_not_run_fails_with_a_clear_reason() -> None:
    engine = run(cluster_stack(version="1.33"))
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert failure(engine, "Cluster") == (
        "Kubernetes version 1.33 is not emulated: the local control plane runs Kubernetes v1.35.4 "
        "(k8s.io/kubernetes in scripts/local/cluster/k8s/go.mod), so local mode can stand in only for version 1.35; "
        "set Version to 1.35 or leave it out"
    )


def test_without_a_version_the_cluster_has_the_local_control_planes(local_cluster: Path) -> None:
    from moto.eks.models import eks_backends

    engine = run(cluster_stack())
    assert engine.stack.status == "CREATE_COMPLETE"
    assert eks_backends[ACCOUNT][REGION].describe_cluster("local").version == "1.35"
    # What is emulated is listed beside the configuration file, for npm start to print
    listed = json.loads((local_cluster.parent / "emulated.json").read_text())
    assert [(e["kind"], e["logicalResourceId"], e["physicalResourceId"]) for e in listed["emulations"]] == [
        ("eks-control-plane", "Cluster", "local")
    ]


def test_a_second_access_entry_for_a_principal_fails_with_409() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    engine = run(cluster_stack(entries=(role, role)))
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    failed = [e.logical_resource_id for e in engine.stack.events if e.resource_status == "CREATE_FAILED"]
    assert len(failed) == 1
    assert failure(engine, failed[0]).startswith(
        'Resource handler returned message: "The specified access entry resource is already in use on this '
        "cluster. (Service: Eks, Status Code: 409, Error Code: ResourceInUseException"
    )


def test_an_entry_for_the_cluster_creator_fails_when_eks_already_made_one() -> None:
    # The stack was created with an assumed role's credentials; EKS made that role's entry itself
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/session-1"
    engine = run(cluster_stack(entries=(f"arn:aws:iam::{ACCOUNT}:role/Deployer",)), caller=caller)
    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert "Status Code: 409, Error Code: ResourceInUseException" in failure(engine, "Entry0")
    # Told not to (BootstrapClusterCreatorAdminPermissions: false), EKS makes none, and the entry is the only one
    engine = run(cluster_stack(bootstrap=False, entries=(f"arn:aws:iam::{ACCOUNT}:role/Deployer",)), caller=caller)
    assert engine.stack.status == "CREATE_COMPLETE"
