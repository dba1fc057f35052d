"""What each resource type does in the embedded engine.

- AWS::CloudFormation::Stack: a real nested stack of this engine (its own events, outputs, rollback).
- Custom::* / AWS::CloudFormation::CustomResource: the custom-resource protocol against the local
  Lambda service (custom_resources.py): Create, Update (with replacement) and Delete.
- AWS::EKS::Cluster: a cluster record in moto's EKS backend whose endpoint and CA are those of a local
  control plane of its own (control_planes.py: started at create, stopped at delete), and an entry in
  the providers' KUBECFN_CLUSTER_ACCESS file (removed on delete).
- AWS::EKS::Nodegroup: moto's node group plus fake (kwok) Nodes with the group's labels and taints, in
  its cluster's control plane.
- AWS::EKS::Addon / AccessEntry / PodIdentityAssociation / FargateProfile: records (the local
  control plane already has networking and admits the providers' token).
- Types moto's CloudFormation support models (EC2, IAM, Lambda, KMS, EFS, Logs, ...): created in
  moto's backends through moto's own models; replaced when a create-only property of the type's
  schema changes (schemas.py), updated in place through moto otherwise.
- Anything else fails closed: the resource fails with a reason that says the type is not emulated.
  So does an attribute nobody models, and an in-place update or a delete moto cannot do.

What is emulated rather than real is noted through emulations.py (listed at the end of npm start).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from . import config, control_planes, custom_resources, emulations, kube
from .engine import require_engine
from .errors import ResourceFailure, UpdateRefused
from .schemas import schema_of

if TYPE_CHECKING:
    from moto.cloudformation.models import Stack

    from .engine import ResourceState, StackEngine


def not_emulated_attribute(state: ResourceState, attribute: str) -> ResourceFailure:
    return ResourceFailure(
        f"Fn::GetAtt {state.logical_resource_id}.{attribute}: attribute {attribute} of {state.cf_resource_type} is not "
        "emulated by the local engine (no value is made up for it)"
    )


class Handler:
    """What every handler shares: an update compares the resolved properties, attributes come from
    what create() recorded, and nothing else is made up."""

    def needs_update(self, engine: StackEngine, state: ResourceState, props: dict[str, Any]) -> bool:
        """Whether an update of the stack has anything to do for this resource."""
        return props != state.properties

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        """Returns 'updated', 'replaced' (a new physical resource; the old one is deleted at cleanup) or 'unchanged'."""
        state.properties = props
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        return None

    def get_att(self, engine: StackEngine, state: ResourceState, attribute: str) -> Any:
        if attribute in state.attributes:
            return state.attributes[attribute]
        raise not_emulated_attribute(state, attribute)


class NotEmulatedHandler(Handler):
    """A type CloudFormation knows but neither moto nor the engine models: it fails, never pretends."""

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        raise ResourceFailure(
            f"Resource type {state.cf_resource_type} is not emulated by the local engine: neither moto nor kubecfn's "
            "engine models it, so local mode cannot create it (see scripts/local/README.md, Emulated)"
        )

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        raise ResourceFailure(f"Updating {state.cf_resource_type} is not emulated by the local engine")

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        raise ResourceFailure(
            f"Deleting {state.cf_resource_type} is not emulated by the local engine: {state.physical_resource_id} "
            "may still exist"
        )


# ---------------------------------------------------------------------------- moto-backed
class MotoHandler(Handler):
    """Creates the resource in moto's backend with moto's CloudFormation model for the type."""

    def __init__(self, model: Any):
        self.model = model

    def _name(self, engine: StackEngine, state: ResourceState, props: dict[str, Any]) -> str:
        from moto.cloudformation.parsing import generate_resource_name, resource_name_property_from_type

        name_property = resource_name_property_from_type(state.cf_resource_type)
        if name_property and props.get(name_property):
            return str(props[name_property])
        return generate_resource_name(state.cf_resource_type, engine.stack.name, state.logical_resource_id)

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        from moto.ec2.models import ec2_backends
        from moto.ec2.models.core import TaggedEC2Resource

        name = self._name(engine, state, props)
        prepare = _PREPARE.get(state.cf_resource_type)
        if prepare is not None:
            props = prepare(engine, props)
        cfn_json = {"Type": state.cf_resource_type, "Properties": props}
        for key in ("DependsOn", "Metadata", "DeletionPolicy"):
            if key in body:
                cfn_json[key] = body[key]
        try:
            instance = self.model.create_from_cloudformation_json(
                name,
                cfn_json,
                engine.account_id,
                engine.region,
                LogicalId=state.logical_resource_id,
                StackId=engine.stack.stack_id,
                ResourceType=state.cf_resource_type,
            )
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        instance.cf_resource_type = state.cf_resource_type
        instance.logical_resource_id = state.logical_resource_id
        state.handle = {"instance": instance, "name": name, "json": cfn_json}
        state.physical_resource_id = _physical_id(instance, name)
        if state.cf_resource_type == "AWS::EC2::Instance":
            _launch_interfaces_go_with_the_instance(instance, props)
            emulations.note(
                engine,
                state,
                "ec2-instance",
                "an EC2 instance record in moto: it never boots, its UserData never runs, nothing can reach it",
            )
        taggable = isinstance(instance, TaggedEC2Resource)
        if taggable:
            tags = {
                "aws:cloudformation:stack-name": engine.stack.name,
                "aws:cloudformation:stack-id": engine.stack.stack_id,
                "aws:cloudformation:logical-id": state.logical_resource_id,
            }
            with contextlib.suppress(Exception):  # some EC2 models are not taggable in moto
                ec2_backends[engine.account_id][engine.region].create_tags([instance.physical_resource_id], tags)

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        schema = schema_of(state.cf_resource_type, engine.region)
        if schema is None:
            raise ResourceFailure(f"Updating {state.cf_resource_type} is not emulated: the type has no resource schema")
        replacing = schema.replacing_changes(previous.properties, props)
        if replacing:
            # Requires replacement (a create-only property changed): the new one first, the old one
            # goes in the cleanup phase.
            self._refuse_custom_name_replacement(state, previous, props)
            self.create(engine, state, props, body)
            return "replaced"
        changed = sorted(k for k in set(props) | set(previous.properties) if props.get(k) != previous.properties.get(k))
        original = (state.handle or {}).get("instance")
        in_place = _in_place_updater(state.cf_resource_type, original, changed)
        if in_place is not None:
            try:
                in_place(engine, state, previous.properties, props)
            except ResourceFailure:
                raise
            except Exception as err:
                raise ResourceFailure(_aws_message(err)) from err
            return "updated"
        name = self._name(engine, state, props)
        cfn_json = {"Type": state.cf_resource_type, "Properties": props}
        updater = getattr(self.model, "update_from_cloudformation_json", None)
        if (
            original is None
            or updater is None
            or getattr(updater, "__isabstractmethod__", False)
            or state.cf_resource_type in _RECREATING_UPDATERS
        ):
            raise UpdateRefused(
                f"Updating {', '.join(changed)} of {state.cf_resource_type} in place is not emulated by the local "
                "engine (moto cannot update the type without replacing it; in AWS the change needs no replacement)"
            )
        try:
            instance = updater(
                original_resource=original,
                new_resource_name=name,
                cloudformation_json=cfn_json,
                account_id=engine.account_id,
                region_name=engine.region,
            )
        except NotImplementedError as err:
            raise ResourceFailure(
                f"Updating {', '.join(changed)} of {state.cf_resource_type} in place is not emulated by the local "
                f"engine ({err})"
            ) from err
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        instance.cf_resource_type = state.cf_resource_type
        instance.logical_resource_id = state.logical_resource_id
        state.handle = {"instance": instance, "name": name, "json": cfn_json}
        state.physical_resource_id = _physical_id(instance, name)
        return "updated"

    def _refuse_custom_name_replacement(
        self, state: ResourceState, previous: ResourceState, props: dict[str, Any]
    ) -> None:
        """CloudFormation does not replace a resource whose custom name stays: the two would collide."""
        from moto.cloudformation.parsing import resource_name_property_from_type

        name_property = resource_name_property_from_type(state.cf_resource_type)
        if (
            name_property
            and props.get(name_property)
            and props.get(name_property) == previous.properties.get(name_property)
        ):
            raise UpdateRefused(
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename "
                f"{props[name_property]} and update the stack again."
            )

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        handle = state.handle or {}
        instance = handle.get("instance")
        if instance is None:
            return
        last: Exception | None = None
        # Dependencies inside moto (an ENI still attached ...) can take a moment to clear.
        for attempt in range(5):
            try:
                backend_delete = _BACKEND_DELETERS.get(state.cf_resource_type)
                if backend_delete is not None:
                    backend_delete(_ec2(engine), engine, state, instance)
                    return
                try:
                    instance.delete(engine.account_id, engine.region)
                except (TypeError, AttributeError):
                    deleter = getattr(self.model, "delete_from_cloudformation_json", None)
                    if deleter is None or getattr(deleter, "__isabstractmethod__", False):
                        raise ResourceFailure(
                            f"Deleting {state.cf_resource_type} is not emulated by the local engine (moto has no "
                            f"delete for the type): {state.physical_resource_id} is left in moto"
                        ) from None
                    deleter(state.physical_resource_id, handle.get("json") or {}, engine.account_id, engine.region)
                return
            except ResourceFailure:
                raise
            except Exception as err:
                if _is_gone(err):
                    return
                last = err
                time.sleep(0.5 * (attempt + 1))
        raise ResourceFailure(_aws_message(last) if last else "delete failed")

    def get_att(self, engine: StackEngine, state: ResourceState, attribute: str) -> Any:
        instance = (state.handle or {}).get("instance")
        if instance is not None:
            try:
                value = instance.get_cfn_attribute(attribute)
                if value is not None:
                    return value
            except Exception:
                pass
        return super().get_att(engine, state, attribute)


def _update_ec2_tags(engine: StackEngine, state: ResourceState, old: dict[str, Any], new: dict[str, Any]) -> None:
    ec2 = _ec2(engine)
    resource_id = state.physical_resource_id
    before = {t["Key"]: t.get("Value", "") for t in old.get("Tags") or []}
    after = {t["Key"]: t.get("Value", "") for t in new.get("Tags") or []}
    gone = [k for k in before if k not in after]
    if gone:
        ec2.delete_tags([resource_id], {k: before[k] for k in gone})
    if after:
        ec2.create_tags([resource_id], after)
    state.properties = new


def _update_log_group(engine: StackEngine, state: ResourceState, old: dict[str, Any], new: dict[str, Any]) -> None:
    from moto.logs.models import logs_backends

    logs = logs_backends[engine.account_id][engine.region]
    name = str(state.physical_resource_id)
    days = new.get("RetentionInDays")
    if days is None:
        logs.delete_retention_policy(name)
    else:
        logs.put_retention_policy(name, days)
    state.properties = new


def _in_place_updater(resource_type: str, instance: Any, changed: list[str]) -> Any:
    """An update the engine does through moto's backend API, as the service would (None: none fits)."""
    from moto.ec2.models.core import TaggedEC2Resource

    if changed == ["Tags"] and isinstance(instance, TaggedEC2Resource):
        return _update_ec2_tags
    if resource_type == "AWS::Logs::LogGroup" and changed == ["RetentionInDays"]:
        return _update_log_group
    return None


