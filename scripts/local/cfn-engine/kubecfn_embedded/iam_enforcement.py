"""IAM enforced on every AWS call made over HTTP, as in an AWS account.

When ``KUBECFN_ENFORCE_IAM=1`` (``npm start`` sets it; the embedded AWS then also sets moto's
``INITIAL_NO_AUTH_ACTION_COUNT=0``), moto checks each request's SigV4 signature against the IAM users and
STS sessions it knows, and each action against the caller's policies. The local cloud adds:

- the deployer: an IAM user whose access key the embedded AWS chooses (``KUBECFN_DEPLOYER_ACCESS_KEY_ID``,
  ``KUBECFN_DEPLOYER_SECRET_ACCESS_KEY``), with the inline policies ``KUBECFN_DEPLOYER_POLICIES`` names (a
  JSON object of policy name to document: ``npm start`` gives it docs/iam/deploy-policy.json and the upload
  permissions), or allowed everything without it;
- CloudFormation acting with the caller's permissions (there is no service role locally): before the
  engine creates, updates or deletes a resource, the calls CloudFormation would make for it with the
  caller's credentials (``calls_for``) are judged against the caller's policies (``authorize_resource``),
  and a call the policies do not allow fails the resource as CloudFormation reports it, naming the
  action. A custom resource is CloudFormation's ``lambda:InvokeFunction`` of its ServiceToken with the
  caller's permissions; the Invoke itself then reaches the local Lambda service as CloudFormation;
- ``authorize(principal, action, resource)``: the same judgment for the local Lambda service's Invoke API
  (sts_identity.py's ``/authorize``), so a provider's continuation Invoke needs ``lambda:InvokeFunction``
  on its function as in AWS;
- resource scoping where moto cannot tell the resource: moto names the resource of most non-S3 actions
  ``*``, against which a statement scoped to an ARN (``eks:DescribeCluster`` on the cluster's ARN) would
  never match. Such statements are judged by their actions alone: a missing action is refused as in AWS,
  a resource ARN that names the wrong cluster is not, and a Deny scoped to an ARN does not apply
  (listed as an emulation in scripts/local/README.md).

The Lambda service's own AssumeRole of an execution role does not go through HTTP (sts_identity.py).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ResourceFailure

if TYPE_CHECKING:
    from .engine import StackEngine

ACCOUNT_ID = "123456789012"
DEPLOYER = "kubecfn-deployer"
_ADMIN = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def enforced() -> bool:
    return os.environ.get("KUBECFN_ENFORCE_IAM") == "1"


def install() -> None:
    """Creates the deployer and relaxes resource matching for unknown resources (when enforced)."""
    if not enforced():
        return
    _judge_unknown_resources_by_action()
    _check_signatures_as_sigv4_defines()
    _answer_json_services_in_json()
    _read_policies_given_as_objects()
    _name_actions_as_iam_does()
    policies = json.loads(os.environ.get("KUBECFN_DEPLOYER_POLICIES") or "null") or {"administrator": _ADMIN}
    _create_deployer(
        os.environ["KUBECFN_DEPLOYER_ACCESS_KEY_ID"],
        os.environ["KUBECFN_DEPLOYER_SECRET_ACCESS_KEY"],
        {name: doc if isinstance(doc, str) else json.dumps(doc) for name, doc in policies.items()},
    )


def _create_deployer(access_key_id: str, secret: str, policies: dict[str, str]) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT_ID]["aws"]
    iam.create_user("us-east-1", DEPLOYER, path="/", tags=[])
    for name, document in policies.items():
        iam.put_user_policy(DEPLOYER, name, document)
    key = iam.create_access_key(DEPLOYER)
    key.access_key_id = access_key_id
    key.secret_access_key = secret


def _check_signatures_as_sigv4_defines() -> None:
    from moto.iam.access_control import IAMRequest

    from .sts_identity import verify_header_signature

    original = IAMRequest.check_signature

    def check_signature(self: IAMRequest) -> None:
        try:
            original(self)  # right for the query protocols (IAM, STS, EC2, CloudFormation)
        except Exception:
            secret = str(getattr(self._access_key, "_secret_access_key", ""))
            body = self._body if isinstance(self._body, bytes) else str(self._body or "").encode()
            if not verify_header_signature(self._method, self._path, dict(self._headers), body, secret):
                raise

    IAMRequest.check_signature = check_signature  # type: ignore[method-assign,assignment]


def _answer_json_services_in_json() -> None:
    """A refused call to a JSON service (EKS, Lambda, ECR, ...) answers as that service does: JSON, not XML."""
    import botocore.session
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError, _RESTError

    protocols: dict[str, str] = {}
    session = botocore.session.get_session()

    def protocol_of(service: str) -> str:
        if service not in protocols:
            try:
                protocols[service] = str(session.get_service_model(service).metadata.get("protocol", ""))
            except Exception:
                protocols[service] = ""
        return protocols[service]

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: ActionAuthenticatorMixin, resource: str = "*") -> None:
        try:
            original(self, resource)
        except _RESTError as err:
            authorization = str(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
            service = authorization.split("Credential=", 1)[-1].split("/")[3] if "Credential=" in authorization else ""
            if protocol_of(service) not in ("json", "rest-json"):
                raise
            code = "AccessDeniedException" if err.error_type == "AccessDenied" else err.error_type
            raise JsonRESTError(code, err.message) from err

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


def _read_policies_given_as_objects() -> None:
    """A role made by CloudFormation keeps its inline PolicyDocument as an object; moto's check wants text."""
    import json

    from moto.iam.access_control import IAMPolicy

    original = IAMPolicy.__init__

    def init(self: IAMPolicy, policy: Any) -> None:
        if isinstance(policy, dict) and "policy_document" not in policy:
            policy = json.dumps(policy)
        original(self, policy)

    IAMPolicy.__init__ = init  # type: ignore[method-assign]


