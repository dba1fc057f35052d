"""The rule-specific functions of template Rules: Fn::RefAll, Fn::ValueOf and Fn::ValueOfAll.

CloudFormation evaluates them before it starts, reading the account: Fn::RefAll lists every value of an
AWS-specific parameter type in the account and Region, Fn::ValueOf reads an attribute of the resource a
parameter names, Fn::ValueOfAll the attribute of every resource named by the parameters of a type. Here
the account is moto's EC2 backend. Only the types and attributes below are emulated; any other pair
fails closed with a reason that says so (never a made-up value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ValidationError
from .intrinsics import Evaluator, Scope

# AWS-specific parameter type -> attribute -> how to read it from moto's EC2 backend.
_Reader = Callable[[Any, str], Any]


def _subnet(ec2: Any, value: str) -> Any:
    return ec2.get_subnet(value)


def _security_group(ec2: Any, value: str) -> Any:
    group = ec2.get_security_group_from_id(value)
    if group is None:
        raise LookupError(value)
    return group


def _tags(ec2: Any, value: str) -> list[dict[str, str]]:
    tags = ec2.describe_tags(filters={"resource-id": [value]})
    return [{"Key": t["key"], "Value": t["value"]} for t in tags]


ATTRIBUTES: dict[str, dict[str, _Reader]] = {
    "AWS::EC2::Subnet::Id": {
        "AvailabilityZone": lambda ec2, v: _subnet(ec2, v).availability_zone,
        "VpcId": lambda ec2, v: _subnet(ec2, v).vpc_id,
        "Tags": _tags,
    },
    "AWS::EC2::SecurityGroup::Id": {
        "VpcId": lambda ec2, v: _security_group(ec2, v).vpc_id,
        "Tags": _tags,
    },
    "AWS::EC2::VPC::Id": {
        "DefaultNetworkAcl": lambda ec2, v: next(
            (acl.id for acl in ec2.describe_network_acls() if acl.vpc_id == v and acl.default == "true"), None
        ),
        "DefaultSecurityGroup": lambda ec2, v: ec2.get_security_group_from_name("default", vpc_id=v).id,
        "Tags": _tags,
    },
}

# AWS-specific parameter type -> every value of it in the account and Region (Fn::RefAll).
ALL_VALUES: dict[str, Callable[[Any], list[str]]] = {
    "AWS::EC2::VPC::Id": lambda ec2: [v.id for v in ec2.describe_vpcs()],
    "AWS::EC2::Subnet::Id": lambda ec2: [s.id for s in ec2.describe_subnets()],
    "AWS::EC2::SecurityGroup::Id": lambda ec2: [g.id for g in ec2.describe_security_groups()],
    "AWS::EC2::KeyPair::KeyName": lambda ec2: [k.name for k in ec2.describe_key_pairs()],
}


class RuleEvaluator(Evaluator):
    """An evaluator for Rules: the base functions plus Fn::RefAll, Fn::ValueOf and Fn::ValueOfAll,
    reading the account of `account_id` and `region` in moto."""

    def __init__(
        self,
        scope: Scope,
        parameter_types: dict[str, str],
        account_id: str,
        region: str,
    ):
        super().__init__(scope)
        self.parameter_types = parameter_types
        self.account_id = account_id
        self.region = region

    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account_id][self.region]

    def _attribute(self, kind: str, value: str, attribute: str, fn: str) -> Any:
        inner = kind[5:-1] if kind.startswith("List<") else kind
        reader = ATTRIBUTES.get(inner, {}).get(attribute)
        if reader is None:
            raise ValidationError(
                f"Template error: {fn} of attribute {attribute} of parameter type {kind} is not emulated by the "
                f"local engine (emulated: " + "; ".join(f"{t}: {', '.join(a)}" for t, a in ATTRIBUTES.items()) + ")"
            )
        try:
            return reader(self._ec2(), value)
        except Exception:
            # CloudFormation checked the parameter's value exists before the Rules; a value that
            # vanished in between is the same failure.
            raise ValidationError(f"Template error: {fn}: {value} does not exist") from None

    def _call(self, fn: str, arg: Any, node: Any) -> Any:
        if fn == "Fn::RefAll":
            kind = self._string(arg, "Fn::RefAll")
            lister = ALL_VALUES.get(kind)
            if lister is None:
                raise ValidationError(
                    f"Template error: Fn::RefAll of parameter type {kind} is not emulated by the local engine "
                    f"(emulated: {', '.join(ALL_VALUES)})"
                )
            return sorted(lister(self._ec2()))
        if fn == "Fn::ValueOf":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ValidationError("Template error: Fn::ValueOf expects [ParameterLogicalId, Attribute]")
            name = self._string(arg[0], "Fn::ValueOf parameter")
            attribute = self._string(arg[1], "Fn::ValueOf attribute")
            declared = self.parameter_types.get(name)
            if declared is None:
                raise ValidationError(f"Template error: Fn::ValueOf names {name}, which is not a parameter")
            value = self.scope.parameters[name]
            if isinstance(value, list):
                raise ValidationError(
                    f"Template error: Fn::ValueOf takes a parameter of one value; {name} is a {declared}"
                )
            return self._attribute(declared, str(value), attribute, "Fn::ValueOf")
        if fn == "Fn::ValueOfAll":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ValidationError("Template error: Fn::ValueOfAll expects [ParameterType, Attribute]")
            kind = self._string(arg[0], "Fn::ValueOfAll parameter type")
            attribute = self._string(arg[1], "Fn::ValueOfAll attribute")
            out: list[Any] = []
            # Every value of every parameter of exactly that type, in declaration order.
            for name, of_type in self.parameter_types.items():
                if of_type != kind:
                    continue
                values = self.scope.parameters[name]
                for value in values if isinstance(values, list) else [values]:
                    out.append(self._attribute(kind, str(value), attribute, "Fn::ValueOfAll"))
            return out
        return super()._call(fn, arg, node)
