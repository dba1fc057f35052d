"""CloudFormation's intrinsic functions and condition functions, evaluated against one stack.

The evaluator is given a `Scope`: parameter values, pseudo parameters, condition results, mappings
and a way to read a resource's physical id and attributes. Values follow CloudFormation: parameter
lists are Python lists, everything else strings (or the template's own numbers and booleans).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, Protocol

from .errors import ResourceFailure, ValidationError


class _NoValue:
    """AWS::NoValue: the property (or list item) is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Scope(Protocol):
    @property
    def parameters(self) -> dict[str, Any]: ...

    @property
    def pseudo(self) -> dict[str, Any]: ...

    @property
    def conditions(self) -> dict[str, bool]: ...

    @property
    def mappings(self) -> dict[str, Any]: ...

    @property
    def resource_names(self) -> set[str]: ...

    def ref_resource(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...

    def import_value(self, name: str) -> Any: ...

    def availability_zones(self, region: str) -> list[str]: ...


_SUB_VAR = re.compile(r"\$\{([^}]*)\}")

ONE_KEY_FUNCTIONS = {
    "Ref",
    "Condition",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::FindInMap",
    "Fn::Base64",
    "Fn::GetAZs",
    "Fn::Cidr",
    "Fn::ImportValue",
    "Fn::Length",
    "Fn::ToJsonString",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::RefAll",
    "Fn::ValueOf",
    "Fn::ValueOfAll",
}


def _function_of(node: Any) -> str | None:
    if isinstance(node, dict) and len(node) == 1:
        key: object = next(iter(node))
        if isinstance(key, str) and key in ONE_KEY_FUNCTIONS:
            return key
    return None


def _sub_parts(node: Any) -> tuple[str, dict[str, Any]]:
    arg = node["Fn::Sub"]
    if isinstance(arg, str):
        return arg, {}
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        return arg[0], arg[1]
    raise ValidationError("Template error: Fn::Sub expects a string or [string, {variables}]")


def _split_getatt(arg: Any) -> tuple[str, Any]:
    if isinstance(arg, str):
        resource, _, attribute = arg.partition(".")
        return resource, attribute
    if isinstance(arg, list) and len(arg) == 2:
        return arg[0], arg[1]
    raise ValidationError("Template error: Fn::GetAtt expects [LogicalId, Attribute] or 'LogicalId.Attribute'")


class Evaluator:
    """Evaluates template fragments in a scope."""

    def __init__(self, scope: Scope):
        self.scope = scope

    # ---------------------------------------------------------------- conditions
    def condition(self, node: Any) -> bool:
        value = self.value(node)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValidationError(f"Template error: a condition must evaluate to a boolean, got {value!r}")

    # ---------------------------------------------------------------- values
    def value(self, node: Any) -> Any:
        """The value of a template fragment, with AWS::NoValue removed from maps and lists."""
        fn = _function_of(node)
        if fn is not None:
            return self._call(fn, node[fn], node)
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                evaluated = self.value(item)
                if evaluated is not NO_VALUE:
                    out[key] = evaluated
            return out
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        return node

    def _string(self, node: Any, where: str) -> str:
        value = self.value(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise ValidationError(f"Template error: {where} expects a string, got {type(value).__name__}")
        return value

    def _list(self, node: Any, where: str) -> list[Any]:
        value = self.value(node)
        if not isinstance(value, list):
            raise ValidationError(f"Template error: {where} expects a list, got {type(value).__name__}")
        return value

    def ref(self, name: str) -> Any:
        scope = self.scope
        if name in scope.parameters:
            return scope.parameters[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in scope.pseudo:
            return scope.pseudo[name]
        if name in scope.resource_names:
            return scope.ref_resource(name)
        raise ValidationError(
            f"Template format error: Unresolved resource dependencies [{name}] in the Resources block of the template"
        )

    def _call(self, fn: str, arg: Any, node: Any) -> Any:
        scope = self.scope
        if fn == "Ref":
            return self.ref(self._string(arg, "Ref"))
        if fn == "Condition":
            name = self._string(arg, "Condition")
            if name not in scope.conditions:
                raise ValidationError(f"Template format error: Unresolved condition dependency {name}")
            return scope.conditions[name]
        if fn == "Fn::GetAtt":
            resource, attribute = _split_getatt(arg)
            return scope.get_att(resource, self._string(attribute, "Fn::GetAtt attribute"))
        if fn == "Fn::Sub":
            text, variables = _sub_parts(node)
            values = {k: self.value(v) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                name = name.strip()
                if name in values:
                    found = values[name]
                elif "." in name and name.split(".", 1)[0] in scope.resource_names:
                    resource, attribute = name.split(".", 1)
                    found = scope.get_att(resource, attribute)
                else:
                    found = self.ref(name)
                if isinstance(found, list):
                    raise ValidationError(
                        f"Template error: variable {name} in Fn::Sub expression is a list, not a string"
                    )
                if isinstance(found, bool):
                    return "true" if found else "false"
                return str(found)

            return _SUB_VAR.sub(substitute, text)
        if fn == "Fn::Join":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ValidationError("Template error: Fn::Join expects [delimiter, [values]]")
            delimiter = self._string(arg[0], "Fn::Join delimiter")
            items = self._list(arg[1], "Fn::Join")
            return delimiter.join("true" if i is True else "false" if i is False else str(i) for i in items)
        if fn == "Fn::Select":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ValidationError("Template error: Fn::Select expects [index, [values]]")
            index = int(self._string(arg[0], "Fn::Select index"))
            items = self._list(arg[1], "Fn::Select")
            if not 0 <= index < len(items):
                raise ValidationError(f"Template error: Fn::Select cannot select nonexistent value at index {index}")
            return items[index]
        if fn == "Fn::Split":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise ValidationError("Template error: Fn::Split expects [delimiter, string]")
            return self._string(arg[1], "Fn::Split").split(self._string(arg[0], "Fn::Split delimiter"))
        if fn == "Fn::If":
            if not (isinstance(arg, list) and len(arg) == 3):
                raise ValidationError("Template error: Fn::If expects [condition, value if true, value if false]")
            name = arg[0]
            if name not in scope.conditions:
                raise ValidationError(f"Template format error: Unresolved condition dependency {name} in Fn::If")
            return self.value(arg[1] if scope.conditions[name] else arg[2])
        if fn == "Fn::Equals":
            a, b = (self.value(x) for x in arg)
            return _scalar_text(a) == _scalar_text(b)
        if fn == "Fn::Not":
            return not self.condition(arg[0])
        if fn == "Fn::And":
            return all(self.condition(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.condition(x) for x in arg)
        if fn == "Fn::Contains":
            items, wanted = self._list(arg[0], "Fn::Contains"), self.value(arg[1])
            return _scalar_text(wanted) in [_scalar_text(i) for i in items]
        if fn == "Fn::EachMemberEquals":
            items, wanted = self._list(arg[0], "Fn::EachMemberEquals"), self.value(arg[1])
            return all(_scalar_text(i) == _scalar_text(wanted) for i in items)
        if fn == "Fn::EachMemberIn":
            items, allowed = self._list(arg[0], "Fn::EachMemberIn"), self._list(arg[1], "Fn::EachMemberIn")
            return all(_scalar_text(i) in [_scalar_text(a) for a in allowed] for i in items)
        if fn in ("Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll"):
            raise ValidationError(f"Template error: {fn} is not emulated by the local engine")
        if fn == "Fn::FindInMap":
            if not (isinstance(arg, list) and len(arg) in (3, 4)):
                raise ValidationError("Template error: Fn::FindInMap expects [map, top-level key, second-level key]")
            map_name, top, second = (self._string(x, "Fn::FindInMap") for x in arg[:3])
            try:
                return scope.mappings[map_name][top][second]
            except (KeyError, TypeError):
                if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                    return self.value(arg[3]["DefaultValue"])
                raise ResourceFailure(
                    f"Template error: Unable to get mapping for {map_name}::{top}::{second}"
                ) from None
        if fn == "Fn::Base64":
            return base64.b64encode(self._string(arg, "Fn::Base64").encode()).decode()
        if fn == "Fn::GetAZs":
            region = self._string(arg, "Fn::GetAZs") or scope.pseudo["AWS::Region"]
            return scope.availability_zones(region)
        if fn == "Fn::Cidr":
            block, count, bits = (self._string(x, "Fn::Cidr") for x in arg)
            network = ipaddress.ip_network(block, strict=False)
            prefix = network.max_prefixlen - int(bits)
            subnets = network.subnets(new_prefix=prefix)
            return [str(next(subnets)) for _ in range(int(count))]
        if fn == "Fn::ImportValue":
            return scope.import_value(self._string(arg, "Fn::ImportValue"))
        if fn == "Fn::Length":
            return len(self._list(arg, "Fn::Length"))
        if fn == "Fn::ToJsonString":
            return json.dumps(self.value(arg), separators=(",", ":"))
        raise ValidationError(f"Template error: unsupported function {fn}")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def references(node: Any, conditions: dict[str, bool], resource_names: set[str], on_ref: Callable[[str], None]) -> None:
    """Calls `on_ref` for every resource a fragment refers to (Ref, Fn::GetAtt, Fn::Sub variables),
    following only the Fn::If branches the conditions select, as CloudFormation does."""
    fn = _function_of(node)
    if fn == "Ref":
        if isinstance(node["Ref"], str) and node["Ref"] in resource_names:
            on_ref(node["Ref"])
        return
    if fn == "Fn::GetAtt":
        try:
            resource, attribute = _split_getatt(node["Fn::GetAtt"])
        except ValidationError:
            return
        if resource in resource_names:
            on_ref(resource)
        references(attribute, conditions, resource_names, on_ref)
        return
    if fn == "Fn::Sub":
        try:
            text, variables = _sub_parts(node)
        except ValidationError:
            return
        for match in _SUB_VAR.finditer(text):
            name = match.group(1).strip()
            if name.startswith("!") or name in variables:
                continue
            base = name.split(".", 1)[0]
            if base in resource_names:
                on_ref(base)
        references(variables, conditions, resource_names, on_ref)
        return
    if fn == "Fn::If":
        arg = node["Fn::If"]
        if isinstance(arg, list) and len(arg) == 3 and arg[0] in conditions:
            references(arg[1] if conditions[arg[0]] else arg[2], conditions, resource_names, on_ref)
        return
    if isinstance(node, dict):
        for item in node.values():
            references(item, conditions, resource_names, on_ref)
    elif isinstance(node, list):
        for item in node:
            references(item, conditions, resource_names, on_ref)


def get_atts(template: dict[str, Any], resource_names: set[str], on_get_att: Callable[[str, Any], None]) -> None:
    """Calls `on_get_att(logical id, attribute)` for every Fn::GetAtt and every `${Resource.Attribute}`
    of an Fn::Sub in the template's resources and outputs, on every Fn::If branch (CloudFormation
    checks them all before it starts)."""

    def walk(node: Any) -> None:
        fn = _function_of(node)
        if fn == "Fn::GetAtt":
            try:
                resource, attribute = _split_getatt(node["Fn::GetAtt"])
            except ValidationError:
                return
            if isinstance(resource, str) and resource in resource_names:
                on_get_att(resource, attribute)
            walk(attribute)
            return
        if fn == "Fn::Sub":
            try:
                text, variables = _sub_parts(node)
            except ValidationError:
                return
            for match in _SUB_VAR.finditer(text):
                name = match.group(1).strip()
                if name.startswith("!") or name in variables or "." not in name:
                    continue
                resource, attribute = name.split(".", 1)
                if resource in resource_names:
                    on_get_att(resource, attribute)
            walk(variables)
            return
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for body in (template.get("Resources") or {}).values():
        if isinstance(body, dict):
            walk(body.get("Properties"))
    walk(template.get("Outputs"))


# What a Rule may use (cloudformation-coverage-roadmap#921: not Fn::If, whatever the documentation said).
RULE_FUNCTIONS = (
    "Fn::And",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::Equals",
    "Fn::Not",
    "Fn::Or",
    "Fn::RefAll",
    "Fn::ValueOf",
    "Fn::ValueOfAll",
    "Ref",
)


def check_rule_functions(template: dict[str, Any]) -> None:
    """Refuses a Rule (its RuleCondition or an Assert) that uses anything but the rule functions, as
    CloudFormation refuses it: Fn::Join, Fn::Sub, Fn::If, Fn::Select ... are not evaluated in Rules."""
    rules = template.get("Rules") or {}
    if not isinstance(rules, dict):
        raise ValidationError("Template format error: Rules must be a map of rule names to rules")

    def walk(node: Any, rule: str) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                key = next(iter(node))
                if (
                    isinstance(key, str)
                    and (key.startswith("Fn::") or key == "Condition")
                    and key not in RULE_FUNCTIONS
                ):
                    raise ValidationError(
                        f"Template error: rule {rule} uses {key}, which Rules do not allow; a RuleCondition or "
                        f"Assert may use only the rule functions ({', '.join(RULE_FUNCTIONS)})"
                    )
            for item in node.values():
                walk(item, rule)
        elif isinstance(node, list):
            for item in node:
                walk(item, rule)

    for name, rule in rules.items():
        if not isinstance(rule, dict):
            continue
        walk(rule.get("RuleCondition"), str(name))
        for assertion in rule.get("Assertions") or []:
            walk((assertion or {}).get("Assert"), str(name))
