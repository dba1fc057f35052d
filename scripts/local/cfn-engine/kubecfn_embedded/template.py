"""Template text -> Python data, and template URLs -> text from moto's S3.

CloudFormation accepts YAML with short-form intrinsic tags (!Ref, !Sub, !GetAtt ...) or JSON. The
loader turns every short form into its long form ({"Fn::Sub": ...}) so the evaluator sees one shape.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .errors import ValidationError


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short-form tags."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected YAML node {node.tag}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Res.Attr.With.Dots -> [Res, "Attr.With.Dots"] (nested stack outputs: Outputs.X)
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


# YAML 1.1 reads `on`, `yes`, `off` as booleans and 010 as octal; CloudFormation's YAML parser does
# not. Keep only the core-schema booleans and plain integers/floats.
def _core_schema_booleans() -> None:
    resolvers = {}
    for first, entries in _CfnLoader.yaml_implicit_resolvers.items():
        resolvers[first] = [(tag, regexp) for tag, regexp in entries if tag != "tag:yaml.org,2002:bool"]
    _CfnLoader.yaml_implicit_resolvers = resolvers
    _CfnLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )


_core_schema_booleans()


def parse_template(text: str) -> dict[str, Any]:
    """Parses a template body (JSON or YAML). Raises ValidationError with CloudFormation's wording."""
    if not text or not text.strip():
        raise ValidationError("Template format error: template is empty")
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_CfnLoader)
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        raise ValidationError(f"Template format error: YAML not well-formed. {err}") from err
    if not isinstance(data, dict):
        raise ValidationError("Template format error: JSON not well-formed.")
    resources = data.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise ValidationError("Template format error: At least one Resources member must be defined.")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            raise ValidationError(
                f"Template format error: [/Resources/{logical_id}] Every Resources object must contain a Type member."
            )
    return data


def bucket_and_key(url: str) -> tuple[str, str]:
    """The bucket and key of an S3 object URL in any form CloudFormation accepts, plus the path-style
    form an S3 emulator serves (http://127.0.0.1:port/bucket/key):

    - https://bucket.s3.amazonaws.com/key, https://bucket.s3.region.amazonaws.com/key,
      https://bucket.s3-region.amazonaws.com/key (virtual-hosted, bucket names with dots too)
    - https://s3.amazonaws.com/bucket/key, https://s3.region.amazonaws.com/bucket/key (path style)
    - http(s)://host:port/bucket/key (any other host: path style)
    """
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    path = unquote(parsed.path.lstrip("/"))
    virtual = re.match(r"^(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$", host)
    if virtual:
        return virtual.group("bucket"), path
    if "/" not in path:
        raise ValidationError(f"TemplateURL must be a supported URL: {url} names no bucket and key")
    bucket, key = path.split("/", 1)
    return bucket, key


def fetch_template(url: str, account_id: str, partition: str) -> str:
    """The text of the template at `url`, read from moto's S3 backend."""
    from moto.s3.models import s3_backends

    bucket, key = bucket_and_key(url)
    try:
        obj = s3_backends[account_id][partition].get_object(bucket, key)
    except Exception as err:  # moto raises several S3ClientError subclasses
        raise ValidationError(
            f"TemplateURL must be a supported URL: S3 error: Access Denied or not found for {url} "
            f"({type(err).__name__})"
        ) from err
    if obj is None:
        raise ValidationError(f"TemplateURL must be a supported URL: no object at {url}")
    return obj.value.decode("utf-8")