# moto's updaters of these types delete the resource and make a new one with a new id: an update
# that needs no replacement in AWS would change the physical id and break what refers to it.
_RECREATING_UPDATERS = {"AWS::EC2::SecurityGroup", "AWS::SSM::Document"}


def user_data_of(state: ResourceState) -> str | None:
    """The script an instance would run at boot: its UserData (or its launch template's), decoded."""
    handle = state.handle if isinstance(state.handle, dict) else {}
    raw = ((handle.get("json") or {}).get("Properties") or {}).get("UserData")
    if not raw:
        return None
    try:
        return base64.b64decode(str(raw), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return str(raw)


_CFN_SIGNAL = re.compile(r"(?:^|[\s;&|(/])cfn-signal(?=[\s'\"])(?P<args>[^\n]*)")
_RESOURCE_ARG = re.compile(r"(?:--resource(?:=|\s+)|-r\s+)['\"]?(?P<name>[^'\"\s;]+)")


def runs_cfn_signal(script: str, logical_id: str) -> bool:
    """Whether a boot script calls cfn-signal for this resource (outside comments)."""
    for line in script.splitlines():
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        for match in _CFN_SIGNAL.finditer(code):
            named = _RESOURCE_ARG.search(match.group("args"))
            if named is None or named.group("name") == logical_id:
                return True
    return False


def _physical_id(instance: Any, name: str) -> str:
    """What Ref returns: moto's physical id, else the ARN (layer versions), else the name."""
    for attribute in ("physical_resource_id", "arn", "name"):
        value = getattr(instance, attribute, None)
        if value:
            return str(value)
    return name


def _ec2(engine: StackEngine) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[engine.account_id][engine.region]


def _detach_gateway(ec2: Any, engine: StackEngine, state: ResourceState, instance: Any) -> None:
    props = state.properties
    if props.get("InternetGatewayId"):
        ec2.detach_internet_gateway(props["InternetGatewayId"], props["VpcId"])
    elif props.get("VpnGatewayId"):
        ec2.detach_vpn_gateway(props["VpnGatewayId"], props["VpcId"])


def _delete_layer_version(ec2: Any, engine: StackEngine, state: ResourceState, instance: Any) -> None:
    from moto.awslambda.models import lambda_backends

    lambda_backends[engine.account_id][engine.region].delete_layer_version(instance.name, str(instance.version))


def _instance_from_launch_template(engine: StackEngine, props: dict[str, Any]) -> dict[str, Any]:
    """EC2 takes an instance's image, type, profile and user data from its launch template, and its
    subnet from its network interfaces; moto's Instance model reads only the top-level properties."""
    props = dict(props)
    template = props.get("LaunchTemplate") or {}
    template_id = template.get("LaunchTemplateId") or template.get("LaunchTemplateName")
    if template_id:
        ec2 = _ec2(engine)
        try:
            lt = (
                ec2.get_launch_template(template_id)
                if str(template_id).startswith("lt-")
                else ec2.get_launch_template_by_name(template_id)
            )
            data = lt.get_version(template.get("Version") or lt.latest_version_number).data
        except Exception as err:
            raise ResourceFailure(
                f"LaunchTemplate: {template_id} version {template.get('Version')} not found ({err})"
            ) from err
        for key in ("ImageId", "InstanceType", "UserData", "KeyName"):
            if key not in props and data.get(key):
                props[key] = data[key]
        profile = data.get("IamInstanceProfile") or {}
        if "IamInstanceProfile" not in props and profile:
            props["IamInstanceProfile"] = profile.get("Name") or str(profile.get("Arn", "")).rsplit("/", 1)[-1]
    interfaces = props.get("NetworkInterfaces") or []
    if interfaces and "SubnetId" not in props and interfaces[0].get("SubnetId"):
        props["SubnetId"] = interfaces[0]["SubnetId"]
    if "ImageId" not in props:
        raise ResourceFailure("ImageId: required (directly or through LaunchTemplate)")
    return props


_PREPARE: dict[str, Any] = {"AWS::EC2::Instance": _instance_from_launch_template}


def _launch_interfaces_go_with_the_instance(instance: Any, props: dict[str, Any]) -> None:
    """EC2 deletes the network interfaces it made at launch when the instance terminates, unless the
    template says `DeleteOnTermination: false`. moto deletes one only when DeleteOnTermination was given
    as a boolean true, so the primary interface of an instance launched into a subnet (and any given as
    the string "true") would outlive it. (moto's CloudFormation model makes every interface at launch:
    it reads no `NetworkInterfaces`, the engine only takes the subnet from them.)"""
    specs = {int(n.get("DeviceIndex", 0)): n for n in props.get("NetworkInterfaces") or [] if isinstance(n, dict)}
    for device_index, nic in (getattr(instance, "nics", None) or {}).items():
        spec = specs.get(int(device_index), {})
        nic.delete_on_termination = str(spec.get("DeleteOnTermination", True)).lower() != "false"


def _delete_nat_gateway(ec2: Any, engine: StackEngine, state: ResourceState, instance: Any) -> None:
    """DeleteNatGateway: the gateway stays listed as `deleted` for a while, as in AWS; its network
    interface goes and its Elastic IP is disassociated (moto keeps both)."""
    nat = ec2.nat_gateways.get(state.physical_resource_id)
    if nat is None or nat.state == "deleted":
        return
    ec2.delete_nat_gateway(state.physical_resource_id)
    eni = getattr(nat, "_eni", None)
    if eni is None:
        return
    for address in list(ec2.addresses):
        if address.eni is eni:
            ec2.disassociate_address(address=address.public_ip)
    ec2.enis.pop(eni.id, None)


def _delete_vpc_endpoint(ec2: Any, engine: StackEngine, state: ResourceState, instance: Any) -> None:
    """DeleteVpcEndpoints: an interface endpoint's network interfaces and a gateway endpoint's routes
    go (moto does both), and so does the endpoint: moto keeps it listed as `deleted` for good."""
    if state.physical_resource_id not in ec2.vpc_end_points:
        return
    ec2.delete_vpc_endpoints([state.physical_resource_id])
    ec2.vpc_end_points.pop(state.physical_resource_id, None)


# moto 5.2 models these types for creation but cannot delete them through CloudFormation: its
# ResourceMap skips them silently, which would leave route tables behind and make the VPC's
# deletion fail. The engine deletes them through the EC2/Lambda backends, as the services would.
_BACKEND_DELETERS: dict[str, Any] = {
    "AWS::EC2::EIP": lambda ec2, e, s, i: (
        ec2.release_address(allocation_id=getattr(i, "allocation_id", None))
        if getattr(i, "allocation_id", None)
        else ec2.release_address(address=s.physical_resource_id)
    ),
    "AWS::EC2::FlowLog": lambda ec2, e, s, i: ec2.delete_flow_logs([s.physical_resource_id]),
    "AWS::EC2::InternetGateway": lambda ec2, e, s, i: ec2.delete_internet_gateway(s.physical_resource_id),
    "AWS::EC2::NatGateway": _delete_nat_gateway,
    "AWS::EC2::Route": lambda ec2, e, s, i: ec2.delete_route(
        s.properties["RouteTableId"],
        s.properties.get("DestinationCidrBlock"),
        s.properties.get("DestinationIpv6CidrBlock"),
    ),
    "AWS::EC2::RouteTable": lambda ec2, e, s, i: ec2.delete_route_table(s.physical_resource_id),
    "AWS::EC2::SubnetRouteTableAssociation": lambda ec2, e, s, i: ec2.disassociate_route_table(
        getattr(i, "id", s.physical_resource_id)
    ),
    "AWS::EC2::VPCEndpoint": _delete_vpc_endpoint,
    "AWS::EC2::VPCGatewayAttachment": _detach_gateway,
    "AWS::Lambda::LayerVersion": _delete_layer_version,
    # Rules go with their security group.
    "AWS::EC2::SecurityGroupIngress": lambda ec2, e, s, i: None,
}


def _aws_message(err: BaseException) -> str:
    code = getattr(err, "code", None) or getattr(err, "error_type", None)
    message = getattr(err, "message", None) or str(err) or type(err).__name__
    return f"{message} (Service: moto; Error Code: {code})" if code else message


def _is_gone(err: BaseException) -> bool:
    text = f"{getattr(err, 'code', '')} {err}"
    return any(s in text for s in ("NotFound", "does not exist", "NoSuchEntity"))


# ---------------------------------------------------------------------------- nested stacks
class NestedStackHandler(Handler):
    def needs_update(self, engine: StackEngine, state: ResourceState, props: dict[str, Any]) -> bool:
        # The child template behind an unchanged TemplateURL may have changed: compare its text too.
        child = _child_stack(state)
        return child.template != self._template(engine, props) or require_engine(
            child
        ).input_parameters != self._parameters(props)

    def _parameters(self, props: dict[str, Any]) -> dict[str, str]:
        params = props.get("Parameters") or {}
        out = {}
        for key, value in params.items():
            if isinstance(value, list):
                raise ResourceFailure(f"Parameters: value of {key} must be a string, got a list (use Fn::Join)")
            out[key] = "true" if value is True else "false" if value is False else str(value)
        return out

    def _template(self, engine: StackEngine, props: dict[str, Any]) -> str:
        from .template import fetch_template

        url = props.get("TemplateURL")
        if not url:
            raise ResourceFailure("TemplateURL: required property is missing")
        try:
            return fetch_template(url, engine.account_id, "aws")
        except Exception as err:
            raise ResourceFailure(str(getattr(err, "message", err))) from err

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        from moto.cloudformation.models import cloudformation_backends

        from .engine import random_suffix

        text = self._template(engine, props)
        backend = cloudformation_backends[engine.account_id][engine.region]
        name = f"{engine.stack.name}-{state.logical_resource_id}-{random_suffix()}"[:128]
        try:
            child = backend.create_stack(
                name=name, template=text, parameters=self._parameters(props), tags=dict(engine.stack.tags or {})
            )
        except Exception as err:
            raise ResourceFailure(str(getattr(err, "message", err))) from err
        child_engine = require_engine(child)
        child_engine.parent = engine
        child_engine.disable_rollback = engine.disable_rollback
        state.handle = child
        state.physical_resource_id = child.stack_id
        engine.event(state, "CREATE_IN_PROGRESS", "Resource creation Initiated")
        status = child_engine.wait_settled()
        if status != "CREATE_COMPLETE":
            reason = child_engine.status_reason or status
            raise ResourceFailure(f"Embedded stack {child.stack_id} was not successfully created: {reason}")

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        from .template import parse_template

        child = _child_stack(state)
        child_engine = require_engine(child)
        text = self._template(engine, props)
        params = self._parameters(props)
        try:
            child.template = text
            child._parse_template()
            child_engine.start_update(parse_template(text), params)
        except Exception as err:
            raise ResourceFailure(str(getattr(err, "message", err))) from err
        status = child_engine.wait_settled()
        if status != "UPDATE_COMPLETE":
            raise ResourceFailure(
                f"Embedded stack {child.stack_id} was not successfully updated. Currently in {status} with reason: "
                f"{child_engine.status_reason}"
            )
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        from moto.cloudformation.models import cloudformation_backends

        if state.handle is None:
            return
        child = _child_stack(state)
        if child.status == "DELETE_COMPLETE":
            return
        child_engine = require_engine(child)
        backend = cloudformation_backends[engine.account_id][engine.region]
        backend.delete_stack(child.stack_id)
        status = child_engine.wait_settled()
        if status != "DELETE_COMPLETE":
            raise ResourceFailure(
                f"Embedded stack {child.stack_id} was not successfully deleted: {child_engine.status_reason or status}"
            )

    def get_att(self, engine: StackEngine, state: ResourceState, attribute: str) -> Any:
        child = _child_stack(state)
        if attribute.startswith("Outputs."):
            key = attribute[len("Outputs.") :]
            for output in require_engine(child).outputs:
                if output["OutputKey"] == key:
                    return output["OutputValue"]
            raise ResourceFailure(
                f"Template error: stack {child.name} has no output {key} (Fn::GetAtt "
                f"{state.logical_resource_id}.{attribute})"
            )
        raise ResourceFailure(
            f"Template error: resource {state.logical_resource_id} does not support attribute type {attribute} in "
            "Fn::GetAtt"
        )


def _child_stack(state: ResourceState) -> Stack:
    """The moto stack a nested stack resource made (its handle)."""
    from moto.cloudformation.models import Stack

    child: object = state.handle
    if not isinstance(child, Stack):
        raise ResourceFailure(f"Template error: nested stack {state.logical_resource_id} has no stack")
    return child


# ---------------------------------------------------------------------------- custom resources
class CustomResourceHandler(Handler):
    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        try:
            answer = custom_resources.send(
                account_id=engine.account_id,
                region=engine.region,
                stack_id=engine.stack.stack_id,
                logical_id=state.logical_resource_id,
                resource_type=state.cf_resource_type,
                request_type="Create",
                properties=props,
            )
        except custom_resources.CustomResourceFailed as failed:
            state.physical_resource_id = failed.physical_id
            raise
        state.physical_resource_id = answer["PhysicalResourceId"]
        state.attributes = dict(answer["Data"])

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        if props.get("ServiceToken") != previous.properties.get("ServiceToken"):
            raise UpdateRefused("Modifying service token is not allowed.")
        answer = custom_resources.send(
            account_id=engine.account_id,
            region=engine.region,
            stack_id=engine.stack.stack_id,
            logical_id=state.logical_resource_id,
            resource_type=state.cf_resource_type,
            request_type="Update",
            properties=props,
            physical_id=previous.physical_resource_id,
            old_properties=previous.properties,
        )
        state.attributes = dict(answer["Data"])
        if answer["PhysicalResourceId"] != previous.physical_resource_id:
            state.physical_resource_id = answer["PhysicalResourceId"]
            return "replaced"
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        custom_resources.send(
            account_id=engine.account_id,
            region=engine.region,
            stack_id=engine.stack.stack_id,
            logical_id=state.logical_resource_id,
            resource_type=state.cf_resource_type,
            request_type="Delete",
            properties=state.properties,
            physical_id=state.physical_resource_id,
        )

    def get_att(self, engine: StackEngine, state: ResourceState, attribute: str) -> Any:
        if attribute in state.attributes:
            return state.attributes[attribute]
        raise ResourceFailure(
            f"CustomResource attribute error: Vendor response doesn't contain {attribute} key in object "
            f"{engine.stack.stack_id}|{state.logical_resource_id}"
        )


# ---------------------------------------------------------------------------- EKS
_eks_lock = threading.Lock()


def _eks_backend(engine: StackEngine) -> Any:
    from moto.eks.models import eks_backends

    return eks_backends[engine.account_id][engine.region]


def _write_cluster_access(name: str, plane: dict[str, str] | None) -> None:
    """Adds (or with None removes) the cluster's entry in the providers' KUBECFN_CLUSTER_ACCESS file."""
    path = config.load().get("clusterAccessFile")
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError):
        entries = {}
    if plane:
        entries[name] = {"server": plane["server"], "caData": plane["caData"], "token": plane["token"]}
    else:
        entries.pop(name, None)
    tmp = f"{path}.{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _lower_keys(value: Any) -> Any:
    """CloudFormation's PascalCase property names -> the EKS API's camelCase."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() == "true"


# The principals with an access entry, by (account, region, cluster name): EKS allows one entry per principal.
_access_principals: dict[tuple[str, str, str], set[str]] = {}
# What the local EKS authenticator maps principals by (scripts/local/aws/eks-authenticator.ts): each cluster's
# authentication mode and access entries with their access policies, by (account, region, cluster name).
_access_entries: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
_authentication_modes: dict[tuple[str, str, str], str] = {}
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _access_entry(principal: str, props: dict[str, Any]) -> dict[str, Any]:
    """An AWS::EKS::AccessEntry's properties as the EKS API records them."""
    policies = []
    for association in props.get("AccessPolicies") or []:
        scope = association.get("AccessScope") or {}
        policies.append(
            {
                "policyArn": str(association.get("PolicyArn")),
                "accessScope": {
                    "type": str(scope.get("Type") or "cluster"),
                    "namespaces": [str(n) for n in scope.get("Namespaces") or []],
                },
            }
        )
    entry: dict[str, Any] = {
        "principalArn": principal,
        "type": str(props.get("Type") or "STANDARD"),
        "kubernetesGroups": [str(g) for g in props.get("KubernetesGroups") or []],
        "accessPolicies": policies,
    }
    if props.get("Username"):
        entry["username"] = str(props["Username"])
    return entry


