// The local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (fake nodes and pod readiness), on loopback ports chosen at run time,
// with their own CA, RBAC on and service-account signing keys. Tests, benchmarks, the CLI
// (`npm run local:cluster -- up`) and `npm start` all start it through startLocalCluster().
//
// No process is left behind:
// - stop() kills each component's process group (SIGKILL: the state is disposable) and waits for the exits;
// - the parent's exit and SIGINT/SIGTERM/SIGHUP kill every component still running;
// - every component is started through `setpriv --pdeathsig SIGKILL` (util-linux), which sets the
//   kernel's parent-death signal before exec: if the Node process dies without running any handler
//   (SIGKILL, a crashed jest worker), the kernel kills the components at once. No watchdog process,
//   no polling.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ensureKubernetesBinaries } from './k8s/build';
import { startTokenWebhook, type TokenAuthenticator, type TokenWebhook } from './token-webhook';

const execFileAsync = promisify(execFile);

/** A running local control plane. */
export interface LocalCluster {
  /** API server URL, `https://127.0.0.1:<port>`. */
  server: string;
  /** PEM of the cluster CA, which signed the API server's serving certificate. */
  caData: string;
  /** Bearer token of a cluster admin (user `kubecfn-admin`, group `system:masters`). */
  token: string;
  /** Kubeconfig (mode 0600) for kubectl, helm or any client, using `token`. */
  kubeconfigPath: string;
  /** The version the API server reports on /version, e.g. `v1.33.0`. */
  version: string;
  /** The cluster directory: PKI, kubeconfigs, etcd data and one log file per component. */
  dir: string;
  /** The component processes, for callers that check nothing is left behind. */
  processes: ReadonlyArray<{ name: string; pid: number }>;
  /** Stops every component and waits until each has exited; removes the directory if startLocalCluster made it. */
  stop(): Promise<void>;
}

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /**
   * Cluster directory; kept after stop() (its pki, logs and etcd data are replaced on start).
   * Default: a fresh temporary directory, removed by stop().
   */
  dir?: string;
  /** Run kube-scheduler and kwok and register the fake nodes of {@link localNodes}. Default: true. */
  nodes?: boolean;
  /**
   * With `nodes`, register the fake nodes of {@link localNodes}. Default: true. The local cloud's EKS
   * clusters pass false: their nodes come from their node groups (the engine registers them).
   */
  defaultNodes?: boolean;
  /** The cluster and context name in the kubeconfig. Default: `kubecfn-local`. */
  name?: string;
  /** Progress messages. Default: none. */
  log?: (message: string) => void;
  /**
   * Authenticates bearer tokens the static admin tokens do not match, through the API server's
   * token webhook, as EKS authenticates its tokens (the local cloud passes its EKS authenticator).
   * Default: only the static tokens.
   */
  authenticate?: TokenAuthenticator;
  /**
   * Extra kube-apiserver flags, after the defaults. The local cloud passes its pod network's
   * (`scripts/local/aws/pod-network.ts`: endpoint routing and the cluster-network egress proxy), so
   * the API server calls admission webhooks and APIServices at their pods as EKS does.
   * Default: none.
   */
  apiserverArgs?: string[];
}

/** Label selector (and annotation) that marks a Node as kwok's to manage. */
const kwokAnnotation = { key: 'kwok.x-k8s.io/node', value: 'fake' };

/**
 * The fake nodes, labelled like the reference deployment's EKS partitions: an on-demand
 * `system` node for controllers, and a Spot `agents` node for build agents, tainted so that only
 * pods tolerating `kubecfn.io/spot=true:NoSchedule` land there.
 */
export const localNodes = [
  {
    name: 'kwok-system-0',
    labels: {
      'eks.amazonaws.com/nodegroup': 'system',
      'eks.amazonaws.com/capacityType': 'ON_DEMAND',
      'node.kubernetes.io/instance-type': 'm5.large',
      'topology.kubernetes.io/region': 'us-east-1',
      'topology.kubernetes.io/zone': 'us-east-1a',
    },
    taints: [] as Array<{ key: string; value: string; effect: string }>,
  },
  {
    name: 'kwok-agents-0',
    labels: {
      'eks.amazonaws.com/nodegroup': 'agents',
      'eks.amazonaws.com/capacityType': 'SPOT',
      'node.kubernetes.io/instance-type': 'm5.xlarge',
      'topology.kubernetes.io/region': 'us-east-1',
      'topology.kubernetes.io/zone': 'us-east-1b',
    },
    taints: [{ key: 'kubecfn.io/spot', value: 'true', effect: 'NoSchedule' }],
  },
] as const;

