"""What moto's CloudFormation model of AWS::Lambda::Function leaves out, put back.

moto's ``LambdaFunction.create_from_cloudformation_json`` copies a fixed list of properties and drops
``Layers`` (its update path, through ``update_configuration``, keeps them). A function created from a
template would then run without its layers, and the local Lambda service, which runs what the
function declares, could not find ``/opt/bin/helm``. Creation here applies ``Layers`` the way
UpdateFunctionConfiguration does, which also refuses a layer version that does not exist.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction

_applied = False


def apply() -> None:
    """Wraps moto's CloudFormation create of a Lambda function (once)."""
    global _applied
    if _applied:
        return
    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: type[LambdaFunction],
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LambdaFunction:
        fn: LambdaFunction = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        layers = cloudformation_json.get("Properties", {}).get("Layers") or []
        if layers:
            fn.update_configuration({"Layers": layers})
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]
    _applied = True