def _write_eks_access() -> None:
    """Writes every cluster's access entries for the local EKS authenticator (config key eksAccessFile)."""
    path = config.load().get("eksAccessFile")
    if not path:
        return
    # The snapshot and the replace under one lock: two access entries created at once (the providers'
    # two, in parallel) would otherwise let the older snapshot land last and drop the newer entry.
    with _eks_lock:
        clusters = {
            name: {
                "authenticationMode": _authentication_modes.get((account, region, name), "CONFIG_MAP"),
                "accessEntries": list(_access_entries.get((account, region, name), {}).values()),
            }
            for (account, region, name) in _authentication_modes
        }
        tmp = f"{path}.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"clusters": clusters}, f)
        os.replace(tmp, path)


# Zones where EKS does not place control planes (UnsupportedAvailabilityZoneException), by zone id.
UNSUPPORTED_EKS_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


def _cluster_key(engine: StackEngine, name: str) -> tuple[str, str, str]:
    return (engine.account_id, engine.region, name)


def _eks_error(message: str, status: int, code: str, handler_code: str) -> ResourceFailure:
    """An EKS API error as CloudFormation's EKS resource handler reports it."""
    return ResourceFailure(
        f'Resource handler returned message: "{message} (Service: Eks, Status Code: {status}, Error Code: {code}, '
        f'Request ID: {uuid.uuid4()})" (HandlerErrorCode: {handler_code})'
    )


