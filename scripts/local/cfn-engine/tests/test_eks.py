"""EKS realities the engine keeps: zones EKS refuses, the Kubernetes version the local control plane
runs, one access entry per principal (the cluster creator's included), and a control plane of its own
for each cluster. In-process, with moto's in-memory EC2 and EKS backends and a local-mode configuration
file naming a control plane that is never called, or a real HTTP endpoint standing for the local
cloud's control-plane service (scripts/local/cluster/control-planes.ts)."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kubecfn_embedded import control_planes, emulations, handlers
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
    monkeypatch.setattr(control_planes, "_shared_owner", {})
    monkeypatch.setattr(control_planes, "_planes", {})
    monkeypatch.setattr(handlers, "_access_principals", {})
    emulations.reset()
    return path


def cluster_stack(
    zones: tuple[str, str] = ("us-east-1a", "us-east-1b"),
    version: str | None = None,
    bootstrap: bool = True,
    entries: tuple[str, ...] = (),
    name: str = "local",
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
              Name: {name}
              {version_line}
              RoleArn: arn:aws:iam::{ACCOUNT}:role/eks
              AccessConfig:
                AuthenticationMode: API_AND_CONFIG_MAP
                BootstrapClusterCreatorAdminPermissions: {str(bootstrap).lower()}
              ResourcesVpcConfig: {{SubnetIds: [!Ref SubnetA, !Ref SubnetB]}}{entry_text}
        """)


def run(text: str, caller: str | None = None, stack_name: str = "eks") -> StackEngine:
    stack = FakeStack(
        parse_template(text),
        name=stack_name,
        stack_id=f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/1",
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


class PlaneService:
    """A real HTTP endpoint answering as the local cloud's control-plane service: PUT gives each cluster
    a server of its own (https://127.0.0.1:<n>), DELETE forgets it; `fail` names clusters whose start fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.running: dict[str, str] = {}
        self.fail: set[str] = set()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                key = self.path.removeprefix("/clusters/")
                service.calls.append((method, key, self.headers.get("Authorization", "")))
                name = key.split("/")[-1]
                if method == "PUT":
                    if name in service.fail:
                        return self._answer(500, {"message": "kube-apiserver exited with code 1"})
                    server = service.running.setdefault(key, f"https://127.0.0.1:{7000 + len(service.running)}")
                    return self._answer(
                        200, {"server": server, "caData": f"PEM of {name}", "token": "t", "version": LOCAL_VERSION}
                    )
                if service.running.pop(key, None) is None:
                    return self._answer(404, {"stopped": False})
                return self._answer(200, {"stopped": True})

            def do_PUT(self) -> None:
                self._route("PUT")

            def do_DELETE(self) -> None:
                self._route("DELETE")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def planes(local_cluster: Path) -> Iterator[PlaneService]:
    """The configuration names a control-plane service (as npm start writes it) instead of one shared cluster."""
    service = PlaneService()
    local_cluster.write_text(
        json.dumps({"controlPlanes": {"endpoint": service.endpoint, "token": "secret", "version": LOCAL_VERSION}})
    )
    yield service
    service.server.shutdown()
    service.server.server_close()


def delete(engine: StackEngine) -> str:
    engine.start_delete(lambda: None)
    return settle(engine)


def test_each_cluster_gets_a_control_plane_of_its_own_and_loses_it_on_delete(planes: PlaneService) -> None:
    from moto.eks.models import eks_backends

    first = run(cluster_stack(name="first"), stack_name="one")
    second = run(cluster_stack(name="second"), stack_name="two")

    assert (first.stack.status, second.stack.status) == ("CREATE_COMPLETE", "CREATE_COMPLETE")
    eks = eks_backends[ACCOUNT][REGION]
    endpoints = {n: eks.describe_cluster(n).endpoint for n in ("first", "second")}
    assert endpoints == {n: planes.running[f"{ACCOUNT}/{REGION}/{n}"] for n in ("first", "second")}
    assert len(set(endpoints.values())) == 2
    assert eks.describe_cluster("second").certificate_authority["data"] == "UEVNIG9mIHNlY29uZA=="  # "PEM of second"
    assert {c[2] for c in planes.calls} == {"Bearer secret"}

    assert delete(first) == "DELETE_COMPLETE"

    assert [(m, k) for m, k, _ in planes.calls] == [
        ("PUT", f"{ACCOUNT}/{REGION}/first"),
        ("PUT", f"{ACCOUNT}/{REGION}/second"),
        ("DELETE", f"{ACCOUNT}/{REGION}/first"),
    ]
    assert list(planes.running) == [f"{ACCOUNT}/{REGION}/second"]
    assert control_planes.access((ACCOUNT, REGION, "first")) is None
    assert control_planes.access((ACCOUNT, REGION, "second")) is not None


def test_a_control_plane_that_does_not_start_fails_the_cluster_and_leaves_nothing(planes: PlaneService) -> None:
    from moto.ec2.models import ec2_backends
    from moto.eks.models import eks_backends

    planes.fail.add("local")

    engine = run(cluster_stack())

    assert engine.stack.status == "ROLLBACK_COMPLETE"
    assert failure(engine, "Cluster") == (
        "the local control plane of cluster local did not start: kube-apiserver exited with code 1"
    )
    assert eks_backends[ACCOUNT][REGION].list_clusters(max_results=100, next_token=None)[0] == []
    groups = ec2_backends[ACCOUNT][REGION].describe_security_groups()
    assert [g.name for g in groups if g.name.startswith("eks-cluster-sg-")] == []


def test_a_second_cluster_of_the_same_name_fails_without_touching_the_first_ones_control_plane(
    planes: PlaneService,
) -> None:
    first = run(cluster_stack(), stack_name="one")
    second = run(cluster_stack(), stack_name="two")

    assert (first.stack.status, second.stack.status) == ("CREATE_COMPLETE", "ROLLBACK_COMPLETE")
    assert "Cluster already exists with name: local" in failure(second, "Cluster")
    assert [(m, k) for m, k, _ in planes.calls] == [("PUT", f"{ACCOUNT}/{REGION}/local")]
    assert control_planes.access((ACCOUNT, REGION, "local")) is not None


def test_a_shared_control_plane_stands_for_one_cluster_at_a_time() -> None:
    first = run(cluster_stack(name="first"), stack_name="one")
    second = run(cluster_stack(name="second"), stack_name="two")

    assert (first.stack.status, second.stack.status) == ("CREATE_COMPLETE", "ROLLBACK_COMPLETE")
    assert failure(second, "Cluster") == (
        "Local mode runs one control plane, already standing for cluster first; cannot create cluster second"
    )
    # Once the first is deleted the control plane is free again
    assert delete(first) == "DELETE_COMPLETE"
    assert run(cluster_stack(name="third"), stack_name="three").stack.status == "CREATE_COMPLETE"
