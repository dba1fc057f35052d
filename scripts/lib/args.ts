// Command-line parsing for the publish / deploy / destroy scripts: node:util parseArgs, with errors
// that name the flag and a usage text, and the shared flag checks.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: the script prints it with its usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` strictly against `options`; unknown flags, missing values and positionals become a
 * {@link UsageError}. `--help` is always accepted.
 *
 * @example
 * const { values } = parseCommandLine(process.argv.slice(2), { bucket: { type: 'string' } });
 */
export function parseCommandLine<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    // parseArgs messages already name the flag ("Unknown option '--x'", "Option '--bucket <value>' argument missing").
    throw new UsageError((err as Error).message);
  }
}

/**
 * Parses repeated `K=V` flags into a record. The value may itself contain `=`; the key must be a
 * CloudFormation parameter name (letters and digits).
 *
 * @example
 * parseKeyValues('--param', ['Env=prod', 'Cidr=10.0.0.0/16']); // { Env: 'prod', Cidr: '10.0.0.0/16' }
 */
export function parseKeyValues(flag: string, items: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z0-9]+$/.test(key)) {
      throw new UsageError(`${flag} expects KEY=VALUE with an alphanumeric KEY (got "${item}")`);
    }
    if (key in out) throw new UsageError(`${flag} ${key} is given twice`);
    out[key] = item.slice(eq + 1);
  }
  return out;
}

/** Parses a positive number of minutes (fractions allowed) into milliseconds. */
export function parseMinutes(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback * 60_000;
  const minutes = Number(value);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new UsageError(`${flag} expects a positive number of minutes (got "${value}")`);
  return Math.round(minutes * 60_000);
}

/** Throws a {@link UsageError} when `message` is defined (the form the validators return). */
export function check(message: string | undefined): void {
  if (message) throw new UsageError(message);
}

/**
 * Runs a script's main function: prints usage errors with the usage text (exit 2), other errors
 * as one line (exit 1), and sets the exit code main returns.
 */
export function runMain(usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`error: ${err.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
        if (process.env.KUBECFN_DEBUG && err instanceof Error) console.error(err.stack);
        process.exitCode = 1;
      }
    },
  );
}
