// npm run charts:pull [-- --dir DIR]
//
// The upstream Helm charts the templates install, at exactly the versions the templates name, pulled
// from their real repositories (helm pull) into a chart directory: `--dir`, else $KUBECFN_CHARTS_DIR,
// else ~/.cache/kubecfn/charts. The local cloud serves the charts of that directory to the providers'
// helm (scripts/local/aws/chart-mirror.ts), so `npm start` installs the real charts; without them it
// falls back to generated stand-ins and says so. Charts already in the directory are kept.
//
// Which charts: every Custom::HelmRelease in templates/ whose Repository and Chart are literal and
// whose Version is literal or a !Ref to a parameter with a Default (the version a launch gets).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { parseCommandLine, runMain, UsageError } from '../lib/args';
import { ensureHelm } from './binaries';
import { cacheRoot, repoRoot } from './paths.cjs';

const execFileAsync = promisify(execFile);

/** A chart a template installs: repository, name and the version a launch with defaults gets. */
export interface TemplateChart {
  repository: string;
  chart: string;
  version: string;
  /** Template file (relative to the repository) and logical id of the release. */
  template: string;
  logicalId: string;
}

/** The chart directory: `$KUBECFN_CHARTS_DIR` (relative to the repository when relative), else the cache's. */
export function defaultChartsDir(): { dir: string; explicit: boolean } {
  const fromEnv = process.env.KUBECFN_CHARTS_DIR?.trim();
  if (fromEnv) return { dir: isAbsolute(fromEnv) ? fromEnv : resolve(repoRoot, fromEnv), explicit: true };
  return { dir: join(cacheRoot(), 'charts'), explicit: false };
}

/** The file name helm package / helm pull give a chart. */
export function chartFileName(chart: string, version: string): string {
  return `${chart}-${version}.tgz`;
}

function templateFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...templateFiles(path));
    else if (/\.template\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

/** The value of a map key as a plain string, or a `!Ref` target as `{ ref }`. */
function scalarOrRef(map: Node | null | undefined, key: string): string | { ref: string } | undefined {
  if (!isMap(map)) return undefined;
  const node = map.get(key, true);
  if (!isScalar(node)) return undefined;
  if (node.tag === '!Ref') return { ref: String(node.value) };
  if (node.tag && node.tag !== 'tag:yaml.org,2002:str') return undefined;
  return String(node.value);
}

/**
 * Every chart the templates install, deduplicated by repository, chart and version.
 *
 * @example
 * templateCharts(); // [{ repository: 'https://aws.github.io/eks-charts', chart: 'aws-load-balancer-controller', version: '3.5.0', ... }, ...]
 */
export function templateCharts(templatesDir = join(repoRoot, 'templates')): TemplateChart[] {
  const out: TemplateChart[] = [];
  for (const file of templateFiles(templatesDir)) {
    // CloudFormation's short tags (!Ref, !Sub, ...) are unknown to YAML: kept on the nodes, warnings off.
    const doc: Document = parseDocument(readFileSync(file, 'utf8'), { logLevel: 'silent' });
    const resources = doc.get('Resources', true);
    const parameters = doc.get('Parameters', true);
    if (!isMap(resources)) continue;
    for (const pair of resources.items) {
      const resource = pair.value;
      if (!isMap(resource) || resource.get('Type') !== 'Custom::HelmRelease') continue;
      const props = resource.get('Properties', true) as Node;
      const repository = scalarOrRef(props, 'Repository');
      const chart = scalarOrRef(props, 'Chart');
      let version = scalarOrRef(props, 'Version');
      if (typeof version === 'object' && isMap(parameters)) {
        const param = parameters.get(version.ref, true) as Node;
        const dflt = isMap(param) ? param.get('Default') : undefined;
        version = dflt === undefined || dflt === null ? undefined : String(dflt);
      }
      if (typeof repository !== 'string' || typeof chart !== 'string' || typeof version !== 'string') continue;
      if (!/^https?:\/\//.test(repository)) continue;
      if (out.some((c) => c.repository === repository && c.chart === chart && c.version === version)) continue;
      out.push({
        repository,
        chart,
        version,
        template: relative(repoRoot, file),
        logicalId: isScalar(pair.key) ? String(pair.key.value) : String(pair.key),
      });
    }
  }
  return out;
}

/** The charts of `wanted` missing from `dir` (no `<chart>-<version>.tgz` there). */
export function missingCharts(dir: string, wanted: TemplateChart[] = templateCharts()): TemplateChart[] {
  return wanted.filter((c) => !existsSync(join(dir, chartFileName(c.chart, c.version))));
}

/**
 * Pulls every missing chart of the templates into `dir` with helm, each within `timeoutMs`. Resolves
 * with what was pulled and what could not be (offline, a version gone from its repository).
 *
 * @example
 * const { pulled, failed } = await pullCharts({ dir: defaultChartsDir().dir, helm: await ensureHelm() });
 */
export async function pullCharts(opts: {
  dir: string;
  helm: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<{ pulled: TemplateChart[]; present: TemplateChart[]; failed: Array<TemplateChart & { reason: string }> }> {
  const log = opts.log ?? (() => {});
  const wanted = templateCharts();
  const missing = missingCharts(opts.dir, wanted);
  const present = wanted.filter((c) => !missing.includes(c));
  const pulled: TemplateChart[] = [];
  const failed: Array<TemplateChart & { reason: string }> = [];
  if (!missing.length) return { pulled, present, failed };
  mkdirSync(opts.dir, { recursive: true });
  // helm's own state in a throwaway place: no repository is added to the user's helm configuration.
  const home = mkdtempSync(join(tmpdir(), 'kubecfn-charts-pull-'));
  try {
    for (const c of missing) {
      const dest = mkdtempSync(join(home, 'pull-'));
      try {
        await execFileAsync(
          opts.helm,
          ['pull', c.chart, '--repo', c.repository, '--version', c.version, '--destination', dest],
          {
            timeout: opts.timeoutMs ?? 120_000,
            env: {
              ...process.env,
              HELM_CACHE_HOME: join(home, 'cache'),
              HELM_CONFIG_HOME: join(home, 'config'),
              HELM_DATA_HOME: join(home, 'data'),
            },
          },
        );
        const file = chartFileName(c.chart, c.version);
        // Through a rename, so a reader never sees half a chart.
        renameSync(join(dest, file), join(opts.dir, file));
        pulled.push(c);
        log(`pulled ${c.chart} ${c.version} from ${c.repository}`);
      } catch (err) {
        const e = err as { stderr?: string; message: string; killed?: boolean };
        const reason = e.killed
          ? `no answer within ${(opts.timeoutMs ?? 120_000) / 1000} s`
          : (e.stderr || e.message).trim().split('\n').pop()!;
        failed.push({ ...c, reason });
        log(`could not pull ${c.chart} ${c.version} from ${c.repository}: ${reason}`);
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return { pulled, present, failed };
}

const usage = `Usage: npm run charts:pull [-- --dir DIR]

Pulls the Helm charts the templates install, at the versions they name, from the real repositories
into DIR (default: $KUBECFN_CHARTS_DIR, else ~/.cache/kubecfn/charts), for the local cloud.`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), { dir: { type: 'string' } });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.dir === '') throw new UsageError('--dir needs a directory');
  const dir = values.dir ? resolve(values.dir) : defaultChartsDir().dir;
  const { pulled, present, failed } = await pullCharts({ dir, helm: await ensureHelm(), log: (l) => console.log(l) });
  for (const c of present) console.log(`already there: ${c.chart} ${c.version}`);
  console.log(
    `${dir}: ${pulled.length} pulled, ${present.length} already there, ${failed.length} failed` +
      (failed.length ? ' (offline? the local cloud then uses stand-ins for those)' : ''),
  );
  return failed.length ? 1 : 0;
}

if (require.main === module) runMain(usage, main);
