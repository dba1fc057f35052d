/**
 * A local stand-in for the Lambda service, for tests, benchmarks and the embedded local mode.
 *
 * It runs what a function's definition declares, as Lambda does:
 * - the code package (for the embedded mode: the S3 object the template names, as moto read it
 *   at CreateFunction, exported by the engine), unpacked once per package;
 * - `Runtime` (only `nodejs24.x` is emulated: anything else fails closed), `Handler`
 *   (`file.export`), `Timeout` (the process is killed at the deadline), `MemorySize` (the V8 heap
 *   is capped as Lambda's Node runtime caps it), `Environment`;
 * - `Layers`, extracted in order into a directory mounted at `/opt` in a private mount namespace
 *   (`unshare`), so code that looks in `/opt` finds exactly the function's layers;
 * - asynchronous invocations (`X-Amz-Invocation-Type: Event`, what CloudFormation and the
 *   runtime's continuation use) that end in a function error or a timeout are retried
 *   `MaximumRetryAttempts` times (Lambda's default 2) after Lambda's delays (about 1 and 2
 *   minutes), and dropped once older than `MaximumEventAgeInSeconds`;
 * - with `duplicateAsync`, every asynchronous event is delivered twice, as Lambda's at-least-once
 *   delivery may;
 * - with `chaos`, faults Lambda may show are injected and counted ({@link LocalLambda.injected}): the
 *   first continuation invocation of each CloudFormation request crashes at its start (a function
 *   error, retried as Lambda retries one), and the first invocation of each request that starts a
 *   step is killed with SIGKILL a moment later (the process dies mid-step, as when the sandbox goes).
 * Each invocation is a fresh Node process; an HTTP endpoint speaks the Lambda Invoke API. Every
 * other Lambda API call a function makes (GetFunctionConfiguration, UpdateFunctionConfiguration…)
 * is forwarded, signature and all, to the local AWS in `network.AWS_ENDPOINT_URL` (moto's Lambda API,
 * which holds the definitions), or answered 404 without one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readZip } from '../../dev/build/zip';
import { repoRoot } from '../../dev/paths.cjs';
import type { InvokeAuthorizer } from './invoke-authorization';

/** One function, as its definition declares it. */
export interface FunctionConfig {
  /** Function name; the Invoke API routes by it (or by an ARN ending in it). */
  name: string;
  /** The code package (a Lambda zip) to run. */
  zipFile: string;
  /** The function's Timeout. */
  timeoutSeconds: number;
  /** MemorySize in MB; 512 unless given (the providers' templates give 512). */
  memoryMb?: number;
  /** Runtime; `nodejs24.x` unless given. Only `nodejs24.x` is emulated. */
  runtime?: string;
  /** Handler, `file.export`; `index.handler` unless given. */
  handler?: string;
  /** Layer zips, extracted in this order into `/opt`. */
  layers?: string[];
  /** The function's own Environment (on top of what Lambda sets and the local network's endpoints). */
  environment?: Record<string, string>;
  /** The execution role: with `assumeRole`, the function runs with a session of it, as in Lambda. */
  role?: string;
  /** Retries of a failed asynchronous invocation (EventInvokeConfig); Lambda's default is 2. */
  maximumRetryAttempts?: number;
  /** Age after which an asynchronous event is dropped (EventInvokeConfig); Lambda's default is 6 hours. */
  maximumEventAgeSeconds?: number;
}

export interface Invocation {
  functionName: string;
  requestId: string;
  event: unknown;
  /** What the handler returned, or its error. */
  result?: unknown;
  errorType?: string;
  errorMessage?: string;
  /** True when the process was still running at the deadline and was killed. */
  timedOut: boolean;
  durationMs: number;
  /** Everything the function printed (its structured log lines). */
  logs: string;
  /** True for an asynchronous (Event) invocation. */
  async?: boolean;
  /** 0 for the first delivery, 1 and 2 for Lambda's retries after a function error or timeout. */
  attempt?: number;
  /** True for the second delivery of an event (`duplicateAsync`). */
  duplicate?: boolean;
  /** The fault injected into this invocation, if any (`chaos`). */
  injected?: 'crash-at-start' | 'killed-mid-step';
}