def _minor(version: str) -> str:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return f"{match.group(1)}.{match.group(2)}" if match else version.strip()


def _cluster_version(props: dict[str, Any]) -> str:
    """The cluster's Kubernetes minor: what the template asks for, which must be what the local control
    planes run (their default when the template does not say, as EKS defaults to a version it runs)."""
    running = control_planes.running_version()
    if not running:
        raise ResourceFailure(
            "local mode is not configured: the local control planes' version ('controlPlanes.version') is missing from "
            f"{os.environ.get('KUBECFN_EMBEDDED_CONFIG')} (start the stack with npm start)"
        )
    wanted = str(props.get("Version") or _minor(running))
    if _minor(wanted) != _minor(running) or not re.fullmatch(r"\d+\.\d+", wanted):
        raise ResourceFailure(
            f"Kubernetes version {wanted} is not emulated: the local control plane runs Kubernetes {running} "
            f"(k8s.io/kubernetes in scripts/local/cluster/k8s/go.mod), so local mode can stand in only for version "
            f"{_minor(running)}; set Version to {_minor(running)} or leave it out"
        )
    return wanted


def _refuse_unsupported_zones(engine: StackEngine, ec2: Any, name: str, subnets: list[str]) -> None:
    refused = []
    for subnet_id in subnets:
        subnet = ec2.get_subnet(subnet_id)
        if subnet.availability_zone_id in UNSUPPORTED_EKS_ZONE_IDS:
            refused.append(subnet.availability_zone)
    if not refused:
        return
    usable = sorted(
        z.name for z in ec2.describe_availability_zones() if getattr(z, "zone_id", "") not in UNSUPPORTED_EKS_ZONE_IDS
    )
    raise _eks_error(
        f"Cannot create cluster '{name}' because {', '.join(sorted(set(refused)))}, the targeted availability zone, "
        "does not currently have sufficient capacity to support the cluster. Retry and choose from these "
        f"availability zones: {', '.join(usable)}",
        400,
        "UnsupportedAvailabilityZoneException",
        "InvalidRequest",
    )


