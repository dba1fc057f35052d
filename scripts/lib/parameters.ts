// Stack parameters before anything is sent to AWS: the entrypoint's declared parameters read from
// the local template (identical to the published one), a parameters file in the CloudFormation /
// AWS CLI formats, and the checks that need no account: names the template does not declare, and
// parameters without a default that a new stack must be given.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from './args';

/** A parameter as a template declares it (only what the checks read). */
export interface DeclaredParameter {
  Type: string;
  Default?: unknown;
  NoEcho?: boolean | string;
  Description?: string;
  AllowedValues?: unknown[];
}

/**
 * The `Parameters` section of a local template. Short-form tags (`!Ref`, `!Sub`) elsewhere in the
 * file are read as plain values: only the declarations matter here.
 *
 * @example
 * const declared = readDeclaredParameters(join(repoRoot, 'templates/kubecfn-entrypoint-new-vpc.template.yaml'));
 * Object.keys(declared); // ['AvailabilityZones', 'NumberOfAZs', ...]
 */
export function readDeclaredParameters(path: string): Record<string, DeclaredParameter> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`cannot read ${path}: run the command from a kubecfn checkout (or pass --root DIR)`);
  }
  const template = parse(text, { logLevel: 'error', maxAliasCount: -1 }) as {
    Parameters?: Record<string, DeclaredParameter>;
  } | null;
  return template?.Parameters ?? {};
}

/** The local copy of an entrypoint template under `root`. */
export function localTemplatePath(root: string, relativePath: string): string {
  return join(root, relativePath);
}

/**
 * Reads a parameters file. Three JSON forms are accepted, as the AWS tools write them:
 * - CloudFormation's (`aws cloudformation create-stack --parameters file://…`):
 *   `[{"ParameterKey": "K", "ParameterValue": "V"}, {"ParameterKey": "K2", "UsePreviousValue": true}]`
 * - `aws cloudformation deploy --parameter-overrides file://…`: `["K=V", "K2=V2"]`
 * - CodePipeline's template configuration: `{"Parameters": {"K": "V"}, "Tags": {...}}` (Tags ignored)
 *
 * A `UsePreviousValue: true` entry is left out (the stack's value is kept anyway). List values may
 * be JSON arrays; they are joined with commas, as CloudFormation takes a CommaDelimitedList.
 *
 * @example
 * readParametersFile('params.json'); // { AvailabilityZones: 'us-east-1a,us-east-1b,us-east-1c', NumberOfAZs: '3' }
 */
export function readParametersFile(path: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--parameters-file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const out: Record<string, string> = {};
  const put = (key: unknown, value: unknown, where: string) => {
    if (typeof key !== 'string' || !/^[A-Za-z0-9]+$/.test(key)) {
      throw new UsageError(
        `--parameters-file ${path}: ${where}: expected an alphanumeric parameter name, got ${JSON.stringify(key)}`,
      );
    }
    if (key in out) throw new UsageError(`--parameters-file ${path}: ${key} is given twice`);
    if (Array.isArray(value)) value = value.join(',');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`--parameters-file ${path}: ${key}: expected a string value, got ${JSON.stringify(value)}`);
    }
    out[key] = String(value);
  };
  if (Array.isArray(data)) {
    data.forEach((entry: unknown, i) => {
      if (typeof entry === 'string') {
        const eq = entry.indexOf('=');
        if (eq < 0)
          throw new UsageError(`--parameters-file ${path}: [${i}]: expected "KEY=VALUE", got ${JSON.stringify(entry)}`);
        put(entry.slice(0, eq), entry.slice(eq + 1), `[${i}]`);
      } else if (entry && typeof entry === 'object' && 'ParameterKey' in entry) {
        const e = entry as { ParameterKey: unknown; ParameterValue?: unknown; UsePreviousValue?: unknown };
        if (e.UsePreviousValue === true || e.UsePreviousValue === 'true') return;
        put(e.ParameterKey, e.ParameterValue ?? '', `[${i}]`);
      } else {
        throw new UsageError(
          `--parameters-file ${path}: [${i}]: expected {"ParameterKey": …, "ParameterValue": …} or "KEY=VALUE", got ${JSON.stringify(entry)}`,
        );
      }
    });
    return out;
  }
  if (data && typeof data === 'object' && 'Parameters' in data) {
    const params = (data as { Parameters: unknown }).Parameters;
    if (params && typeof params === 'object' && !Array.isArray(params)) {
      for (const [k, v] of Object.entries(params)) put(k, v, 'Parameters');
      return out;
    }
  }
  throw new UsageError(
    `--parameters-file ${path}: expected a JSON list of {"ParameterKey", "ParameterValue"} (as aws cloudformation create-stack takes), a list of "KEY=VALUE", or {"Parameters": {…}}`,
  );
}

/** What is wrong with the parameters given, before any call to AWS. */
export interface ParameterProblems {
  /** Names the template does not declare, each with the declared name it most resembles (if any). */
  unknown: { name: string; suggestion?: string }[];
  /** Parameters without a default that a new stack needs and were not given. */
  missing: string[];
}

function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[y.length]!;
}

/**
 * Compares the parameters given with those declared: unknown names (with the closest declared
 * name, for a typo) and, when `creating`, parameters without a default that nobody set.
 *
 * @example
 * checkParameters(declared, { AvailabiltyZones: 'a,b' }, { creating: true });
 * // { unknown: [{ name: 'AvailabiltyZones', suggestion: 'AvailabilityZones' }], missing: ['AvailabilityZones'] }
 */
export function checkParameters(
  declared: Record<string, DeclaredParameter>,
  given: Record<string, string>,
  opts: { creating: boolean },
): ParameterProblems {
  const names = Object.keys(declared);
  const unknown = Object.keys(given)
    .filter((k) => !(k in declared))
    .map((name) => {
      const best = names.map((n) => ({ n, d: distance(name, n) })).sort((a, b) => a.d - b.d)[0];
      return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? { name, suggestion: best.n } : { name };
    });
  const missing = opts.creating ? names.filter((n) => declared[n]!.Default === undefined && !(n in given)) : [];
  return { unknown, missing };
}

/** The problems as one message, naming what to pass; undefined when there are none. */
export function describeParameterProblems(
  problems: ParameterProblems,
  declared: Record<string, DeclaredParameter>,
  templateName: string,
): string | undefined {
  const lines: string[] = [];
  for (const u of problems.unknown) {
    lines.push(
      `${templateName} declares no parameter ${u.name}${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`,
    );
  }
  if (problems.missing.length) {
    const example = problems.missing.map((n) => `--param ${n}=…`).join(' ');
    const described = problems.missing
      .map((n) => `${n} (${declared[n]!.Type}${declared[n]!.Description ? `: ${declared[n]!.Description}` : ''})`)
      .join('; ');
    lines.push(
      `a new stack needs ${problems.missing.join(', ')}, which ${problems.missing.length > 1 ? 'have' : 'has'} no default: ${example}. ${described}`,
    );
  }
  return lines.length ? lines.join('\n') : undefined;
}