/** Faults of Lambda the local service can inject (see {@link LocalLambdaOptions.chaos}). */
export interface LambdaChaos {
  /** The first continuation invocation of each CloudFormation request crashes at its start. */
  crashContinuation?: boolean;
  /** The first invocation of each CloudFormation request that starts a step is killed (SIGKILL) mid-step. */
  killMidStep?: boolean;
}

/** What was injected so far: extra deliveries, crashed continuations, processes killed mid-step. */
export interface LambdaInjected {
  duplicateDeliveries: number;
  crashedContinuations: number;
  killedMidStep: number;
}

/** Options of {@link LocalLambda.start}. */
export interface LocalLambdaOptions {
  /**
   * Directory of function definitions (`<name>.json`, see {@link FunctionDefinition}) that the
   * embedded CloudFormation engine exports from the local Lambda API; names not given to
   * `start` are looked up there on every invocation, so an updated function runs its new code.
   */
  definitionsDir?: string;
  /** Environment every function gets on top of its own: the local cloud's endpoints (its "network"). */
  network?: Record<string, string>;
  /** Delays before the retries of a failed asynchronous invocation. Lambda's: about 1 and 2 minutes. */
  asyncRetryDelaysMs?: readonly number[];
  /** Delivers every asynchronous event twice (Lambda's asynchronous delivery is at-least-once). */
  duplicateAsync?: boolean;
  /** Faults to inject into asynchronous invocations of CloudFormation requests; each is counted in `injected`. */
  chaos?: LambdaChaos;
  /** The Region functions run in (`AWS_REGION`); us-east-1 unless given. */
  region?: string;
  /** The account in the functions' ARNs; moto's default account unless given. */
  accountId?: string;
  /**
   * Gets a session of a function's execution role (the local STS's AssumeRole), so that the function's
   * AWS calls are made, and authorized, as that role. Without it, functions get placeholder keys.
   */
  assumeRole?: (roleArn: string, sessionName: string) => Promise<RoleCredentials>;
  /**
   * Authorizes each call of the Invoke API before it runs anything (see invoke-authorization.ts); without
   * it, every caller may invoke every function.
   */
  authorizeInvoke?: InvokeAuthorizer;
}

/** Temporary credentials of a role session. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When they stop working. */
  expiration: Date;
}

/** A function definition as the embedded engine writes it (`<definitionsDir>/<name>.json`). */
export interface FunctionDefinition {
  name: string;
  /** The execution role's ARN. */
  role?: string;
  runtime: string;
  handler: string;
  timeout: number;
  memorySize: number;
  environment: Record<string, string>;
  /** The code package the function was created from. */
  code: string;
  /** Layer packages in the function's order. */
  layers: string[];
  maximumRetryAttempts?: number;
  maximumEventAgeInSeconds?: number;
}

/**
 * A Lambda API call other than Invoke, passed to the local AWS as it came: method, path, headers
 * (the Host the caller signed included, so the SigV4 signature still holds) and body.
 */
function forward(req: IncomingMessage, res: ServerResponse, endpoint: string): void {
  const target = new URL(endpoint);
  const out = httpRequest(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', (err) => {
    res.writeHead(502, { 'content-type': 'application/json', 'x-amzn-errortype': 'ServiceException' });
    res.end(JSON.stringify({ Type: 'Service', message: `local Lambda API unreachable: ${err.message}` }));
  });
  req.pipe(out);
}

/** Lambda's delays before the two retries of a failed asynchronous invocation. */
export const LAMBDA_ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;
const EMULATED_RUNTIME = 'nodejs24.x';
const MARKER = '__KUBECFN_LAMBDA_RESULT__';
/** How long after a provider logs "step started" the kill of `chaos.killMidStep` comes. */
const KILL_AFTER_STEP_START_MS = 300;

/** A CloudFormation request's identity in an event (stack, logical id, request id), or undefined for other events. */
function requestKey(event: unknown): string | undefined {
  const e = event as { StackId?: unknown; LogicalResourceId?: unknown; RequestId?: unknown } | null;
  if (!e || typeof e !== 'object' || typeof e.RequestId !== 'string') return undefined;
  return `${String(e.StackId)}|${String(e.LogicalResourceId)}|${e.RequestId}`;
}

/** Lambda's payload limits: 1 MB for an asynchronous (Event) invocation, 6 MB for a synchronous one. */
export const ASYNC_PAYLOAD_LIMIT = 1_048_576;
export const SYNC_PAYLOAD_LIMIT = 6_291_456;