const serviceCidr = '10.96.0.0/16';
const serviceApiIp = '10.96.0.1';
const podCidr = '10.244.0.1/16';

// Every component still running in this process, for the exit and signal handlers.
const running = new Set<ChildProcess>();
// Temporary cluster directories to remove if the process ends before stop().
const ownedDirs = new Set<string>();

function killAllNow(): void {
  for (const child of running) killGroup(child, 'SIGKILL');
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  // If nobody else handles the signal, restore the default action (terminate) and re-raise it.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached: the component leads its own process group
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Asks the kernel for `count` distinct free loopback ports (all held open together, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const server = createServer();
          server.once('error', fail);
          server.listen(0, '127.0.0.1', () => ok(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Last lines of a log file, for error messages. */
function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** CA, API server serving certificate and service-account key pair, made with the openssl CLI. */
async function makePki(pki: string): Promise<void> {
  mkdirSync(pki, { recursive: true });
  const openssl = (args: string[]) => execFileAsync('openssl', args, { cwd: pki });
  // P-256 keys: generated in milliseconds, accepted by Go's TLS, Node's TLS and for ES256 tokens.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=kubecfn-local-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const sans = [
    'IP:127.0.0.1',
    `IP:${serviceApiIp}`,
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ].join(',');
  await Promise.all([
    openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.crt',
      '-days',
      '3650',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-subj',
      '/CN=kube-apiserver',
      '-addext',
      `subjectAltName=${sans}`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]),
    openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'webhook.key',
      '-out',
      'webhook.crt',
      '-days',
      '3650',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-subj',
      '/CN=token-authenticator',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]),
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key']).then(() =>
      openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']),
    ),
  ]);
}

function kubeconfig(server: string, caData: string, user: string, token: string, name = 'kubecfn-local'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': Buffer.from(caData).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
  });
}

/**
 * One HTTPS call to the API server with a bearer token (the admin's, for the local cloud's own parts).
 * `opts.accept` replaces the JSON Accept header (e.g. to list metadata only); `opts.timeoutMs` the 5 s.
 */