class EksClusterHandler(Handler):
    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        from moto.ec2.models import ec2_backends

        from .engine import random_suffix

        name = props.get("Name") or f"{state.logical_resource_id}-{random_suffix(12).lower()}"
        version = _cluster_version(props)
        key = _cluster_key(engine, name)
        vpc_config = props.get("ResourcesVpcConfig") or {}
        subnets = vpc_config.get("SubnetIds") or []
        if len(subnets) < 2:
            raise ResourceFailure(
                "ResourcesVpcConfig.SubnetIds: subnets in at least two different Availability Zones are required"
            )
        ec2 = ec2_backends[engine.account_id][engine.region]
        try:
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id
        except Exception:
            raise ResourceFailure(f"ResourcesVpcConfig.SubnetIds: subnet {subnets[0]} does not exist") from None
        zones = {ec2.get_subnet(s).availability_zone for s in subnets}
        _refuse_unsupported_zones(engine, ec2, name, subnets)
        if len(zones) < 2:
            raise ResourceFailure(
                "ResourcesVpcConfig.SubnetIds: subnets specified must be in at least two different AZs"
            )
        # EKS makes a cluster security group for the control plane and managed nodes.
        group = ec2.create_security_group(
            name=f"eks-cluster-sg-{name}-{random_suffix(10).lower()}",
            description=(
                "EKS created security group applied to ENI that is attached to EKS Control Plane master "
                "nodes, as well as any managed workloads."
            ),
            vpc_id=vpc_id,
            tags={"aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
        )
        eks = _eks_backend(engine)
        api_vpc = {
            "subnetIds": subnets,
            "securityGroupIds": vpc_config.get("SecurityGroupIds") or [],
            "clusterSecurityGroupId": group.id,
            "vpcId": vpc_id,
            "endpointPublicAccess": _bool(vpc_config.get("EndpointPublicAccess"), True),
            "endpointPrivateAccess": _bool(vpc_config.get("EndpointPrivateAccess"), False),
            "publicAccessCidrs": vpc_config.get("PublicAccessCidrs") or ["0.0.0.0/0"],
        }
        try:
            # moto refuses a name in use (ResourceInUseException) before any control plane starts.
            cluster = eks.create_cluster(
                name=name,
                role_arn=props.get("RoleArn", ""),
                resources_vpc_config=api_vpc,
                version=version,
                kubernetes_network_config=_lower_keys(props.get("KubernetesNetworkConfig")) or None,
                logging=_lower_keys(props.get("Logging")) or None,
                tags={t["Key"]: t["Value"] for t in props.get("Tags") or []},
                encryption_config=_lower_keys(props.get("EncryptionConfig")) or None,
            )
        except Exception as err:
            ec2.delete_security_group(group_id=group.id)
            raise ResourceFailure(_aws_message(err)) from err
        started = False
        try:
            # The cluster's API is a local control plane of its own.
            plane = control_planes.start(key, f"{engine.stack.stack_id}/{state.logical_resource_id}")
            started = True
            cluster.endpoint = plane["server"]
            cluster.certificate_authority = {"data": base64.b64encode(plane["caData"].encode()).decode()}
            cluster.access_config = _lower_keys(props.get("AccessConfig") or {})
            with _eks_lock:
                principals = _access_principals.setdefault(key, set())
                principals.clear()
                creator = engine.caller_principal()
                entries = _access_entries.setdefault(key, {})
                entries.clear()
                # The EKS API's default when AccessConfig leaves the mode out.
                _authentication_modes[key] = str(
                    (props.get("AccessConfig") or {}).get("AuthenticationMode") or "CONFIG_MAP"
                )
                # EKS gives the principal that created the cluster an access entry unless told not to.
                if creator and _bool(
                    (props.get("AccessConfig") or {}).get("BootstrapClusterCreatorAdminPermissions"), True
                ):
                    principals.add(creator)
                    entries[creator] = _access_entry(
                        creator,
                        {"AccessPolicies": [{"PolicyArn": CLUSTER_ADMIN_POLICY, "AccessScope": {"Type": "cluster"}}]},
                    )
            _write_cluster_access(name, plane)
            _write_eks_access()
        except Exception:
            # Nothing half-made stays: no control plane, no record, no security group.
            if started:
                with contextlib.suppress(Exception):
                    control_planes.stop(key)
            with _eks_lock:
                _access_principals.pop(key, None)
                _access_entries.pop(key, None)
                _authentication_modes.pop(key, None)
            with contextlib.suppress(Exception):
                _write_cluster_access(name, None)
                _write_eks_access()
            with contextlib.suppress(Exception):
                eks.delete_cluster(name)
            with contextlib.suppress(Exception):
                ec2.delete_security_group(group_id=group.id)
            raise
        state.physical_resource_id = name
        emulations.note(
            engine,
            state,
            "eks-control-plane",
            f"EKS cluster {name} is a local control plane of its own (Kubernetes {plane.get('version')}) at "
            f"{plane['server']}; its VPC placement, endpoint access settings, logging and encryption are recorded, "
            "not applied",
        )
        key_arn = ""
        for entry in props.get("EncryptionConfig") or []:
            key_arn = (entry.get("Provider") or {}).get("KeyArn", key_arn)
        state.handle = {"securityGroupId": group.id}
        state.attributes = {
            "Arn": cluster.arn,
            "Endpoint": cluster.endpoint,
            "CertificateAuthorityData": cluster.certificate_authority["data"],
            "ClusterSecurityGroupId": group.id,
            "EncryptionConfigKeyArn": key_arn,
            "OpenIdConnectIssuerUrl": cluster.identity["oidc"]["issuer"],
            "Id": name,
            "KubernetesNetworkConfig.ServiceIpv4Cidr": (cluster.kubernetes_network_config or {}).get(
                "serviceIpv4Cidr", "172.20.0.0/16"
            ),
        }

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        if props.get("Name") != previous.properties.get("Name") or (props.get("ResourcesVpcConfig") or {}).get(
            "SubnetIds"
        ) != (previous.properties.get("ResourcesVpcConfig") or {}).get("SubnetIds"):
            raise ResourceFailure(
                "Local mode cannot replace the EKS cluster (Name or SubnetIds changed): delete the stack and create "
                "it again"
            )
        cluster = _eks_backend(engine).describe_cluster(state.physical_resource_id)
        cluster.version = _cluster_version(props)
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        from moto.ec2.models import ec2_backends

        name = state.physical_resource_id
        if name is None:
            return
        eks = _eks_backend(engine)
        try:
            eks.delete_cluster(name)
        except Exception as err:
            if not _is_gone(err):
                raise ResourceFailure(_aws_message(err)) from err
        # The cluster's API goes with it: its control plane stops, with everything still in it.
        control_planes.stop(_cluster_key(engine, name))
        _write_cluster_access(name, None)
        group_id = (state.handle or {}).get("securityGroupId")
        if group_id:
            try:
                ec2_backends[engine.account_id][engine.region].delete_security_group(group_id=group_id)
            except Exception as err:
                if not _is_gone(err):
                    raise ResourceFailure(_aws_message(err)) from err
        with _eks_lock:
            _access_principals.pop(_cluster_key(engine, name), None)
            _access_entries.pop(_cluster_key(engine, name), None)
            _authentication_modes.pop(_cluster_key(engine, name), None)
        _write_eks_access()


_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# Enough fake nodes to show the partition; a real group may be far larger.
MAX_FAKE_NODES_PER_GROUP = 3


class EksNodegroupHandler(Handler):
    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:

        from .engine import random_suffix

        cluster_name = props.get("ClusterName")
        name = props.get("NodegroupName") or f"{state.logical_resource_id}-{random_suffix(12)}"
        scaling = props.get("ScalingConfig") or {}
        taints = [
            {"key": t.get("Key"), "value": t.get("Value"), "effect": t.get("Effect")} for t in props.get("Taints") or []
        ]
        for t in taints:
            if t["effect"] not in _TAINT_EFFECTS:
                raise ResourceFailure(f"Taints: Effect must be one of {sorted(_TAINT_EFFECTS)}, got {t['effect']}")
        eks = _eks_backend(engine)
        try:
            nodegroup = eks.create_nodegroup(
                cluster_name=cluster_name,
                node_role=props.get("NodeRole", ""),
                nodegroup_name=name,
                subnets=props.get("Subnets") or [],
                scaling_config={k[:1].lower() + k[1:]: int(v) for k, v in scaling.items()} or None,
                instance_types=props.get("InstanceTypes"),
                ami_type=props.get("AmiType"),
                labels=props.get("Labels"),
                taints=taints or None,
                tags=props.get("Tags") if isinstance(props.get("Tags"), dict) else None,
                launch_template=_lower_keys(props.get("LaunchTemplate")) or None,
                capacity_type=props.get("CapacityType"),
                version=props.get("Version"),
            )
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        state.physical_resource_id = f"{cluster_name}/{name}"
        state.attributes = {"Arn": nodegroup.arn, "NodegroupName": name, "ClusterName": cluster_name}
        self._register_nodes(engine, state, props, suffix="")
        emulations.note(
            engine,
            state,
            "eks-nodes",
            f"node group {name}: at most {MAX_FAKE_NODES_PER_GROUP} fake (kwok) nodes, no EC2 instances; pods are "
            "marked Running without running",
        )

    def _register_nodes(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], suffix: str) -> None:
        """Registers the group's fake nodes (kwok makes them Ready) and waits until they are Ready."""
        from moto.ec2.models import ec2_backends

        name = state.attributes["NodegroupName"]
        scaling = props.get("ScalingConfig") or {}
        taints = [
            {"key": t.get("Key"), "value": t.get("Value"), "effect": t.get("Effect")} for t in props.get("Taints") or []
        ]
        ec2 = ec2_backends[engine.account_id][engine.region]
        plane = control_planes.access(_cluster_key(engine, str(props.get("ClusterName"))))
        if plane is None:
            raise ResourceFailure(
                f"cluster {props.get('ClusterName')} has no local control plane to register nodes with"
            )
        zones = []
        for subnet in props.get("Subnets") or []:
            with contextlib.suppress(Exception):
                zones.append(ec2.get_subnet(subnet).availability_zone)
        desired = int(scaling.get("DesiredSize", 1))
        arch = "arm64" if "ARM" in str(props.get("AmiType", "")).upper() else "amd64"
        instance_type = (props.get("InstanceTypes") or ["m5.large"])[0]
        names = []
        for i in range(min(desired, MAX_FAKE_NODES_PER_GROUP)):
            node_name = f"{name}-{suffix}{i}.{engine.region}.compute.internal".lower()
            zone = zones[i % len(zones)] if zones else f"{engine.region}a"
            labels = {
                "eks.amazonaws.com/nodegroup": name,
                "eks.amazonaws.com/capacityType": props.get("CapacityType") or "ON_DEMAND",
                "node.kubernetes.io/instance-type": instance_type,
                "topology.kubernetes.io/region": engine.region,
                "topology.kubernetes.io/zone": zone,
                "kubernetes.io/hostname": node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch,
                "type": "kwok",
                **{k: str(v) for k, v in (props.get("Labels") or {}).items()},
            }
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": node_name,
                    "labels": labels,
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                },
                "spec": {
                    "taints": [
                        {"key": t["key"], "value": t["value"], "effect": _TAINT_EFFECTS[t["effect"]]} for t in taints
                    ]
                },
                "status": {
                    "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "50Gi"},
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "50Gi"},
                    "nodeInfo": {
                        "architecture": arch,
                        "operatingSystem": "linux",
                        "kubeletVersion": "fake",
                        "kubeProxyVersion": "fake",
                    },
                    "phase": "Running",
                },
            }
            code, answer = kube.call(plane, "POST", "/api/v1/nodes", node)
            if code not in (200, 201, 409):
                raise ResourceFailure(
                    f"could not register node {node_name} with the local control plane: {answer.get('message', code)}"
                )
            names.append(node_name)
        state.handle = {"nodes": names}
        # Managed node groups are ACTIVE once their nodes have joined; kwok marks them Ready.
        deadline = time.time() + 60
        for node_name in names:
            while True:
                code, node = kube.call(plane, "GET", f"/api/v1/nodes/{node_name}")
                conditions = (node.get("status") or {}).get("conditions") or [] if code == 200 else []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                    break
                if time.time() > deadline:
                    raise ResourceFailure(f"NodeCreationFailure: node {node_name} did not become Ready within 60 s")
                time.sleep(0.5)

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        immutable = ("ClusterName", "NodegroupName", "NodeRole", "Subnets", "InstanceTypes", "AmiType", "CapacityType")
        if any(props.get(k) != previous.properties.get(k) for k in immutable):
            self.create(engine, state, props, body)
            return "replaced"
        # Scaling, labels or taints changed: the group's nodes are replaced by ones that match.
        old_nodes = list((state.handle or {}).get("nodes", []))
        self._register_nodes(engine, state, props, suffix=f"u{int(time.time()) % 100000}")
        plane = control_planes.access(_cluster_key(engine, str(props.get("ClusterName"))))
        for node_name in old_nodes:
            if plane:
                kube.call(plane, "DELETE", f"/api/v1/nodes/{node_name}")
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        cluster_name, _, name = (state.physical_resource_id or "").partition("/")
        # Without a control plane (the cluster is gone already) its nodes went with it.
        plane = control_planes.access(_cluster_key(engine, cluster_name))
        for node_name in (state.handle or {}).get("nodes", []):
            if plane is None:
                break
            code, answer = kube.call(plane, "DELETE", f"/api/v1/nodes/{node_name}")
            if code not in (200, 202, 404):
                raise ResourceFailure(f"could not remove node {node_name}: {answer.get('message', code)}")
        try:
            _eks_backend(engine).delete_nodegroup(cluster_name=cluster_name, nodegroup_name=name)
        except Exception as err:
            if not _is_gone(err):
                raise ResourceFailure(_aws_message(err)) from err