/** Lambda's RequestEntityTooLargeException message for a payload over its limit, or undefined. */
function payloadLimitError(bytes: number, async: boolean): string | undefined {
  const limit = async ? ASYNC_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
  if (bytes <= limit) return undefined;
  return `${bytes} byte payload is too large for the ${async ? 'Event' : 'RequestResponse'} invocation type (limit ${limit} bytes)`;
}

/** Whether this machine lets an unprivileged process mount a private /opt (user + mount namespaces). */
function isolationCommand(): string[] | undefined {
  const asRoot = process.getuid?.() === 0;
  const prefix = ['unshare', '--mount', '--propagation', 'private', ...(asRoot ? [] : ['--user', '--map-root-user'])];
  const probe = spawnSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? prefix : undefined;
}

/**
 * @example
 * const lambda = await LocalLambda.start([{ name: 'KubeProvider', zipFile, timeoutSeconds: 30 }]);
 * await lambda.invoke('KubeProvider', event);
 * await lambda.idle();   // every asynchronous continuation and retry has finished
 * await lambda.stop();
 */
export class LocalLambda {
  readonly invocations: Invocation[] = [];
  /** Faults injected so far (`duplicateAsync`, `chaos`). */
  readonly injected: LambdaInjected = { duplicateDeliveries: 0, crashedContinuations: 0, killedMidStep: 0 };
  /** Requests whose continuation was crashed, and whose invocation was killed, once each. */
  private readonly crashed = new Set<string>();
  private readonly killed = new Set<string>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly processes = new Set<ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** One unpacking per package, shared by concurrent first invocations (no half-written index.js). */
  private readonly dirs = new Map<string, Promise<string>>();
  private isolation: string[] | undefined | null = null;
  /** Role sessions by role and function, reused until 5 minutes before they expire (Lambda refreshes them too). */
  private readonly sessions = new Map<string, Promise<RoleCredentials>>();
  private stopping = false;

  private constructor(
    private readonly server: Server,
    private readonly functions: Map<string, FunctionConfig>,
    private readonly root: string,
    private readonly opts: LocalLambdaOptions,
  ) {}

  /** The endpoint to give functions as `AWS_ENDPOINT_URL_LAMBDA`. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(functions: FunctionConfig[], opts: LocalLambdaOptions = {}): Promise<LocalLambda> {
    const root = await mkdtemp(join(tmpdir(), 'kubecfn-lambda-'));
    const server = createServer();
    const lambda = new LocalLambda(server, new Map(functions.map((f) => [f.name, f])), root, opts);
    server.on('request', (req, res) => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      const api = opts.network?.AWS_ENDPOINT_URL;
      if (!match && api) return forward(req, res, api);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const name = match ? decodeURIComponent(match[1]!).split(':').pop()! : '';
        // Lambda authorizes the caller before anything else (invoke-authorization.ts).
        if (match && opts.authorizeInvoke) {
          void opts
            .authorizeInvoke({
              method: req.method ?? 'POST',
              url: req.url ?? '',
              headers: req.headers,
              body: Buffer.concat(chunks),
              functionArn: lambda.functionArn(name),
            })
            .then((denial) => {
              if (!denial) return dispatch();
              res.writeHead(denial.status, { 'content-type': 'application/json', 'x-amzn-errortype': denial.code });
              res.end(JSON.stringify({ Type: 'User', message: denial.message }));
            });
          return;
        }
        dispatch();
      });
      const dispatch = () => {
        const name = match ? decodeURIComponent(match[1]!).split(':').pop()! : '';
        const config = match && req.method === 'POST' ? lambda.configOf(name) : undefined;
        if (!config) {
          res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
          return res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        }
        const body = Buffer.concat(chunks);
        const tooLarge = payloadLimitError(body.length, req.headers['x-amz-invocation-type'] === 'Event');
        if (tooLarge) {
          res.writeHead(413, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'RequestEntityTooLargeException',
          });
          return res.end(JSON.stringify({ Type: 'User', message: tooLarge }));
        }
        const event = JSON.parse(body.toString('utf8') || '{}');
        if (req.headers['x-amz-invocation-type'] === 'Event') {
          lambda.invokeAsync(config, event);
          res.writeHead(202, { 'x-amzn-requestid': randomUUID() });
          return res.end();
        }
        void lambda.track(lambda.run(config, event, {})).then((inv) => {
          const headers: Record<string, string> = {
            'content-type': 'application/json',
            'x-amz-executed-version': '$LATEST',
          };
          if (inv.errorType || inv.timedOut) headers['x-amz-function-error'] = 'Unhandled';
          res.writeHead(200, headers);
          res.end(
            JSON.stringify(
              inv.errorType || inv.timedOut
                ? { errorType: inv.errorType ?? 'Sandbox.Timedout', errorMessage: inv.errorMessage }
                : inv.result,
            ),
          );
        });
      };
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return lambda;
  }

  /** The ARN of the function `name` in this service's Region and account. */
  functionArn(name: string): string {
    return `arn:aws:lambda:${this.opts.region ?? 'us-east-1'}:${this.opts.accountId ?? '123456789012'}:function:${name}`;
  }

