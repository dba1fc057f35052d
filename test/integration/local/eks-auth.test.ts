// The local control plane authenticates EKS tokens as EKS does: the presigned GetCallerIdentity is
// checked by the local STS (signature, session, cluster name), and the principal is mapped by the
// cluster's access entries and their access policies, or by aws-auth; anything else is 401.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEksToken } from '../../../functions/src/kube/token';
import {
  createEksAuthenticator,
  motoEnv,
  startEmbeddedAws,
  startLocalCluster,
  type EksAccessState,
  type EmbeddedAws,
  type LocalCluster,
} from '../../../scripts/local';

const ROLE = 'arn:aws:iam::123456789012:role/kubecfn/provider';
let dir: string;
let aws: EmbeddedAws;
let cluster: LocalCluster;
let accessFile: string;
let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
let signedAt = Date.now() - 60_000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubecfn-eks-auth-'));
  accessFile = join(dir, 'eks-access.json');
  aws = await startEmbeddedAws({ dir });
  const eks = createEksAuthenticator({ stsVerifyEndpoint: aws.stsVerifyEndpoint, accessFile });
  cluster = await startLocalCluster({ nodes: false, authenticate: eks.authenticate });
  await eks.attach(cluster);
  // the credentials a Lambda function would run with: a session of its execution role
  const env = motoEnv(aws.moto.endpoint);
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: aws.moto.endpoint,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'fn' }))).Credentials!;
  credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh token (a new signing second, so the API server's authentication cache never answers). */
const token = (clusterName = 'ci', creds = credentials) =>
  getEksToken({ clusterName, region: 'us-east-1', credentials: async () => creds, now: new Date((signedAt += 1000)) });

const access = (state: EksAccessState) => writeFileSync(accessFile, JSON.stringify(state));

function call(bearer: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const req = request(
      new URL(path, cluster.server),
      {
        method,
        ca: cluster.caData,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('access entries', () => {
  test('without an access entry the token is refused with 401', async () => {
    access({ clusters: { ci: { authenticationMode: 'API', accessEntries: [] } } });

    const res = await call(await token(), 'GET', '/api/v1/namespaces');

    expect(res.status).toBe(401);
  });

  test('AmazonEKSClusterAdminPolicy on the role makes it cluster admin', async () => {
    access({
      clusters: {
        ci: {
          authenticationMode: 'API',
          accessEntries: [
            {
              principalArn: ROLE,
              accessPolicies: [
                {
                  policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
                  accessScope: { type: 'cluster' },
                },
              ],
            },
          ],
        },
      },
    });

    const res = await call(await token(), 'POST', '/api/v1/namespaces', namespace('made-by-the-role'));

    expect(res.status).toBe(201);
  });

  test('AmazonEKSViewPolicy in one namespace reads there and nowhere else, and writes nothing', async () => {
    access({
      clusters: {
        ci: {
          authenticationMode: 'API',
          accessEntries: [
            {
              principalArn: ROLE,
              accessPolicies: [
                {
                  policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
                  accessScope: { type: 'namespace', namespaces: ['made-by-the-role'] },
                },
              ],
            },
          ],
        },
      },
    });
    const bearer = await token();

    const inside = await call(bearer, 'GET', '/api/v1/namespaces/made-by-the-role/configmaps');
    const elsewhere = await call(bearer, 'GET', '/api/v1/namespaces/kube-system/configmaps');
    const write = await call(bearer, 'POST', '/api/v1/namespaces/made-by-the-role/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    });

    expect(inside.status).toBe(200);
    expect(elsewhere.status).toBe(403);
    expect(write.status).toBe(403);
    // the server's own words name the session's user
    expect(write.text).toContain('arn:aws:sts::123456789012:assumed-role/provider/fn');
  });

  test('a token signed for another cluster is refused', async () => {
    access({
      clusters: {
        ci: {
          authenticationMode: 'API',
          accessEntries: [{ principalArn: ROLE, kubernetesGroups: ['system:masters'] }],
        },
      },
    });

    const res = await call(await token('someone-elses-cluster'), 'GET', '/api/v1/namespaces');

    expect(res.status).toBe(401);
  });

  test('a token signed with a wrong secret is refused', async () => {
    const forged = { ...credentials, secretAccessKey: 'not-the-secret' };

    const res = await call(await token('ci', forged), 'GET', '/api/v1/namespaces');

    expect(res.status).toBe(401);
  });
});

describe('aws-auth', () => {
  test('in API_AND_CONFIG_MAP mode a role mapped in aws-auth gets its groups', async () => {
    access({ clusters: { ci: { authenticationMode: 'API_AND_CONFIG_MAP', accessEntries: [] } } });
    const admin = cluster.token;
    const before = await call(await token(), 'GET', '/api/v1/namespaces');
    await call(admin, 'POST', '/api/v1/namespaces/kube-system/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'aws-auth', namespace: 'kube-system' },
      data: { mapRoles: `- rolearn: ${ROLE}\n  username: provider:{{SessionName}}\n  groups: [system:masters]\n` },
    });

    const after = await call(await token(), 'GET', '/api/v1/namespaces');

    expect(before.status).toBe(401);
    expect(after.status).toBe(200);
  });

  test('in API mode aws-auth is not read', async () => {
    access({ clusters: { ci: { authenticationMode: 'API', accessEntries: [] } } });

    const res = await call(await token(), 'GET', '/api/v1/namespaces');

    expect(res.status).toBe(401);
  });
});