class EksRecordHandler(Handler):
    """Add-ons, access entries, pod identity associations, Fargate profiles: checked against the
    cluster (which must exist, as in EKS) and recorded."""

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        cluster_name = props.get("ClusterName")
        try:
            _eks_backend(engine).describe_cluster(cluster_name)
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        kind = state.cf_resource_type.split("::")[-1]
        region, account = engine.region, engine.account_id
        unique = uuid.uuid4().hex[:12]
        if kind == "Addon":
            addon = props.get("AddonName")
            state.physical_resource_id = f"{cluster_name}|{addon}"
            state.attributes = {"Arn": f"arn:aws:eks:{region}:{account}:addon/{cluster_name}/{addon}/{unique}"}
        elif kind == "AccessEntry":
            principal = str(props.get("PrincipalArn"))
            if not principal.startswith("arn:"):
                raise ResourceFailure(f"PrincipalArn: expected an IAM principal ARN, got {principal}")
            with _eks_lock:
                principals = _access_principals.setdefault(_cluster_key(engine, str(cluster_name)), set())
                if principal in principals:
                    raise _eks_error(
                        "The specified access entry resource is already in use on this cluster.",
                        409,
                        "ResourceInUseException",
                        "AlreadyExists",
                    )
                principals.add(principal)
                _access_entries.setdefault(_cluster_key(engine, str(cluster_name)), {})[principal] = _access_entry(
                    principal, props
                )
            _write_eks_access()
            state.physical_resource_id = f"{cluster_name}|{principal}"
            state.attributes = {
                "AccessEntryArn": f"arn:aws:eks:{region}:{account}:access-entry/{cluster_name}/{unique}"
            }
        elif kind == "PodIdentityAssociation":
            association = f"a-{unique}"
            state.physical_resource_id = (
                f"arn:aws:eks:{region}:{account}:podidentityassociation/{cluster_name}/{association}"
            )
            state.attributes = {"AssociationArn": state.physical_resource_id, "AssociationId": association}
        else:
            name = props.get("FargateProfileName") or f"{state.logical_resource_id}-{unique}"
            state.physical_resource_id = f"{cluster_name}|{name}"
            state.attributes = {"Arn": f"arn:aws:eks:{region}:{account}:fargateprofile/{cluster_name}/{name}/{unique}"}
        emulations.note(engine, state, "eks-record", _RECORD_DETAILS[kind])

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        schema = schema_of(state.cf_resource_type, engine.region)
        if schema is not None and schema.replacing_changes(previous.properties, props):
            self.create(engine, state, props, body)
            return "replaced"
        state.properties = props
        if state.cf_resource_type == "AWS::EKS::AccessEntry":
            cluster_name, _, principal = (previous.physical_resource_id or "").partition("|")
            with _eks_lock:
                entries = _access_entries.get(_cluster_key(engine, cluster_name))
                if entries is not None and principal in entries:
                    entries[principal] = _access_entry(principal, props)
            _write_eks_access()
        return "updated"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        if state.cf_resource_type == "AWS::EKS::AccessEntry":
            cluster_name, _, principal = (state.physical_resource_id or "").partition("|")
            with _eks_lock:
                _access_principals.get(_cluster_key(engine, cluster_name), set()).discard(principal)
                _access_entries.get(_cluster_key(engine, cluster_name), {}).pop(principal, None)
            _write_eks_access()