  /** A function given to `start`, else the definition the engine exported last under that name. */
  private configOf(name: string): FunctionConfig | undefined {
    const given = this.functions.get(name);
    if (given || !this.opts.definitionsDir) return given;
    const file = join(this.opts.definitionsDir, `${name}.json`);
    if (!existsSync(file)) return undefined;
    const d = JSON.parse(readFileSync(file, 'utf8')) as FunctionDefinition;
    return {
      name: d.name,
      zipFile: d.code,
      timeoutSeconds: d.timeout,
      memoryMb: d.memorySize,
      runtime: d.runtime,
      handler: d.handler,
      layers: d.layers,
      environment: d.environment,
      ...(d.role ? { role: d.role } : {}),
      ...(d.maximumRetryAttempts !== undefined ? { maximumRetryAttempts: d.maximumRetryAttempts } : {}),
      ...(d.maximumEventAgeInSeconds !== undefined ? { maximumEventAgeSeconds: d.maximumEventAgeInSeconds } : {}),
    };
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  /** Unpacks zips into a directory named by their content's identity, once. */
  private unpacked(kind: string, zips: string[]): Promise<string> {
    const key = `${kind}:${zips.join('\n')}`;
    let dir = this.dirs.get(key);
    if (!dir) {
      const target = join(this.root, kind, createHash('sha256').update(key).digest('hex').slice(0, 16));
      dir = (async () => {
        await mkdir(target, { recursive: true });
        for (const zip of zips) {
          for (const [name, file] of await readZip(zip)) {
            await mkdir(dirname(join(target, name)), { recursive: true });
            await writeFile(join(target, name), file.data, { mode: file.mode || 0o644 });
          }
        }
        return target;
      })();
      this.dirs.set(key, dir);
    }
    return dir;
  }

  /** Runs one synchronous invocation to its end (or its deadline). */
  invoke(name: string, event: unknown): Promise<Invocation> {
    const config = this.configOf(name);
    if (!config) return Promise.reject(new Error(`no local function ${name}`));
    return this.track(this.run(config, event, {}));
  }

  /**
   * Queues an asynchronous invocation as Lambda does: delivered (twice with `duplicateAsync`),
   * retried after a function error or timeout, dropped when too old.
   */
  invokeAsync(config: FunctionConfig, event: unknown): void {
    const queuedAt = Date.now();
    const delays = this.opts.asyncRetryDelaysMs ?? LAMBDA_ASYNC_RETRY_DELAYS_MS;
    const retries = Math.min(config.maximumRetryAttempts ?? 2, delays.length);
    const maxAgeMs = (config.maximumEventAgeSeconds ?? 21_600) * 1000;
    const deliver = (attempt: number, duplicate: boolean) =>
      this.track(this.run(config, event, { async: true, attempt, duplicate })).then((inv) => {
        const failed = inv.errorType !== undefined || inv.timedOut;
        if (!failed || attempt >= retries || this.stopping) return;
        const delay = delays[attempt]!;
        if (Date.now() + delay - queuedAt > maxAgeMs) return;
        this.later(delay, () => deliver(attempt + 1, duplicate));
      });
    void deliver(0, false);
    // The second copy arrives a moment later, as a duplicate would: the first is usually under way.
    if (this.opts.duplicateAsync) {
      this.injected.duplicateDeliveries++;
      this.later(50 + Math.floor(Math.random() * 450), () => deliver(0, true));
    }
  }

  /** Runs `fn` after `ms`; idle() waits for it, stop() cancels it. */
  private later(ms: number, fn: () => Promise<unknown>): void {
    let release!: () => void;
    const pending = new Promise<void>((ok) => (release = ok));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void fn().finally(release);
    }, ms);
    this.timers.add(timer);
    void this.track(pending);
    (timer as NodeJS.Timeout & { release?: () => void }).release = release;
  }

  private async run(
    config: FunctionConfig,
    event: unknown,
    delivery: { async?: boolean; attempt?: number; duplicate?: boolean },
  ): Promise<Invocation> {
    const requestId = randomUUID();
    const started = Date.now();
    const record = (outcome: Partial<Invocation>): Invocation => {
      const invocation: Invocation = {
        functionName: config.name,
        requestId,
        event,
        timedOut: false,
        durationMs: Date.now() - started,
        logs: '',
        ...(delivery.async ? { async: true, attempt: delivery.attempt ?? 0 } : {}),
        ...(delivery.duplicate ? { duplicate: true } : {}),
        ...outcome,
      };
      this.invocations.push(invocation);
      return invocation;
    };
    const key = delivery.async ? requestKey(event) : undefined;
    const chaos = this.opts.chaos ?? {};
    if (
      key &&
      chaos.crashContinuation &&
      (event as { KubecfnContinuation?: unknown }).KubecfnContinuation !== undefined &&
      !this.crashed.has(key)
    ) {
      // What Lambda reports when the runtime dies before the handler returns (here: before it starts).
      this.crashed.add(key);
      this.injected.crashedContinuations++;
      return record({
        injected: 'crash-at-start',
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status 1 (injected: crash at start)`,
      });
    }
    const runtime = config.runtime ?? EMULATED_RUNTIME;
    if (runtime !== EMULATED_RUNTIME) {
      return record({
        errorType: 'Runtime.NotEmulated',
        errorMessage: `The local Lambda service runs only ${EMULATED_RUNTIME}; ${config.name} declares Runtime ${runtime}`,
      });
    }
    const [file, exportName] = splitHandler(config.handler ?? 'index.handler');
    if (!file) {
      return record({
        errorType: 'Runtime.MalformedHandlerName',
        errorMessage: `Bad handler ${config.handler}: expected <file>.<export>`,
      });
    }
    const taskRoot = await this.unpacked('task', [config.zipFile]);
    const layers = config.layers ?? [];
    if (this.isolation === null) this.isolation = isolationCommand();
    if (layers.length > 0 && !this.isolation) {
      return record({
        errorType: 'Runtime.NotEmulated',
        errorMessage: `${config.name} has Layers, which the local Lambda service mounts at /opt in a private mount namespace; 'unshare --mount' is not permitted on this machine (run as root, or enable unprivileged user namespaces)`,
      });
    }
    const optDir = await this.unpacked('opt', layers);
    let credentials: Record<string, string> = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    if (this.opts.assumeRole) {
      if (!config.role) {
        return record({ errorType: 'Runtime.NotEmulated', errorMessage: `${config.name} has no execution role` });
      }
      try {
        const c = await this.session(config.role, config.name);
        credentials = {
          AWS_ACCESS_KEY_ID: c.accessKeyId,
          AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
          AWS_SESSION_TOKEN: c.sessionToken,
        };
      } catch (err) {
        // What Lambda reports when it cannot assume the execution role.
        return record({
          errorType: 'Lambda.AccessDeniedException',
          errorMessage: `The role defined for the function cannot be assumed by Lambda (${config.role}): ${(err as Error).message}`,
        });
      }
    }
    const memoryMb = config.memoryMb ?? 512;
    const semiSpaceMb = Math.max(1, Math.floor(memoryMb / 64));
    const timeoutMs = config.timeoutSeconds * 1000;
    const region = this.opts.region ?? 'us-east-1';
    const nodeArgs = [
      '--enable-source-maps',
      // Lambda's Node runtime caps the heap (young and old generations) below the function's memory.
      `--max-semi-space-size=${semiSpaceMb}`,
      `--max-old-space-size=${Math.max(16, Math.floor(memoryMb * 0.9) - 3 * semiSpaceMb)}`,
      join(__dirname, 'child.cjs'),
      taskRoot,
      file,
      exportName,
      String(timeoutMs),
      config.name,
      requestId,
      String(memoryMb),
      this.functionArn(config.name),
    ];
    // sh -c 'mount --bind "$0" /opt && exec "$@"' <opt> node ...: /opt holds the layers and nothing else.
    const [cmd, ...args] = this.isolation
      ? [...this.isolation, 'sh', '-c', 'mount --bind "$0" /opt && exec "$@"', optDir, process.execPath, ...nodeArgs]
      : [process.execPath, ...nodeArgs];
    const child = spawn(cmd!, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TZ: 'UTC',
        // What Lambda sets for every function.
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: config.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${config.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `local/${requestId}`,
        LAMBDA_TASK_ROOT: taskRoot,
        // Lambda's module path: the layers' Node.js folders, then the runtime's own modules, which carry
        // the AWS SDK for JavaScript v3; here the project's pinned SDK clients stand in for those.
        NODE_PATH: ['/opt/nodejs/node24/node_modules', '/opt/nodejs/node_modules', join(repoRoot, 'node_modules')].join(
          ':',
        ),
        _HANDLER: config.handler ?? 'index.handler',
        AWS_ENDPOINT_URL_LAMBDA: this.endpoint,
        ...this.opts.network,
        ...config.environment,
        // Lambda's reserved variables: a function's own Environment cannot replace them.
        ...credentials,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.processes.add(child);
    child.on('close', () => this.processes.delete(child));
    let out = '';
    let injected: Invocation['injected'];
    let killTimer: NodeJS.Timeout | undefined;
    const watchForStep = key && chaos.killMidStep && !this.killed.has(key);
    const onOutput = (c: string) => {
      out += c;
      // The first invocation of the request to start a step dies a moment later, mid-step.
      if (!watchForStep || killTimer || this.killed.has(key) || !out.includes('"step started"')) return;
      killTimer = setTimeout(() => {
        // A step shorter than the delay escapes: a later invocation of the request is killed instead.
        if (child.exitCode !== null || child.signalCode !== null || this.killed.has(key)) return;
        this.killed.add(key);
        injected = 'killed-mid-step';
        this.injected.killedMidStep++;
        child.kill('SIGKILL');
      }, KILL_AFTER_STEP_START_MS);
    };
    child.stdout.setEncoding('utf8').on('data', onOutput);
    child.stderr.setEncoding('utf8').on('data', onOutput);
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(event));
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(killer);
    clearTimeout(killTimer);
    const at = out.lastIndexOf(MARKER);
    const outcome: Partial<Invocation> =
      at >= 0 && !timedOut
        ? // The result is one line; the other stream (stderr) may still have appended log lines after it.
          JSON.parse(
            out
              .slice(at + MARKER.length)
              .trimStart()
              .split('\n', 1)[0]!,
          )
        : timedOut
          ? {}
          : {
              // Killed or crashed before it reported (out of memory, process.exit, kill -9).
              errorType: 'Runtime.ExitError',
              errorMessage: `RequestId: ${requestId} Error: Runtime exited ${exit.signal ? `with signal: ${exit.signal}` : `with error: exit status ${exit.code}`}`,
            };
    return record({ timedOut, logs: at >= 0 ? out.slice(0, at) : out, ...outcome, ...(injected ? { injected } : {}) });
  }

  private session(role: string, functionName: string): Promise<RoleCredentials> {
    const key = `${role}\n${functionName}`;
    const cached = this.sessions.get(key);
    const fresh = cached?.then((c) => c.expiration.getTime() - Date.now() > 5 * 60_000).catch(() => false);
    const make = () => {
      const p = this.opts.assumeRole!(role, functionName);
      this.sessions.set(key, p);
      return p;
    };
    if (!cached) return make();
    return fresh!.then((ok) => (ok ? cached : make()));
  }

  /** Resolves when no invocation is running or queued, including continuations and retries started meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Waits for every invocation to end, then closes the Invoke endpoint. With `force`, running
   * invocations are killed and queued retries dropped first (as when a local session is interrupted).
   */
  async stop(opts: { force?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (opts.force) {
      for (const timer of this.timers) {
        clearTimeout(timer);
        (timer as NodeJS.Timeout & { release?: () => void }).release?.();
      }
      this.timers.clear();
      for (const child of this.processes) child.kill('SIGKILL');
    }
    await this.idle();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** `dir/file.export` → [`dir/file`, `export`]; the export is what follows the last dot. */
function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return dot > 0 ? [handler.slice(0, dot), handler.slice(dot + 1)] : ['', ''];
}
