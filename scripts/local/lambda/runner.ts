/**
 * A local stand-in for the Lambda service, for tests, benchmarks and the embedded local mode:
 * each invocation runs the built package's index.js in a fresh Node process with a real deadline
 * (the process is killed when it passes, as Lambda does), and an HTTP endpoint speaks the Lambda
 * Invoke API so the runtime's asynchronous self-invocation (continuation) works unchanged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readZip } from '../../dev/build/zip';

export interface FunctionConfig {
  /** Function name; the Invoke API routes by it (or by an ARN ending in it). */
  name: string;
  /** The package (lambda.zip) to run. */
  zipFile: string;
  /** Like the function's Timeout. */
  timeoutSeconds: number;
  /** Extra environment for the function (on top of region, credentials and the Invoke endpoint). */
  environment?: Record<string, string>;
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
}

const MARKER = '__KUBECFN_LAMBDA_RESULT__';

/**
 * @example
 * const lambda = await LocalLambda.start([{ name: 'KubeProvider', zipFile, timeoutSeconds: 30 }]);
 * await lambda.invoke('KubeProvider', event);
 * await lambda.idle();   // every asynchronous continuation has finished
 * await lambda.stop();
 */
export class LocalLambda {
  readonly invocations: Invocation[] = [];
  private readonly running = new Set<Promise<Invocation>>();
  private readonly processes = new Set<ChildProcess>();
  /** One unpacking per function, shared by concurrent first invocations (no half-written index.js). */
  private readonly dirs = new Map<string, Promise<string>>();

  private constructor(
    private readonly server: Server,
    private readonly functions: Map<string, FunctionConfig>,
    private readonly root: string,
  ) {}

  /** The endpoint to give functions as `AWS_ENDPOINT_URL_LAMBDA`. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(functions: FunctionConfig[]): Promise<LocalLambda> {
    const root = await mkdtemp(join(tmpdir(), 'kubecfn-lambda-'));
    const server = createServer();
    const lambda = new LocalLambda(server, new Map(functions.map((f) => [f.name, f])), root);
    server.on('request', (req, res) => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const name = match ? decodeURIComponent(match[1]!).split(':').pop()! : '';
        if (!match || req.method !== 'POST' || !lambda.functions.has(name)) {
          res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
          return res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        }
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        const invocation = lambda.invoke(name, event);
        if (req.headers['x-amz-invocation-type'] === 'Event') {
          res.writeHead(202, { 'x-amzn-requestid': randomUUID() });
          return res.end();
        }
        invocation.then((inv) => {
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
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return lambda;
  }

  private codeDir(config: FunctionConfig): Promise<string> {
    let dir = this.dirs.get(config.name);
    if (!dir) {
      const target = join(this.root, config.name);
      dir = (async () => {
        for (const [name, file] of await readZip(config.zipFile)) {
          await mkdir(dirname(join(target, name)), { recursive: true });
          await writeFile(join(target, name), file.data, { mode: file.mode || 0o644 });
        }
        return target;
      })();
      this.dirs.set(config.name, dir);
    }
    return dir;
  }

  /** Runs one invocation to its end (or its deadline). */
  invoke(name: string, event: unknown): Promise<Invocation> {
    const config = this.functions.get(name);
    if (!config) return Promise.reject(new Error(`no local function ${name}`));
    const p = this.run(config, event);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  private async run(config: FunctionConfig, event: unknown): Promise<Invocation> {
    const dir = await this.codeDir(config);
    const requestId = randomUUID();
    const timeoutMs = config.timeoutSeconds * 1000;
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', join(__dirname, 'child.cjs'), dir, String(timeoutMs), config.name, requestId],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          TZ: 'UTC',
          AWS_REGION: 'us-east-1',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_LAMBDA_FUNCTION_NAME: config.name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
          AWS_ENDPOINT_URL_LAMBDA: this.endpoint,
          ...config.environment,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.processes.add(child);
    child.on('close', () => this.processes.delete(child));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stdin.end(JSON.stringify(event));
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    clearTimeout(killer);
    const at = out.lastIndexOf(MARKER);
    const outcome = at >= 0 && !timedOut ? JSON.parse(out.slice(at + MARKER.length).trim()) : {};
    const invocation: Invocation = {
      functionName: config.name,
      requestId,
      event,
      timedOut,
      durationMs: Date.now() - started,
      logs: at >= 0 ? out.slice(0, at) : out,
      ...outcome,
    };
    this.invocations.push(invocation);
    return invocation;
  }

  /** Resolves when no invocation is running, including continuations started meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Waits for every invocation to end, then closes the Invoke endpoint. With `force`, running
   * invocations are killed first (as when a local session is interrupted).
   */
  async stop(opts: { force?: boolean } = {}): Promise<void> {
    if (opts.force) for (const child of this.processes) child.kill('SIGKILL');
    await this.idle();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.root, { recursive: true, force: true });
  }
}
