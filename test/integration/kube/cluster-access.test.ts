import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import {
  ClusterDeletingError,
  ClusterGoneError,
  ClusterNotFoundError,
  ClusterNotReadyError,
  getClusterAccess,
  KubeClient,
  KubeUnreachableError,
  withKubeClient,
  type ClusterAccess,
} from '../../../functions/src/kube';
import { startMoto, type MotoServer } from '../../../scripts/local';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDMOTO', secretAccessKey: 'moto-secret' };

/** A free loopback port: bind to 0, read the port, release it. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

/**
 * A real EKS client against moto. moto creates every cluster ACTIVE; `statusOverride` rewrites the
 * status in DescribeCluster's parsed answer, only to reach the DELETING/CREATING/FAILED branches
 * moto cannot produce.
 */
function eksClient(endpoint: string, statusOverride?: string): EKSClient {
  const eks = new EKSClient({ region, endpoint, credentials, maxAttempts: 1 });
  if (statusOverride) {
    eks.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as { cluster?: { status?: string } };
        if (output.cluster) output.cluster.status = statusOverride;
        return result;
      },
      { step: 'initialize', name: 'statusOverride' },
    );
  }
  return eks;
}

describe('getClusterAccess', () => {
  let moto: MotoServer;
  let created: { endpoint: string; caBase64: string };
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    const { cluster } = await eksClient(moto.endpoint).send(
      new CreateClusterCommand({
        name: 'ci',
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1', 'subnet-2'] },
      }),
    );
    created = { endpoint: cluster!.endpoint!, caBase64: cluster!.certificateAuthority!.data! };
  });
  afterAll(async () => {
    await moto?.stop();
  });
  afterEach(() => {
    process.env = { ...savedEnv };
  });

  describe('from DescribeCluster', () => {
    test('returns the endpoint, the decoded CA and an EKS token signed with the client credentials', async () => {
      // act
      const access = await getClusterAccess({ clusterName: 'ci', eks: eksClient(moto.endpoint) });

      // assess
      expect(access.clusterName).toBe('ci');
      expect(access.server).toBe(created.endpoint);
      expect(access.caData).toBe(Buffer.from(created.caBase64, 'base64').toString('utf8'));
      expect(access.status).toBe('ACTIVE');
      const url = new URL(Buffer.from(access.token!.replace(/^k8s-aws-v1\./, ''), 'base64url').toString());
      expect(url.host).toBe(`sts.${region}.amazonaws.com`);
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(
        new RegExp(`^AKIDMOTO/\\d{8}/${region}/sts/aws4_request$`),
      );
      expect(typeof access.refreshToken).toBe('function');
    });

    test('uses a default client from the environment (AWS_REGION, AWS_ENDPOINT_URL_EKS)', async () => {
      process.env.AWS_REGION = region;
      process.env.AWS_ENDPOINT_URL_EKS = moto.endpoint;
      process.env.AWS_ACCESS_KEY_ID = 'AKIDENV';
      process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
      delete process.env.AWS_PROFILE;
      delete process.env.KUBECFN_CLUSTER_ACCESS;

      const access = await getClusterAccess({ clusterName: 'ci' });

      expect(access.server).toBe(created.endpoint);
      const url = new URL(Buffer.from(access.token!.replace(/^k8s-aws-v1\./, ''), 'base64url').toString());
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDENV\//);
    });

    test('a cluster that does not exist is ClusterNotFoundError, a ClusterGoneError, naming the property', async () => {
      const error = await getClusterAccess({ clusterName: 'nope', eks: eksClient(moto.endpoint) }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(ClusterNotFoundError);
      expect(error).toBeInstanceOf(ClusterGoneError);
      expect((error as Error).message).toBe(`ClusterName 'nope': cluster not found in region ${region}`);
    });

    test('an aborted signal (the deadline guard has answered) stops DescribeCluster: nothing goes on', async () => {
      const calls: string[] = [];
      const eks = eksClient(moto.endpoint);
      eks.middlewareStack.add(
        (next) => async (args) => {
          calls.push('DescribeCluster');
          return next(args);
        },
        { step: 'build', name: 'countCalls' },
      );
      const guard = new AbortController();
      guard.abort(new Error('the deadline guard has answered'));

      const error = await getClusterAccess({ clusterName: 'ci', eks, signal: guard.signal }).catch((e: unknown) => e);

      expect((error as Error).message).toBe('the deadline guard has answered');
      expect(calls).toEqual([]);
      // and one aborted while DescribeCluster is on its way ends with the abort's reason, not a DescribeCluster error
      const late = new AbortController();
      const pending = getClusterAccess({ clusterName: 'ci', eks: eksClient(moto.endpoint), signal: late.signal });
      late.abort(new Error('answered meanwhile'));
      await expect(pending).rejects.toThrow('answered meanwhile');
    });

    test('a cluster being deleted is ClusterDeletingError, a ClusterGoneError', async () => {
      const error = await getClusterAccess({ clusterName: 'ci', eks: eksClient(moto.endpoint, 'DELETING') }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(ClusterDeletingError);
      expect(error).toBeInstanceOf(ClusterGoneError);
      expect((error as Error).message).toBe(
        `ClusterName 'ci': cluster is being deleted (status DELETING) in region ${region}`,
      );
    });

    test.each([
      ['CREATING', /cluster is not ready \(status CREATING\).*expected ACTIVE/],
      ['FAILED', /cluster creation failed \(status FAILED\)/],
    ])('a %s cluster is ClusterNotReadyError with a clear message', async (status, message) => {
      const error = await getClusterAccess({ clusterName: 'ci', eks: eksClient(moto.endpoint, status) }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(ClusterNotReadyError);
      expect(error).not.toBeInstanceOf(ClusterGoneError);
      expect((error as Error).message).toMatch(/^ClusterName 'ci': /);
      expect((error as Error).message).toMatch(message);
    });

    test('an unreachable EKS API is an error naming the cluster and the call', async () => {
      const port = await freePort();
      const error = await getClusterAccess({ clusterName: 'ci', eks: eksClient(`http://127.0.0.1:${port}`) }).catch(
        (e: unknown) => e,
      );

      expect(error).not.toBeInstanceOf(ClusterGoneError);
      expect((error as Error).message).toMatch(
        new RegExp(`^ClusterName 'ci': DescribeCluster failed in region ${region}: `),
      );
    });
  });

  describe('explicit', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

    test('skips DescribeCluster and decodes base64 PEM', async () => {
      // The EKS client points nowhere: any call to it would fail.
      const unreachable = eksClient(`http://127.0.0.1:${await freePort()}`);

      const access = await getClusterAccess({
        clusterName: 'local',
        eks: unreachable,
        explicit: {
          server: 'https://127.0.0.1:6443',
          caData: Buffer.from(pem).toString('base64'),
          token: 'static',
          clientKey: pem,
        },
      });

      expect(access).toEqual({
        clusterName: 'local',
        server: 'https://127.0.0.1:6443',
        caData: pem,
        token: 'static',
        clientKey: pem,
      });
    });

    test('reads KUBECFN_CLUSTER_ACCESS as JSON keyed by cluster name', async () => {
      process.env.KUBECFN_CLUSTER_ACCESS = JSON.stringify({
        local: { server: 'https://127.0.0.1:6443', caData: pem, token: 't' },
      });

      const access = await getClusterAccess({ clusterName: 'local', eks: eksClient(moto.endpoint) });

      expect(access).toEqual({ clusterName: 'local', server: 'https://127.0.0.1:6443', caData: pem, token: 't' });
    });

    test('reads KUBECFN_CLUSTER_ACCESS as a file path, with "*" matching any cluster', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kubecfn-access-'));
      try {
        const file = join(dir, 'access.json');
        writeFileSync(file, JSON.stringify({ '*': { server: 'https://127.0.0.1:7443', caData: pem } }));
        process.env.KUBECFN_CLUSTER_ACCESS = file;

        const access = await getClusterAccess({ clusterName: 'generated-name-1a2b', eks: eksClient(moto.endpoint) });

        expect(access).toEqual({ clusterName: 'generated-name-1a2b', server: 'https://127.0.0.1:7443', caData: pem });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('falls through to DescribeCluster for a cluster KUBECFN_CLUSTER_ACCESS does not list', async () => {
      process.env.KUBECFN_CLUSTER_ACCESS = JSON.stringify({ local: { server: 'https://127.0.0.1:6443', caData: pem } });

      const access = await getClusterAccess({ clusterName: 'ci', eks: eksClient(moto.endpoint) });

      expect(access.server).toBe(created.endpoint);
    });

    test.each([
      ['{"local": ', /^KUBECFN_CLUSTER_ACCESS: invalid JSON/],
      ['{"local": {"server": "not a url", "caData": "x"}}', /^KUBECFN_CLUSTER_ACCESS: expected .*server/s],
      [
        '/nonexistent/kubecfn-access.json',
        /^KUBECFN_CLUSTER_ACCESS: expected JSON or the path of a JSON file, could not read/,
      ],
    ])('rejects a bad KUBECFN_CLUSTER_ACCESS (%s) naming the variable', async (value, message) => {
      process.env.KUBECFN_CLUSTER_ACCESS = value;

      await expect(getClusterAccess({ clusterName: 'local', eks: eksClient(moto.endpoint) })).rejects.toThrow(message);
    });

    test('rejects an empty ClusterName', async () => {
      await expect(getClusterAccess({ clusterName: '' })).rejects.toThrow(
        /^ClusterName: expected the name of an EKS cluster/,
      );
    });
  });
});

describe('a KubeClient for the access', () => {
  /** A CA, a server certificate for 127.0.0.1 and a client certificate, made by the openssl CLI. */
  let pki: {
    ca: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
    otherCa: string;
  };
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubecfn-pki-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      '/CN=kubecfn-test-ca',
      '-days',
      '2',
    );
    openssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'other.key',
      '-out',
      'other.crt',
      '-subj',
      '/CN=other-ca',
      '-days',
      '2',
    );
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const [name, cn] of [
      ['server', '127.0.0.1'],
      ['client', 'kubecfn-test-user'],
    ]) {
      openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    }
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    pki = {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      otherCa: read('other.crt'),
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** An HTTPS server answering /version like an API server and recording what each request presented. */
  async function startApiServer() {
    const seen: { authorization?: string; clientCn?: string }[] = [];
    const server: Server = createHttpsServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        seen.push({ authorization: req.headers.authorization, clientCn: peer?.subject?.CN?.toString() });
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            major: '1',
            minor: '33',
            gitVersion: 'v1.33.0',
            gitCommit: 'x',
            gitTreeState: 'clean',
            buildDate: '2025-01-01T00:00:00Z',
            goVersion: 'go1.24',
            compiler: 'gc',
            platform: 'linux/amd64',
          }),
        );
      },
    );
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    return { url: `https://127.0.0.1:${port}`, seen, close: () => new Promise((ok) => server.close(ok)) };
  }

  /** `GET /version` through a client of its own, as the providers ask. */
  const gitVersion = (client: KubeClient) =>
    client.request<{ gitVersion: string }>('GET', '/version').then((v) => v.gitVersion);

  test('trusts the CA and sends the token and client certificate', async () => {
    const api = await startApiServer();
    try {
      const access: ClusterAccess = {
        clusterName: 'local',
        server: api.url,
        caData: pki.ca,
        token: 'static-token',
        clientCert: pki.clientCert,
        clientKey: pki.clientKey,
      };

      const version = await withKubeClient(access, gitVersion);

      expect(version).toBe('v1.33.0');
      expect(api.seen).toEqual([{ authorization: 'Bearer static-token', clientCn: 'kubecfn-test-user' }]);
    } finally {
      await api.close();
    }
  });

  test('refuses a server its CA did not sign, naming the cluster and the server', async () => {
    const api = await startApiServer();
    try {
      const access: ClusterAccess = {
        clusterName: 'local',
        server: api.url,
        caData: pki.otherCa,
        token: 'static-token',
      };

      const error = await withKubeClient(access, gitVersion).catch((e: unknown) => e);

      // A certificate verification failure (the exact code depends on the OpenSSL build), before any request is sent.
      expect(error).toBeInstanceOf(KubeUnreachableError);
      expect((error as Error).message).toMatch(
        new RegExp(`^ClusterName 'local': cannot reach the API server at ${api.url.replace(/\./g, '\\.')}: `),
      );
      expect(String(((error as Error).cause as { code?: string })?.code)).toMatch(/CERT|ISSUER|SIGNATURE/);
      expect(api.seen).toEqual([]);
    } finally {
      await api.close();
    }
  });

  describe('EKS token refresh', () => {
    afterEach(() => jest.restoreAllMocks());

    test('uses the token getClusterAccess minted, then mints again after 10 minutes', async () => {
      // given: access whose token expires (the shape getClusterAccess returns for EKS)
      const api = await startApiServer();
      let minted = 0;
      const access: ClusterAccess = {
        clusterName: 'ci',
        server: api.url,
        caData: pki.ca,
        token: 'k8s-aws-v1.initial',
        refreshToken: async () => `k8s-aws-v1.minted-${++minted}`,
      };
      const start = Date.now();
      const clock = jest.spyOn(Date, 'now').mockReturnValue(start);
      const client = new KubeClient(access);
      try {
        // when: two requests now, one 9 minutes later, one 10 minutes later, one more after that
        await Promise.all([gitVersion(client), gitVersion(client)]);
        clock.mockReturnValue(start + 9 * 60_000);
        await gitVersion(client);
        clock.mockReturnValue(start + 10 * 60_000);
        await gitVersion(client);
        await gitVersion(client);

        // then: one minting, shared by the requests after it
        expect(api.seen.map((s) => s.authorization)).toEqual([
          'Bearer k8s-aws-v1.initial',
          'Bearer k8s-aws-v1.initial',
          'Bearer k8s-aws-v1.initial',
          'Bearer k8s-aws-v1.minted-1',
          'Bearer k8s-aws-v1.minted-1',
        ]);
        expect(minted).toBe(1);
      } finally {
        client.close();
        await api.close();
      }
    });

    test('does not keep a failed minting: the next request mints again', async () => {
      const api = await startApiServer();
      let calls = 0;
      const access: ClusterAccess = {
        clusterName: 'ci',
        server: api.url,
        caData: pki.ca,
        refreshToken: async () => {
          if (++calls === 1) throw new Error('credentials not ready');
          return 'k8s-aws-v1.second';
        },
      };
      const client = new KubeClient(access);
      try {
        await expect(gitVersion(client)).rejects.toThrow('credentials not ready');
        await gitVersion(client);

        expect(api.seen.map((s) => s.authorization)).toEqual(['Bearer k8s-aws-v1.second']);
      } finally {
        client.close();
        await api.close();
      }
    });
  });
});