export function api(
  server: string,
  caData: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { accept?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((ok, fail) => {
    const req = request(
      new URL(path, server),
      {
        method,
        ca: caData,
        headers: {
          authorization: `Bearer ${token}`,
          accept: opts.accept ?? 'application/json',
          'content-type': 'application/json',
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => ok({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function nodeObject(node: (typeof localNodes)[number]): object {
  const resources = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      annotations: { [kwokAnnotation.key]: kwokAnnotation.value, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        ...node.labels,
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: { taints: node.taints },
    // Nodes, unlike most kinds, take their status on create: kwok then keeps it Ready.
    status: {
      allocatable: resources,
      capacity: resources,
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake', kubeProxyVersion: 'fake' },
      phase: 'Running',
    },
  };
}

/** A component ended (or never started) while the cluster was starting: no point waiting further. */
class ComponentExitError extends Error {}

let setprivAvailable: boolean | undefined;

/**
 * Starts a local Kubernetes control plane and waits until it serves: /readyz ok, the `default`
 * service account exists (so the controller manager runs), and, with nodes, every fake node is
 * Ready. Builds the binaries first when the cache lacks them (see scripts/local/cluster/k8s/build.ts).
 * On failure every started process is stopped and the error carries the tail of the failing
 * component's log.
 *
 * @example
 * const cluster = await startLocalCluster();
 * try {
 *   execFileSync(await ensureKubectl(), ['get', 'nodes'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  // A port is free when chosen and bound a moment later; in between, another cluster or any
  // outgoing connection may take it. Rare, but worth a fresh set of ports rather than a red test.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !/address already in use/.test(err.message)) throw err;
      opts.log?.(`a port was taken before its component bound it; retrying with new ports`);
      const kept = /\(cluster directory kept: (.*)\)$/.exec(err.message)?.[1];
      if (kept && opts.dir === undefined) rmSync(kept, { recursive: true, force: true });
    }
  }
}

async function startOnce(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? (() => {});
  const withNodes = opts.nodes ?? true;
  const fakeNodes = withNodes && (opts.defaultNodes ?? true) ? localNodes : [];
  const bins = await ensureKubernetesBinaries();
  installExitHandlers();

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kubecfn-cluster-'));
  if (ownsDir) ownedDirs.add(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = join(dir, 'pki');
  const logs = join(dir, 'logs');
  // Always a fresh cluster: state left by an earlier run in the same directory was made with other keys.
  for (const sub of [pki, logs, join(dir, 'etcd'), join(dir, 'kwok-home')])
    rmSync(sub, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });

  const components: Array<{ name: string; child: ChildProcess; logPath: string; exited: Promise<void> }> = [];
  // Rejects as soon as any component exits on its own, so waits below never outlast a crash.
  let crashed: (reason: Error) => void = () => {};
  const crash = new Promise<never>((_, fail) => (crashed = fail));
  crash.catch(() => {});
  let stopping = false;

  const launch = (name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): void => {
    const logPath = join(logs, `${name}.log`);
    const fd = openSync(logPath, 'a');
    setprivAvailable ??= existsSync('/usr/bin/setpriv');
    const [cmd, argv] = setprivAvailable
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', bin, ...args]]
      : [bin, args];
    const child = spawn(cmd, argv, { cwd: dir, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    running.add(child);
    const exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        running.delete(child);
        if (!stopping) {
          crashed(
            new ComponentExitError(
              `${name} exited with ${signal ?? `code ${code}`}; last lines of ${logPath}:\n${tail(logPath)}`,
            ),
          );
        }
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        if (!stopping) crashed(new ComponentExitError(`${name}: cannot start ${bin}: ${err.message}`));
        running.delete(child);
        resolve();
      });
    });
    components.push({ name, child, logPath, exited });
  };

  // SIGKILL at once: every start begins from empty state, so a graceful shutdown (about a second
  // for kube-apiserver) would only slow every test file down.
  let webhook: TokenWebhook | undefined;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await webhook?.close();
    for (const c of components) killGroup(c.child, 'SIGKILL');
    await Promise.all(components.map((c) => c.exited));
  };

  /** Polls `check` until it returns true, failing early on a crash and late with the component's log. */
  const waitFor = async (
    what: string,
    logOf: string,
    check: () => Promise<boolean>,
    timeoutMs = 60_000,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      try {
        if (await Promise.race([check(), crash])) return;
      } catch (err) {
        if (err instanceof ComponentExitError) throw err;
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        const logPath = join(logs, `${logOf}.log`);
        throw new Error(
          `local cluster: ${what} not within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}; last lines of ${logPath}:\n${tail(logPath)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    const started = Date.now();
    const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
    await makePki(pki);
    const caData = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const server = `https://127.0.0.1:${apiPort}`;
    const token = randomBytes(24).toString('hex');
    const controllerManagerToken = randomBytes(24).toString('hex');
    const schedulerToken = randomBytes(24).toString('hex');
    const kwokToken = randomBytes(24).toString('hex');
    // Static tokens; the scheduler's user gets its rights from the built-in RBAC bindings.
    writeFileSync(
      join(pki, 'tokens.csv'),
      [
        `${token},kubecfn-admin,kubecfn-admin,"system:masters"`,
        // The controller manager runs every controller under its own identity (see below), so it needs all rights.
        `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager,"system:masters"`,
        `${schedulerToken},system:kube-scheduler,system:kube-scheduler`,
        `${kwokToken},kwok-controller,kwok-controller,"system:masters"`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, caData, 'kubecfn-admin', token, opts.name), { mode: 0o600 });
    for (const [name, user, tok] of [
      ['controller-manager', 'system:kube-controller-manager', controllerManagerToken],
      ['scheduler', 'system:kube-scheduler', schedulerToken],
      ['kwok', 'kwok-controller', kwokToken],
    ] as const) {
      writeFileSync(join(pki, `${name}.kubeconfig`), kubeconfig(server, caData, user, tok), { mode: 0o600 });
    }

    launch('etcd', bins.etcd, [
      '--name=local',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=local=http://127.0.0.1:${etcdPeerPort}`,
      '--logger=zap',
      '--log-level=warn',
    ]);
    if (opts.authenticate) {
      webhook = await startTokenWebhook({
        cert: readFileSync(join(pki, 'webhook.crt'), 'utf8'),
        key: readFileSync(join(pki, 'webhook.key'), 'utf8'),
        caData,
        configPath: join(pki, 'authn-webhook.kubeconfig'),
        authenticate: opts.authenticate,
      });
    }
    // The API server retries etcd until it answers, so both start at once.
    launch('kube-apiserver', bins.kubeApiserver, [
      ...(webhook
        ? [
            `--authentication-token-webhook-config-file=${webhook.configPath}`,
            '--authentication-token-webhook-version=v1',
            // Short: access entries and aws-auth change during a deployment, and EKS applies them within seconds.
            '--authentication-token-webhook-cache-ttl=5s',
          ]
        : []),
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      // The "kubernetes" Service cannot point at a loopback address; nothing in-cluster needs it.
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`,
      `--token-auth-file=${join(pki, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      '--allow-privileged=true',
      '--profiling=false',
      // Debian's etcd (3.4.23) lacks the progress notifications watch-list streams need, and with the
      // WatchList gate on (1.34+) the API server turns a watch from resourceVersion 0 into one: it ends
      // at once with "required storage feature RequestWatchProgress is disabled". kwok watches from 0,
      // so it relisted every few seconds and missed deletions (a deleted Node's lease was recreated,
      // without owner). Off, such a watch is a plain one; watch-list clients fall back to LIST/WATCH.
      '--feature-gates=WatchList=false',
      ...(opts.apiserverArgs ?? []),
    ]);
    const admin = (method: string, path: string, body?: unknown) => api(server, caData, token, method, path, body);
    await waitFor(
      'kube-apiserver /readyz',
      'kube-apiserver',
      async () => (await admin('GET', '/readyz')).status === 200,
    );
    log(`kube-apiserver ready at ${server} after ${Date.now() - started} ms`);

    launch('kube-controller-manager', bins.kubeControllerManager, [
      `--kubeconfig=${join(pki, 'controller-manager.kubeconfig')}`,
      '--secure-port=0', // no health endpoint needed: readiness is judged from its work
      '--leader-elect=false',
      // One identity for all controllers: with a service account each, start-up spends ~100 ms per
      // controller creating accounts and tokens (4-5 s in all); nothing here tests controller RBAC.
      '--use-service-account-credentials=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
      `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      // The default set: cloud, node-IPAM and bootstrap-token controllers stay off without a cloud or pod CIDRs.
      '--controllers=*',
      '--profiling=false',
    ]);
    if (withNodes) {
      launch('kube-scheduler', bins.kubeScheduler, [
        `--kubeconfig=${join(pki, 'scheduler.kubeconfig')}`,
        '--secure-port=0',
        '--leader-elect=false',
        '--profiling=false',
      ]);
      // HOME inside the cluster directory: kwok also reads ~/.kwok/kwok.yaml, which must not leak in.
      const kwokHome = join(dir, 'kwok-home');
      mkdirSync(kwokHome, { recursive: true });
      launch(
        'kwok',
        bins.kwok,
        [
          `--kubeconfig=${join(pki, 'kwok.kubeconfig')}`,
          '--manage-all-nodes=false',
          `--manage-nodes-with-annotation-selector=${kwokAnnotation.key}=${kwokAnnotation.value}`,
          `--cidr=${podCidr}`,
          '--node-ip=127.0.0.1',
          '--node-lease-duration-seconds=40',
        ],
        { ...process.env, HOME: kwokHome },
      );
      for (const node of fakeNodes) {
        const res = await admin('POST', '/api/v1/nodes', nodeObject(node));
        if (res.status !== 201)
          throw new Error(`local cluster: creating node ${node.name} answered ${res.status}: ${res.text}`);
      }
    }

    await waitFor('service account default/default (kube-controller-manager)', 'kube-controller-manager', async () => {
      return (await admin('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
    });
    if (fakeNodes.length) {
      await waitFor('fake nodes Ready (kwok)', 'kwok', async () => {
        const res = await admin('GET', `/api/v1/nodes?labelSelector=type%3Dkwok`);
        if (res.status !== 200) return false;
        const items = (
          JSON.parse(res.text) as {
            items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }>;
          }
        ).items;
        const ready = items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === fakeNodes.length;
      });
    }
    const versionRes = await admin('GET', '/version');
    const version = (JSON.parse(versionRes.text) as { gitVersion: string }).gitVersion;
    log(`local cluster ${version} ready in ${Date.now() - started} ms (${dir})`);

    let stopped: Promise<void> | undefined;
    return {
      server,
      caData,
      token,
      kubeconfigPath,
      version,
      dir,
      processes: components.map((c) => ({ name: c.name, pid: c.child.pid! })),
      stop: () =>
        (stopped ??= (async () => {
          await stopAll();
          if (ownsDir) {
            rmSync(dir, { recursive: true, force: true });
            ownedDirs.delete(dir);
          }
        })()),
    };
  } catch (err) {
    await stopAll();
    // Keep the directory (logs) for a look, but tell where it is.
    ownedDirs.delete(dir);
    if (err instanceof Error) err.message += `\n(cluster directory kept: ${dir})`;
    throw err;
  }
}
