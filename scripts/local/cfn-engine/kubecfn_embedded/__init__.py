"""kubecfn's embedded CloudFormation engine for moto server.

moto's CloudFormation creates a stack synchronously within the CreateStack call, sends custom
resources a Create event only (and runs Lambda code only in Docker), skips AWS::EKS::* types, does
not implement `Fn::GetAtt Child.Outputs.X` and emits no resource events. Local mode needs all of
that to behave as in AWS, so this package replaces moto's stack lifecycle with an engine of its own
(engine.py) while keeping moto's API, serialization and AWS backends: see patches.py for exactly
what is replaced, handlers.py for what each resource type does, custom_resources.py for the
custom-resource protocol against the local Lambda service.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Applies the patches to moto (once). Called from sitecustomize.py before moto's server starts."""
    global _installed
    if _installed:
        return
    from . import iam_enforcement, lambda_model, nested_stack_ids, patches, policy_conditions, sts_identity

    patches.apply()
    lambda_model.apply()
    iam_enforcement.install()
    sts_identity.install()
    policy_conditions.install()
    nested_stack_ids.install()
    _installed = True
