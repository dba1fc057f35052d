"""CloudFormation's resource provider schemas, as the engine's source of what AWS does with a type.

The schemas come from the cfn-lint that moto[server] brings into this environment (pinned in
requirements/constraints/moto.txt): `cfnlint/data/schemas/providers/<region>.json` maps each type
to a schema file in `cfnlint/data/schemas/resources/`. Nothing is downloaded: cfn-lint's own schema
manager may prefer a newer copy in the user's cache, the engine reads only the pinned, bundled one.

What the engine reads from a schema:
- `createOnlyProperties`: a change to one of them is a replacement, any other change an update in
  place (the "Update requires" of each property in the AWS documentation);
- the attributes `Fn::GetAtt` may read (cfn-lint's rule: `readOnlyProperties`, plus every property
  for the legacy types where CloudFormation allows that);
- `properties`: a property the type does not have fails the resource, as in CloudFormation.

When cfn-lint is missing, every question fails with a reason that says so: the engine does not guess.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ResourceFailure

_lock = threading.Lock()


class SchemasMissing(ResourceFailure):
    """cfn-lint (and with it the resource schemas) is not installed in the engine's environment."""


def schema_dir() -> Path:
    try:
        import cfnlint.data.schemas as bundled
    except ImportError as err:
        raise SchemasMissing(
            "the local engine needs CloudFormation's resource schemas from cfn-lint, which is not installed in "
            f"its environment ({err}); run node scripts/dev/bootstrap.mjs (requirements/moto.txt: moto[server] "
            "brings cfn-lint)"
        ) from err
    return Path(bundled.__file__).parent


@cache
def _provider_index(region: str) -> dict[str, str]:
    providers = schema_dir() / "providers"
    path = providers / f"{region.replace('_', '-')}.json"
    if not path.exists():
        path = providers / "us-east-1.json"
    try:
        with open(path, encoding="utf-8") as f:
            index: dict[str, str] = json.load(f)
    except (OSError, ValueError) as err:
        raise SchemasMissing(f"the resource schemas of cfn-lint cannot be read: {path}: {err}") from err
    return index


class TypeSchema:
    """One resource type's schema, and the answers the engine needs from it."""

    def __init__(self, type_name: str, schema: dict[str, Any]):
        self.type_name = type_name
        self.schema = schema
        self._getatts: Any = None

    @property
    def properties(self) -> set[str]:
        return set((self.schema.get("properties") or {}).keys())

    @property
    def open_properties(self) -> bool:
        """Whether the type takes properties the schema does not name (custom resources, stacks' Parameters)."""
        return self.schema.get("additionalProperties", False) is not False

    @property
    def create_only(self) -> list[tuple[str, ...]]:
        """The create-only properties, as paths of property names: ("KubernetesNetworkConfig", "IpFamily")."""
        return [_path(p) for p in self.schema.get("createOnlyProperties") or []]

    def attributes(self) -> Any:
        """cfn-lint's GetAtt table for the type: `.get(name)` is None when Fn::GetAtt cannot read `name`."""
        with _lock:
            if self._getatts is None:
                from cfnlint.schema import Schema

                self._getatts = Schema(self.schema).get_atts
            return self._getatts

    def has_attribute(self, name: str) -> bool:
        return self.attributes().get(name) is not None

    def attribute_names(self) -> list[str]:
        return sorted(str(k).replace("\\", "") for k in self.attributes())

    def replacing_changes(self, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        """The create-only properties whose value differs between `old` and `new` (dotted names)."""
        changed = []
        for path in self.create_only:
            if _at(old, path) != _at(new, path):
                changed.append(".".join(path))
        return changed


def _path(pointer: str) -> tuple[str, ...]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if parts[:1] == ["properties"]:
        parts = parts[1:]
    return tuple(parts)


_ABSENT = object()


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


@cache
def _load(region: str, type_name: str) -> TypeSchema | None:
    digest = _provider_index(region).get(type_name)
    if digest is None:
        return None
    path = schema_dir() / "resources" / f"{digest}.json"
    try:
        with open(path, encoding="utf-8") as f:
            return TypeSchema(type_name, json.load(f))
    except (OSError, ValueError) as err:
        raise SchemasMissing(f"the resource schema of {type_name} cannot be read: {path}: {err}") from err


def schema_of(type_name: str, region: str = "us-east-1") -> TypeSchema | None:
    """The schema of a type in a region (None: CloudFormation does not know the type there)."""
    if type_name.startswith("Custom::"):
        type_name = "AWS::CloudFormation::CustomResource"
    return _load(region, type_name)
