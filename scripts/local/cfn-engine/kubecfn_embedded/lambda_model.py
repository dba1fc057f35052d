"""What moto's CloudFormation model of AWS::Lambda::Function leaves out, put back.

moto's ``LambdaFunction.create_from_cloudformation_json`` copies a fixed list of properties and drops
``Layers`` (its update path, through ``update_configuration``, keeps them). A function created from a
template would then run without its layers, and the local Lambda service, which runs what the
function declares, could not find ``/opt/bin/helm``. Creation here applies ``Layers`` the way
UpdateFunctionConfiguration does, which also refuses a layer version that does not exist.

Inline code (``Code.ZipFile``) is packaged by moto as ``index.py`` whatever the runtime; Lambda saves
it as ``index.js`` for a Node.js runtime (``index.py`` for Python), so creation here names the file
after the function's runtime.
"""

from __future__ import annotations

import contextvars
import io
import zipfile
from typing import Any

from moto.awslambda.models import LambdaFunction

# The file name inline code gets, for the create under way (set around moto's create).
_inline_name: contextvars.ContextVar[str] = contextvars.ContextVar("inline_name", default="index.py")


def _inline_zip(code: str) -> bytes:
    """Inline code as Lambda packages it: one file, named for the runtime."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_inline_name.get(), code)
    return out.getvalue()


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
        runtime = str(cloudformation_json.get("Properties", {}).get("Runtime", ""))
        token = _inline_name.set("index.js" if runtime.startswith("nodejs") else "index.py")
        try:
            fn: LambdaFunction = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        finally:
            _inline_name.reset(token)
        layers = cloudformation_json.get("Properties", {}).get("Layers") or []
        if layers:
            fn.update_configuration({"Layers": layers})
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]
    LambdaFunction._create_zipfile_from_plaintext_code = staticmethod(_inline_zip)  # type: ignore[method-assign]
    _applied = True
