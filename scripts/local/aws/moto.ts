// moto server, the local AWS API emulator: started from its own virtual environment (.venv/moto,
// made by scripts/dev/bootstrap.mjs) on a free loopback port, for tests, benchmarks and `npm start`.
//
// Run it by hand with `npx tsx scripts/local/aws/moto.ts`: it prints the environment to point the AWS
// SDK or CLI at it and serves until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../dev/paths.cjs';

/** The repository root (this file lives in scripts/local). */

/** A running moto server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`: the value for `AWS_ENDPOINT_URL`. */
  endpoint: string;
  /** The port it listens on. */
  port: number;
  /** Process id of the server. */
  pid: number;
  /** Stops the server and waits until it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@link startMoto}. */
export interface MotoOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default: a free port chosen at start. */
  port?: number;
  /** The moto virtual environment. Default `<repo>/.venv/moto`. */
  venv?: string;
  /** Extra environment for the server process (e.g. `MOTO_*` settings). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the server to answer. Default 30 s. */
  startTimeoutMs?: number;
  /** Receives everything the server writes (its request log), for debugging. Default: discarded. */
  onOutput?: (chunk: string) => void;
}

/**
 * The environment a process needs to talk to this moto server with the AWS SDK v3 or the AWS CLI:
 * the endpoint, dummy credentials and us-east-1.
 *
 * @example
 * const moto = await startMoto();
 * spawnSync('npx', ['tsx', 'scripts/deploy.ts', '--stack-name', 's'], { env: { ...process.env, ...motoEnv(moto.endpoint) } });
 */
export function motoEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

/**
 * Forgets every resource in every moto backend, so one server can serve several tests.
 *
 * @example
 * afterEach(() => resetMoto(moto.endpoint));
 */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset at ${endpoint} answered HTTP ${res.status}`);
}

// The server runs under a small launcher that exits as soon as its stdin reaches end of file, i.e.
// when the Node parent is gone for any reason, SIGKILL included, so no test run leaves moto behind.
const launcher = [
  'import os, sys, threading',
  'def watch_parent():',
  '    sys.stdin.buffer.read()',
  '    os._exit(0)',
  'threading.Thread(target=watch_parent, daemon=True).start()',
  'from moto.server import main',
  'main(sys.argv[1:])',
].join('\n');

/** Asks the kernel for a free loopback port. */
/** A loopback port the kernel says is free now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? ok(port) : fail(new Error('no port assigned'))));
    });
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Resolves when the child exits, or after `ms` with false. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((ok) => {
    const timer = setTimeout(() => ok(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      ok(true);
    });
  });
}

class PortTaken extends Error {}

async function launch(python: string, host: string, port: number, opts: MotoOptions): Promise<MotoServer> {
  const child = spawn(python, ['-c', launcher, '-H', host, '-p', String(port)], {
    // MOTO_PORT is what moto puts into the response URL it hands custom resources.
    env: { ...process.env, MOTO_PORT: String(port), ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    if (output.length < 20_000) output += text;
    opts.onOutput?.(text);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // The pipe stays open for the server's lifetime; EOF is the launcher's signal to exit.
  child.stdin!.on('error', () => undefined);

  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const endpoint = `http://${host}:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await exited(child, 5_000))) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`moto server could not start (${python}): ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off('exit', killOnExit);
      if (/address already in use/i.test(output)) throw new PortTaken(output);
      throw new Error(
        `moto server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output.slice(-2000)}`,
      );
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) {
        await res.arrayBuffer();
        return { endpoint, port, pid: child.pid!, stop };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `moto server did not answer at ${endpoint} within ${opts.startTimeoutMs ?? 30_000} ms:\n${output.slice(-2000)}`,
      );
    }
    await sleep(100);
  }
}

/**
 * Starts moto server on a free loopback port and resolves once it answers. The server is stopped
 * by `stop()`, and also when this process exits or dies.
 *
 * @example
 * const moto = await startMoto();
 * process.env.AWS_ENDPOINT_URL = moto.endpoint;
 * // ... S3 and CloudFormation calls now reach moto ...
 * await moto.stop();
 */
export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
  const venv = opts.venv ?? join(repoRoot, '.venv', 'moto');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`moto's virtual environment is missing (${python} not found); run: node scripts/dev/bootstrap.mjs`);
  }
  const host = opts.host ?? '127.0.0.1';
  // A port picked here could be taken by someone else before moto binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    try {
      return await launch(python, host, port, opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || opts.port !== undefined || attempt >= 5) {
        throw err instanceof PortTaken ? new Error(`moto server: port ${port} is in use:\n${err.message}`) : err;
      }
    }
  }
}

if (require.main === module) {
  startMoto().then(
    (moto) => {
      const env = motoEnv(moto.endpoint);
      console.log(`moto server listening at ${moto.endpoint} (pid ${moto.pid}). In another shell:\n`);
      for (const [k, v] of Object.entries(env)) console.log(`export ${k}=${v}`);
      console.log('\nCtrl-C stops it.');
      const quit = () => void moto.stop().then(() => process.exit(0));
      process.on('SIGINT', quit);
      process.on('SIGTERM', quit);
    },
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
