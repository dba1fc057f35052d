// Command-line parsing for the upload / deploy / destroy scripts: node:util parseArgs, with errors
// that name the flag, the AWS CLI's multi-value flags (--parameter-overrides A=1 B=2), the hint for
// flags npm took for itself (`npm run deploy --stack-name s`, without `--`), and the shared checks.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: the script prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` strictly against `options`; unknown flags, missing values and positionals become a
 * {@link UsageError}. `--help` is always accepted, and every boolean also has its `--no-` form
 * (`--no-execute-changeset`, `--no-termination-protection`).
 *
 * `multiValue` names flags that, as in the AWS CLI, take every following argument up to the next
 * flag (`--parameter-overrides A=1 B=2`); each value then counts as one repetition of the flag.
 *
 * @example
 * const { values } = parseCommandLine(process.argv.slice(2), { bucket: { type: 'string' } });
 */
export function parseCommandLine<O extends Options>(argv: string[], options: O, multiValue: string[] = []) {
  const args = expandMultiValue(argv, multiValue);
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    });
  } catch (err) {
    // parseArgs messages already name the flag ("Unknown option '--x'", "Option '--bucket <value>' argument missing").
    const message = (err as Error).message;
    const positional = /Unexpected argument '([^']*)'/.exec(message);
    if (positional) {
      throw new UsageError(
        `unexpected argument '${positional[1]}': every value belongs to a flag (--param KEY=VALUE, --stack-name NAME)${npmHint(options) ?? ''}`,
      );
    }
    throw new UsageError(message);
  }
}

/**
 * `--flag a b c` (and `--flag=a b`) become `--flag a --flag b --flag c`, for the flags named.
 *
 * @example
 * expandMultiValue(['--tags', 'a=1', 'b=2', '--yes'], ['tags']); // ['--tags', 'a=1', '--tags', 'b=2', '--yes']
 */
export function expandMultiValue(argv: string[], flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    if (!flags.includes(name)) {
      out.push(arg);
      continue;
    }
    let taken = 0;
    if (eq >= 0) {
      out.push(`--${name}`, arg.slice(eq + 1));
      taken++;
    }
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      out.push(`--${name}`, argv[++i]!);
      taken++;
    }
    if (!taken) out.push(arg); // no value: parseArgs says so
  }
  return out;
}

/**
 * When npm ran the script and took some of its flags for npm's own configuration (`npm run deploy
 * --stack-name s` without `--` leaves `npm_config_stack_name=true` in the environment and `s` as a
 * bare argument), a sentence that says so and how to write it. Undefined otherwise.
 */
export function npmHint(options: Options, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.npm_lifecycle_event) return undefined;
  // npm's own settings (some set in every npm script's environment) prove nothing.
  const npmOwn = new Set(['yes', 'prefix', 'tag', 'force', 'cache', 'userconfig', 'globalconfig', 'loglevel', 'json']);
  const taken = Object.keys(options).filter(
    (flag) => !npmOwn.has(flag) && env[`npm_config_${flag.replace(/-/g, '_')}`] !== undefined,
  );
  if (!taken.length) return undefined;
  const script = env.npm_lifecycle_event;
  return `; npm took ${taken.map((f) => `--${f}`).join(', ')} for itself: put -- between the script and its flags, as in npm run ${script} -- ${taken.map((f) => `--${f} …`).join(' ')}`;
}

/**
 * Throws the {@link npmHint} as a usage error when npm took flags meant for the script (it then
 * passes none on: the script sees only bare values), before a missing-flag message would blame
 * the user for a flag they did type.
 */
export function checkNpmTookFlags(
  options: Options,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (argv.some((a) => a.startsWith('-'))) return;
  const hint = npmHint(options, env);
  if (hint) throw new UsageError(`the flags did not reach the script${hint}`);
}

/**
 * Parses repeated `K=V` flags into a record. The value may itself contain `=`; the key must be a
 * CloudFormation parameter name (letters and digits).
 *
 * @example
 * parseKeyValues('--param', ['Env=prod', 'Cidr=10.0.0.0/16']); // { Env: 'prod', Cidr: '10.0.0.0/16' }
 * parseKeyValues('--tag', ['cost-center=42'], tagKey); // { 'cost-center': '42' }
 */
export function parseKeyValues(
  flag: string,
  items: string[] | undefined,
  key: { pattern: RegExp; describe: string } = { pattern: /^[A-Za-z0-9]+$/, describe: 'an alphanumeric KEY' },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !key.pattern.test(k)) {
      throw new UsageError(`${flag} expects KEY=VALUE with ${key.describe} (got "${item}")`);
    }
    if (k in out) throw new UsageError(`${flag} ${k} is given twice`);
    out[k] = item.slice(eq + 1);
  }
  return out;
}

/** What a stack tag key may hold: 1–128 letters, digits, spaces and `_ . : / = + - @`. */
export const tagKey = {
  pattern: /^[\p{L}\p{N}\s_.:/+\-@]{1,128}$/u,
  describe: 'a tag KEY (letters, digits, spaces, _.:/+-@)',
};

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
 * The command that shows a script's help, from the first line of its usage text
 * (`Usage: npm run deploy -- --stack-name …` → `npm run deploy -- --help`).
 */
export function helpCommand(usage: string): string {
  const m = /^Usage:\s+(npm (?:run [\w:-]+|start|test))/.exec(usage);
  return m ? `${m[1]} -- --help` : '--help';
}

/**
 * Runs a script's main function: prints a usage error as one line and where the help is (exit 2),
 * other errors as one line (exit 1), and sets the exit code main returns.
 */
export function runMain(usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`error: ${err.message}\nSee ${helpCommand(usage)} for every option.`);
        process.exitCode = 2;
      } else {
        console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
        if (process.env.KUBECFN_DEBUG && err instanceof Error) console.error(err.stack);
        process.exitCode = 1;
      }
    },
  );
}