_RECORD_DETAILS = {
    "Addon": "a record only: the add-on's software is not installed in the local control plane",
    "AccessEntry": "recorded and enforced: the local EKS authenticator maps principals by it and its access policies "
    "(emulated as RBAC bindings to cluster-admin, admin, edit, view)",
    "PodIdentityAssociation": "a record only: pods get no credentials from it",
    "FargateProfile": "a record only: no pod runs on Fargate",
}


class PutAgainHandler(Handler):
    """A resource whose update is its create's call again (a put): replaced when one of its
    `create_only` properties changes (the old one goes at cleanup), else updated in place under the
    physical id it had."""

    create_only: tuple[str, ...] = ()

    def update(
        self,
        engine: StackEngine,
        state: ResourceState,
        previous: ResourceState,
        props: dict[str, Any],
        body: dict[str, Any],
    ) -> str:
        self.create(engine, state, props, body)
        if any(props.get(key) != previous.properties.get(key) for key in self.create_only):
            return "replaced"
        state.physical_resource_id = previous.physical_resource_id
        return "updated"


class RolePolicyHandler(PutAgainHandler):
    """AWS::IAM::RolePolicy (an inline policy; moto 5.2 models AWS::IAM::Policy but not this type)."""

    create_only = ("RoleName", "PolicyName")

    def _iam(self, engine: StackEngine) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[engine.account_id]["aws"]

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        from .engine import random_suffix

        for key in ("RoleName", "PolicyName", "PolicyDocument"):
            if not props.get(key):
                raise ResourceFailure(f"{key}: required property is missing")
        document = props["PolicyDocument"]
        try:
            self._iam(engine).put_role_policy(
                props["RoleName"], props["PolicyName"], document if isinstance(document, str) else json.dumps(document)
            )
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        state.physical_resource_id = f"{engine.stack.name[:5]}-{props['PolicyName'][:4]}-{random_suffix(12)}"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        try:
            self._iam(engine).delete_role_policy(state.properties.get("RoleName"), state.properties.get("PolicyName"))
        except Exception as err:
            if not _is_gone(err):
                raise ResourceFailure(_aws_message(err)) from err


