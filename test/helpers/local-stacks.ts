// What the small e2e stacks share: the provider packages in a bucket of the local S3, and the VPC,
// subnets and EKS cluster every such stack starts from.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { type LocalDeployment, localRegion } from '../../scripts/local';

/**
 * Creates `bucket` in the local S3 and uploads `objects` (key → local file) as the deployer.
 *
 * @example
 * await uploadObjects(local, 'kubecfn-test', { 'kube.zip': packageZip('KubeProvider') });
 */
export async function uploadObjects(
  local: LocalDeployment,
  bucket: string,
  objects: Record<string, string>,
): Promise<void> {
  const s3 = new S3Client({
    region: localRegion,
    endpoint: local.aws.moto.endpoint,
    forcePathStyle: true,
    credentials: local.aws.deployer,
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, file] of Object.entries(objects))
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }));
  } finally {
    s3.destroy();
  }
}

/**
 * The `Resources` entries of a VPC (`<cidr>.0.0/16`), two subnets in two zones, the cluster role and
 * an EKS cluster `name` in access-entry mode (its creator an admin), to go under `Resources:`.
 * `version` sets the cluster's Version (default: none, the control plane's own).
 */
export function eksClusterResources(opts: { cidr: string; name: string; version?: string }): string {
  return `  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: ${opts.cidr}.0.0/16}
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: ${opts.cidr}.1.0/24, AvailabilityZone: us-east-1a}
  SubnetB:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: ${opts.cidr}.2.0/24, AvailabilityZone: us-east-1b}
  ClusterRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: eks.amazonaws.com}, Action: 'sts:AssumeRole'}]
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: ${opts.name}
${opts.version ? `      Version: '${opts.version}'\n` : ''}      RoleArn: !GetAtt ClusterRole.Arn
      ResourcesVpcConfig: {SubnetIds: [!Ref SubnetA, !Ref SubnetB]}
      AccessConfig: {AuthenticationMode: API, BootstrapClusterCreatorAdminPermissions: true}`;
}