# API operations whose IAM action has another name (moto judges the operation's name).
_IAM_ACTION_OF_OPERATION = {"s3:HeadBucket": "s3:ListBucket"}


def _name_actions_as_iam_does() -> None:
    """HeadBucket is authorized as s3:ListBucket in AWS (there is no s3:HeadBucket action)."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: IAMRequestBase, resource: str) -> None:
        self._action = _IAM_ACTION_OF_OPERATION.get(self._action, self._action)
        original(self, resource)

    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _judge_unknown_resources_by_action() -> None:
    from moto.iam.access_control import IAMPolicyStatement

    original = IAMPolicyStatement._check_element_matches

    def matches(self: IAMPolicyStatement, statement_element: Any, value: str) -> bool:
        if statement_element == "Resource" and value == "*":
            # Allow statements count by their action; a Deny scoped to some ARN is not taken to cover all.
            return bool(self._statement.get("Effect") == "Allow")
        result: bool = original(self, statement_element, value)
        return result

    IAMPolicyStatement._check_element_matches = matches  # type: ignore[method-assign]


class AccessDenied(Exception):  # noqa: N818 - IAM's own name for it
    """A call the principal's policies do not allow; the message is IAM's."""

    def __init__(self, principal: str, action: str, resource: str) -> None:
        super().__init__(
            f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action"
        )
        self.action = action


def _policy_documents(principal: str) -> list[Any]:
    """The identity policies of an IAM user (its own and its groups') or a role (also as an assumed-role ARN)."""
    from moto.iam.models import iam_backends

    match = re.match(r"^arn:([^:]+):(?:iam|sts)::(\d+):(user|role|assumed-role)/(.+)$", principal)
    if not match:
        return []
    partition, account_id, kind, rest = match.groups()
    iam = iam_backends[account_id][partition]
    documents: list[Any] = []
    if kind == "user":
        name = rest.split("/")[-1]
        owners = [("user", name)] + [("group", g.name) for g in iam.get_groups_for_user(name)]
        for owner_kind, owner in owners:
            if owner_kind == "user":
                documents += [iam.get_user_policy(owner, p)["policy_document"] for p in iam.list_user_policies(owner)]
                attached, _ = iam.list_attached_user_policies(owner)
            else:
                documents += [iam.get_group_policy(owner, p)["policy_document"] for p in iam.list_group_policies(owner)]
                attached, _ = iam.list_attached_group_policies(owner)
            documents += attached
    else:
        name = rest.split("/")[0] if kind == "assumed-role" else rest.split("/")[-1]
        documents += [iam.get_role_policy(name, p)[1] for p in iam.list_role_policies(name)]
        attached, _ = iam.list_attached_role_policies(name)
        documents += attached
    return documents


def is_allowed(principal: str, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """IAM's judgment of one call: some identity policy allows it and none denies it."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    allowed = False
    for document in _policy_documents(principal):
        policy = IAMPolicy(json.dumps(document) if isinstance(document, dict) else document)
        result = policy.is_action_permitted(action, resource, incoming_condition_values=context)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed


def authorize(principal: str, action: str, resource: str, context: dict[str, str] | None = None) -> None:
    """Raises AccessDenied unless ``principal``'s policies allow ``action`` on ``resource``."""
    if not is_allowed(principal, action, resource, context):
        raise AccessDenied(principal, action, resource)


@dataclass(frozen=True)
class Call:
    """One call CloudFormation makes for a resource: the action, its resource, and its condition keys."""

    action: str
    resource: str = "*"
    context: dict[str, str] = field(default_factory=dict)


# The first call CloudFormation makes to create, update and delete each resource type, with the caller's
# credentials (the further calls of a type, such as tagging, are judged by moto where they reach it over HTTP,
# and are not repeated here). Types not listed are not judged.
_CREATE: dict[str, list[str]] = {
    "AWS::CloudFormation::Stack": ["cloudformation:CreateStack"],
    "AWS::EC2::VPC": ["ec2:CreateVpc"],
    "AWS::EC2::InternetGateway": ["ec2:CreateInternetGateway"],
    "AWS::EC2::VPCGatewayAttachment": ["ec2:AttachInternetGateway"],
    "AWS::EC2::Subnet": ["ec2:CreateSubnet"],
    "AWS::EC2::RouteTable": ["ec2:CreateRouteTable"],
    "AWS::EC2::Route": ["ec2:CreateRoute"],
    "AWS::EC2::SubnetRouteTableAssociation": ["ec2:AssociateRouteTable"],
    "AWS::EC2::EIP": ["ec2:AllocateAddress"],
    "AWS::EC2::NatGateway": ["ec2:CreateNatGateway"],
    "AWS::EC2::VPCEndpoint": ["ec2:CreateVpcEndpoint"],
    "AWS::EC2::FlowLog": ["ec2:CreateFlowLogs"],
    "AWS::EC2::SecurityGroup": ["ec2:CreateSecurityGroup"],
    "AWS::EC2::SecurityGroupIngress": ["ec2:AuthorizeSecurityGroupIngress"],
    "AWS::EC2::SecurityGroupEgress": ["ec2:AuthorizeSecurityGroupEgress"],
    "AWS::EC2::LaunchTemplate": ["ec2:CreateLaunchTemplate"],
    "AWS::EC2::Instance": ["ec2:RunInstances"],
    "AWS::EFS::FileSystem": ["elasticfilesystem:CreateFileSystem"],
    "AWS::EFS::MountTarget": ["elasticfilesystem:CreateMountTarget"],
    "AWS::EKS::Cluster": ["eks:CreateCluster"],
    "AWS::EKS::Nodegroup": ["eks:CreateNodegroup"],
    "AWS::EKS::Addon": ["eks:CreateAddon"],
    "AWS::EKS::AccessEntry": ["eks:CreateAccessEntry"],
    "AWS::EKS::PodIdentityAssociation": ["eks:CreatePodIdentityAssociation"],
    "AWS::IAM::Role": ["iam:CreateRole"],
    "AWS::IAM::RolePolicy": ["iam:PutRolePolicy"],
    "AWS::IAM::Policy": ["iam:CreatePolicy"],
    "AWS::IAM::ManagedPolicy": ["iam:CreatePolicy"],
    "AWS::IAM::InstanceProfile": ["iam:CreateInstanceProfile"],
    "AWS::KMS::Key": ["kms:CreateKey"],
    "AWS::KMS::Alias": ["kms:CreateAlias"],
    "AWS::Logs::LogGroup": ["logs:CreateLogGroup"],
    "AWS::Lambda::Function": ["lambda:CreateFunction"],
    "AWS::Lambda::LayerVersion": ["lambda:PublishLayerVersion"],
    "AWS::Lambda::EventInvokeConfig": ["lambda:PutFunctionEventInvokeConfig"],
    "AWS::Lambda::Permission": ["lambda:AddPermission"],
}
_UPDATE: dict[str, list[str]] = {
    "AWS::CloudFormation::Stack": ["cloudformation:UpdateStack"],
    "AWS::Lambda::Function": ["lambda:UpdateFunctionConfiguration"],
    "AWS::Lambda::EventInvokeConfig": ["lambda:UpdateFunctionEventInvokeConfig"],
    "AWS::IAM::Role": ["iam:GetRole"],
    "AWS::IAM::RolePolicy": ["iam:PutRolePolicy"],
    "AWS::EKS::Addon": ["eks:UpdateAddon"],
    "AWS::EKS::AccessEntry": ["eks:UpdateAccessEntry"],
    "AWS::EKS::Nodegroup": ["eks:UpdateNodegroupConfig"],
    "AWS::Logs::LogGroup": ["logs:PutRetentionPolicy"],
}
_DELETE: dict[str, list[str]] = {
    "AWS::CloudFormation::Stack": ["cloudformation:DeleteStack"],
    "AWS::EC2::VPC": ["ec2:DeleteVpc"],
    "AWS::EC2::InternetGateway": ["ec2:DeleteInternetGateway"],
    "AWS::EC2::VPCGatewayAttachment": ["ec2:DetachInternetGateway"],
    "AWS::EC2::Subnet": ["ec2:DeleteSubnet"],
    "AWS::EC2::RouteTable": ["ec2:DeleteRouteTable"],
    "AWS::EC2::Route": ["ec2:DeleteRoute"],
    "AWS::EC2::SubnetRouteTableAssociation": ["ec2:DisassociateRouteTable"],
    "AWS::EC2::EIP": ["ec2:ReleaseAddress"],
    "AWS::EC2::NatGateway": ["ec2:DeleteNatGateway"],
    "AWS::EC2::VPCEndpoint": ["ec2:DeleteVpcEndpoints"],
    "AWS::EC2::FlowLog": ["ec2:DeleteFlowLogs"],
    "AWS::EC2::SecurityGroup": ["ec2:DeleteSecurityGroup"],
    "AWS::EC2::SecurityGroupIngress": ["ec2:RevokeSecurityGroupIngress"],
    "AWS::EC2::SecurityGroupEgress": ["ec2:RevokeSecurityGroupEgress"],
    "AWS::EC2::LaunchTemplate": ["ec2:DeleteLaunchTemplate"],
    "AWS::EC2::Instance": ["ec2:TerminateInstances"],
    "AWS::EFS::FileSystem": ["elasticfilesystem:DeleteFileSystem"],
    "AWS::EFS::MountTarget": ["elasticfilesystem:DeleteMountTarget"],
    "AWS::EKS::Cluster": ["eks:DeleteCluster"],
    "AWS::EKS::Nodegroup": ["eks:DeleteNodegroup"],
    "AWS::EKS::Addon": ["eks:DeleteAddon"],
    "AWS::EKS::AccessEntry": ["eks:DeleteAccessEntry"],
    "AWS::EKS::PodIdentityAssociation": ["eks:DeletePodIdentityAssociation"],
    "AWS::IAM::Role": ["iam:DeleteRole"],
    "AWS::IAM::RolePolicy": ["iam:DeleteRolePolicy"],
    "AWS::IAM::Policy": ["iam:DeletePolicy"],
    "AWS::IAM::ManagedPolicy": ["iam:DeletePolicy"],
    "AWS::IAM::InstanceProfile": ["iam:DeleteInstanceProfile"],
    "AWS::KMS::Key": ["kms:ScheduleKeyDeletion"],
    "AWS::KMS::Alias": ["kms:DeleteAlias"],
    "AWS::Logs::LogGroup": ["logs:DeleteLogGroup"],
    "AWS::Lambda::Function": ["lambda:DeleteFunction"],
    "AWS::Lambda::LayerVersion": ["lambda:DeleteLayerVersion"],
    "AWS::Lambda::EventInvokeConfig": ["lambda:DeleteFunctionEventInvokeConfig"],
    "AWS::Lambda::Permission": ["lambda:RemovePermission"],
}
# The role a resource hands to a service (iam:PassRole, with iam:PassedToService), by type: (property, service).
_PASSES_ROLE: dict[str, tuple[str, str]] = {
    "AWS::Lambda::Function": ("Role", "lambda.amazonaws.com"),
    "AWS::EKS::Cluster": ("RoleArn", "eks.amazonaws.com"),
    "AWS::EKS::Nodegroup": ("NodeRole", "eks.amazonaws.com"),
    "AWS::EKS::PodIdentityAssociation": ("RoleArn", "pods.eks.amazonaws.com"),
    "AWS::EC2::FlowLog": ("DeliverLogsPermissionArn", "vpc-flow-logs.amazonaws.com"),
}


def _s3_object_arn(bucket: Any, key: Any) -> str | None:
    return f"arn:aws:s3:::{bucket}/{key}" if isinstance(bucket, str) and isinstance(key, str) else None


def _template_url_arn(url: Any) -> str | None:
    """The S3 object a TemplateURL names (virtual-hosted or path-style)."""
    if not isinstance(url, str):
        return None
    match = re.match(r"^https?://([^./]+)\.s3[.-][^/]*amazonaws\.com/(.+)$", url) or re.match(
        r"^https?://s3[.-][^/]*amazonaws\.com/([^/]+)/(.+)$", url
    )
    return _s3_object_arn(match.group(1), match.group(2)) if match else None


def calls_for(operation: str, resource_type: str, props: dict[str, Any], region: str, account_id: str) -> list[Call]:
    """The calls CloudFormation makes with the caller's credentials to ``operation`` (create, update, delete)
    a resource of ``resource_type`` with ``props``: the type's own call, the role it passes, the S3 objects
    it reads, and for a custom resource the Invoke of its ServiceToken."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        token = props.get("ServiceToken")
        return [Call("lambda:InvokeFunction", token if isinstance(token, str) else "*")]
    table = {"create": _CREATE, "update": _UPDATE, "delete": _DELETE}[operation]
    calls = [Call(action) for action in table.get(resource_type, [])]
    if operation == "delete":
        return calls
    if resource_type == "AWS::Lambda::Function" and calls:
        name = props.get("FunctionName")
        if isinstance(name, str):
            calls[0] = Call(calls[0].action, f"arn:aws:lambda:{region}:{account_id}:function:{name}")
        code = props.get("Code") or {}
        if isinstance(code, dict) and (arn := _s3_object_arn(code.get("S3Bucket"), code.get("S3Key"))):
            calls.append(Call("s3:GetObject", arn))
    if resource_type == "AWS::Lambda::LayerVersion":
        name = props.get("LayerName")
        if isinstance(name, str) and calls:
            calls[0] = Call(calls[0].action, f"arn:aws:lambda:{region}:{account_id}:layer:{name}")
        content = props.get("Content") or {}
        if isinstance(content, dict) and (arn := _s3_object_arn(content.get("S3Bucket"), content.get("S3Key"))):
            calls.append(Call("s3:GetObject", arn))
    if resource_type == "AWS::IAM::Role" and operation == "create":
        name = props.get("RoleName")
        if isinstance(name, str):
            calls[0] = Call("iam:CreateRole", f"arn:aws:iam::{account_id}:role{props.get('Path') or '/'}{name}")
        if props.get("Policies"):
            calls.append(Call("iam:PutRolePolicy"))
        if props.get("ManagedPolicyArns"):
            calls.append(Call("iam:AttachRolePolicy"))
    if resource_type == "AWS::CloudFormation::Stack" and (arn := _template_url_arn(props.get("TemplateURL"))):
        calls.append(Call("s3:GetObject", arn))
    if resource_type in _PASSES_ROLE:
        prop, service = _PASSES_ROLE[resource_type]
        role = props.get(prop)
        if isinstance(role, str) and role.startswith("arn:"):
            calls.append(Call("iam:PassRole", role, {"iam:PassedToService": service}))
    return calls


def authorize_resource(engine: StackEngine, operation: str, resource_type: str, props: dict[str, Any]) -> None:
    """CloudFormation acts with the caller's permissions: a call they do not allow fails the resource."""
    if not enforced():
        return
    principal = engine.caller_principal()
    if principal is None:
        return
    for call in calls_for(operation, resource_type, props, engine.region, engine.account_id):
        if not is_allowed(principal, call.action, call.resource, call.context or None):
            raise ResourceFailure(
                f'Resource handler returned message: "{AccessDenied(principal, call.action, call.resource)} '
                f'(Service: {call.action.split(":")[0]}, Status Code: 403)" (HandlerErrorCode: AccessDenied)'
            )