class EventInvokeConfigHandler(PutAgainHandler):
    """AWS::Lambda::EventInvokeConfig (moto keeps the configuration on the function but has no
    CloudFormation model for it): what the local Lambda service reads to retry and age out events."""

    create_only = ("FunctionName", "Qualifier")

    def _backend(self, engine: StackEngine) -> Any:
        from moto.awslambda.models import lambda_backends

        return lambda_backends[engine.account_id][engine.region]

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("FunctionName", "Qualifier"):
            if not props.get(key):
                raise ResourceFailure(f"{key}: required property is missing")
        if props.get("DestinationConfig"):
            raise ResourceFailure("DestinationConfig: not emulated by the local Lambda service")
        config = {key: int(props[key]) for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if key in props}
        try:
            backend = self._backend(engine)
            backend.get_function(props["FunctionName"]).event_invoke_config = []
            backend.put_function_event_invoke_config(props["FunctionName"], config)
        except ResourceFailure:
            raise
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        state.physical_resource_id = f"{props['FunctionName']}:{props['Qualifier']}"

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        try:
            self._backend(engine).get_function(state.properties.get("FunctionName")).event_invoke_config = []
        except Exception as err:
            if not _is_gone(err):
                raise ResourceFailure(_aws_message(err)) from err


class BucketPolicyHandler(PutAgainHandler):
    """AWS::S3::BucketPolicy (moto's S3 keeps bucket policies but has no CloudFormation model for
    them): the policy put on the bucket, enforced by the local S3 as moto enforces bucket policies."""

    create_only = ("Bucket",)

    def _backend(self, engine: StackEngine) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[engine.account_id]["aws"]

    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        bucket = props.get("Bucket")
        document = props.get("PolicyDocument")
        if not bucket:
            raise ResourceFailure("Bucket: required property is missing")
        if not isinstance(document, (dict, str)) or not document:
            raise ResourceFailure("PolicyDocument: expected a policy document (a JSON object)")
        text = document if isinstance(document, str) else json.dumps(document)
        try:
            self._backend(engine).put_bucket_policy(bucket, text.encode("utf-8"))
        except Exception as err:
            raise ResourceFailure(_aws_message(err)) from err
        state.physical_resource_id = str(bucket)

    def delete(self, engine: StackEngine, state: ResourceState) -> None:
        try:
            self._backend(engine).delete_bucket_policy(state.properties.get("Bucket"))
        except Exception as err:
            if not _is_gone(err):
                raise ResourceFailure(_aws_message(err)) from err


class WaitConditionHandler(Handler):
    def create(self, engine: StackEngine, state: ResourceState, props: dict[str, Any], body: dict[str, Any]) -> None:
        if state.cf_resource_type.endswith("WaitConditionHandle"):
            state.physical_resource_id = f"https://cloudformation-waitcondition-{engine.region}.s3.amazonaws.com/{engine.stack.stack_id}/{state.logical_resource_id}"
        else:
            state.physical_resource_id = f"{engine.stack.stack_id}/{state.logical_resource_id}"
            state.attributes = {"Data": "{}"}


_HANDLERS: dict[str, Handler] = {
    "AWS::CloudFormation::Stack": NestedStackHandler(),
    "AWS::CloudFormation::CustomResource": CustomResourceHandler(),
    "AWS::CloudFormation::WaitConditionHandle": WaitConditionHandler(),
    "AWS::CloudFormation::WaitCondition": WaitConditionHandler(),
    "AWS::IAM::RolePolicy": RolePolicyHandler(),
    "AWS::Lambda::EventInvokeConfig": EventInvokeConfigHandler(),
    "AWS::S3::BucketPolicy": BucketPolicyHandler(),
    "AWS::EKS::Cluster": EksClusterHandler(),
    "AWS::EKS::Nodegroup": EksNodegroupHandler(),
    "AWS::EKS::Addon": EksRecordHandler(),
    "AWS::EKS::AccessEntry": EksRecordHandler(),
    "AWS::EKS::PodIdentityAssociation": EksRecordHandler(),
    "AWS::EKS::FargateProfile": EksRecordHandler(),
}
_CUSTOM = CustomResourceHandler()
_NOT_EMULATED = NotEmulatedHandler()


def handler_for(resource_type: str) -> Handler:
    if resource_type in _HANDLERS:
        return _HANDLERS[resource_type]
    if resource_type.startswith("Custom::"):
        return _CUSTOM
    from moto.cloudformation.parsing import get_model_map

    model = get_model_map().get(resource_type)
    if model is not None:
        handler = MotoHandler(model)
        _HANDLERS[resource_type] = handler
        return handler
    return _NOT_EMULATED


def has_handler(resource_type: str) -> bool:
    """Whether the engine or moto models the type (a type nobody models fails when it is created)."""
    return not isinstance(handler_for(resource_type), NotEmulatedHandler)


def emulation_of(resource_type: str) -> str:
    """How the engine handles a type: 'engine', 'custom', 'moto', 'local-eks' or 'not-emulated'."""
    handler = handler_for(resource_type)
    if isinstance(handler, (NestedStackHandler, WaitConditionHandler)):
        return "engine"
    if isinstance(handler, (RolePolicyHandler, EventInvokeConfigHandler)):
        return "moto"
    if isinstance(handler, CustomResourceHandler):
        return "custom"
    if isinstance(handler, MotoHandler):
        return "moto"
    if isinstance(handler, (EksClusterHandler, EksNodegroupHandler, EksRecordHandler)):
        return "local-eks"
    return "not-emulated"
