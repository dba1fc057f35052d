/**
 * Runs the helm binary: an argument array (never a shell), captured output, killed when the step's
 * signal aborts. Callers bound helm's own `--timeout` well inside the Lambda deadline, so the abort
 * is a last resort that should never fire in the middle of a release operation.
 */
import { execFile } from 'node:child_process';
import { HelmCommandError } from './errors';

/** Where Lambda finds the helm layer's binary (layers unpack into /opt). */
export const LAYER_HELM_PATH = '/opt/bin/helm';

/** The helm binary: `$HELM_BINARY` (tests, local mode), else the layer's `/opt/bin/helm`. */
export const helmBinary = () => process.env.HELM_BINARY || LAYER_HELM_PATH;

/** Output helm may print; more is a runaway and is cut off by execFile. */
const MAX_BUFFER = 64 * 1024 * 1024;

export interface HelmResult {
  stdout: string;
  stderr: string;
}

export interface HelmRunOptions {
  /** Aborts (kills) helm; pass the step's `ctx.signal`. */
  signal?: AbortSignal;
  /** Written to helm's stdin (e.g. a registry password for `--password-stdin`). Never logged. */
  stdin?: string;
  /** A failure's message carries stdout before stderr (`helm repo update` says why on stdout). */
  stdoutInErrors?: boolean;
}

/**
 * One helm environment: the binary and the variables that point it at a private home, cache,
 * config and kubeconfig (see {@link openHelmSession}).
 *
 * @example
 * const cli = new HelmCli({ HOME: '/tmp/helm-1', KUBECONFIG: '/tmp/kc-1/config', ... });
 * const { stdout } = await cli.run(['status', 'web', '-n', 'apps', '-o', 'json'], { signal: ctx.signal });
 */
export class HelmCli {
  constructor(
    readonly env: Readonly<Record<string, string>>,
    readonly binary: string = helmBinary(),
  ) {}

  /** Runs `helm <args>`; resolves with its output, or rejects with a {@link HelmCommandError}. */
  run(args: readonly string[], options: HelmRunOptions = {}): Promise<HelmResult> {
    const command = args[0] ?? '';
    // The step's time is up (the deadline guard has answered): helm does not start at all.
    if (options.signal?.aborted)
      return Promise.reject(
        new HelmCommandError(command, null, `helm ${command} was not started: the step ran out of time`, 'SIGKILL'),
      );
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.binary,
        args,
        {
          env: this.env,
          maxBuffer: MAX_BUFFER,
          encoding: 'utf8',
          killSignal: 'SIGKILL',
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr });
          const e = error as NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null };
          if (e.code === 'ENOENT') {
            return reject(
              new HelmCommandError(
                command,
                null,
                `helm binary not found at ${this.binary} (set HELM_BINARY, or attach the helm layer so that ${LAYER_HELM_PATH} exists)`,
              ),
            );
          }
          if (e.name === 'AbortError')
            return reject(
              new HelmCommandError(
                command,
                null,
                `${stderr}\nhelm ${command} was stopped: the step ran out of time`,
                'SIGKILL',
              ),
            );
          reject(
            new HelmCommandError(
              command,
              typeof e.code === 'number' ? e.code : null,
              `${options.stdoutInErrors && stdout ? `${stdout.trim()}\n` : ''}${stderr || e.message}`,
              e.signal ?? null,
            ),
          );
        },
      );
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
      else child.stdin?.end();
    });
  }

  /** Runs a command whose `-o json` output is parsed. */
  async json<T>(args: readonly string[], options: HelmRunOptions = {}): Promise<T> {
    const { stdout } = await this.run(args, options);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new HelmCommandError(args[0] ?? '', 0, `expected JSON from helm ${args[0]}, got: ${stdout.slice(0, 200)}`);
    }
  }
}
