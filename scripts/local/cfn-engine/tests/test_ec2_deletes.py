"""Deleting a stack removes from the local EC2 what EC2 itself removes with its resources: a NAT
gateway's network interface (and its Elastic IP's association), the interfaces an instance was
launched with unless the template keeps them, and the VPC endpoint."""

from __future__ import annotations

import textwrap

import pytest
from moto.ec2.models import ec2_backends

from tests.support import ACCOUNT, REGION, make_engine, settle

pytestmark = pytest.mark.usefixtures("aws")


def ec2() -> object:
    return ec2_backends[ACCOUNT][REGION]


def network() -> str:
    return textwrap.dedent("""
        VPC:
          Type: AWS::EC2::VPC
          Properties: {CidrBlock: 10.0.0.0/16}
        Subnet:
          Type: AWS::EC2::Subnet
          Properties: {VpcId: !Ref VPC, CidrBlock: 10.0.1.0/24, AvailabilityZone: eu-west-1a}
        Routes:
          Type: AWS::EC2::RouteTable
          Properties: {VpcId: !Ref VPC}
    """)


def delete(engine: object) -> None:
    engine.start_delete(lambda: None)  # type: ignore[attr-defined]
    assert settle(engine) == "DELETE_COMPLETE"  # type: ignore[arg-type]


def enis() -> list[str]:
    return sorted(ec2().enis)  # type: ignore[attr-defined]


def test_a_nat_gateway_and_a_vpc_endpoint_leave_no_interface_endpoint_or_association() -> None:
    template = "Resources:" + textwrap.indent(
        network()
        + textwrap.dedent("""
            Address:
              Type: AWS::EC2::EIP
              Properties: {Domain: vpc}
            Nat:
              Type: AWS::EC2::NatGateway
              Properties: {SubnetId: !Ref Subnet, AllocationId: !GetAtt Address.AllocationId}
            S3Endpoint:
              Type: AWS::EC2::VPCEndpoint
              Properties:
                VpcId: !Ref VPC
                VpcEndpointType: Gateway
                ServiceName: com.amazonaws.eu-west-1.s3
                RouteTableIds: [!Ref Routes]
        """),
        "  ",
    )
    engine = make_engine(template)
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    assert len(enis()) == 1
    assert len(ec2().vpc_end_points) == 1  # type: ignore[attr-defined]

    delete(engine)

    assert enis() == []
    assert ec2().vpc_end_points == {}  # type: ignore[attr-defined]
    assert [n.state for n in ec2().nat_gateways.values()] == ["deleted"]  # type: ignore[attr-defined]
    assert ec2().addresses == []  # type: ignore[attr-defined]


def test_an_instance_takes_the_interfaces_it_was_launched_with_unless_told_to_keep_them() -> None:
    backend = ec2()
    image = backend.describe_images()[0].id  # type: ignore[attr-defined]
    vpc = backend.create_vpc("10.1.0.0/16")  # type: ignore[attr-defined]
    subnet = backend.create_subnet(vpc.id, "10.1.1.0/24", availability_zone="eu-west-1a")  # type: ignore[attr-defined]
    template = textwrap.dedent(f"""
        Resources:
          InSubnet:
            Type: AWS::EC2::Instance
            Properties: {{ImageId: {image}, InstanceType: t3.micro, SubnetId: {subnet.id}}}
          StringTrue:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: {image}
              InstanceType: t3.micro
              NetworkInterfaces: [{{DeviceIndex: '0', SubnetId: {subnet.id}, DeleteOnTermination: 'true'}}]
          KeptByChoice:
            Type: AWS::EC2::Instance
            Properties:
              ImageId: {image}
              InstanceType: t3.micro
              NetworkInterfaces: [{{DeviceIndex: '0', SubnetId: {subnet.id}, DeleteOnTermination: false}}]
        """)
    engine = make_engine(template)
    engine.start_create()
    assert settle(engine) == "CREATE_COMPLETE"
    assert len(enis()) == 3
    kept = next(
        eni.id
        for eni in backend.enis.values()  # type: ignore[attr-defined]
        if eni.instance is not None and eni.instance.id == engine.resources["KeptByChoice"].physical_resource_id
    )

    delete(engine)

    assert enis() == [kept]
