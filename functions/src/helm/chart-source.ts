/**
 * Where a chart comes from, decided from the `Chart`, `Repository` and `Version` properties, and
 * what helm's command line needs for each source:
 *
 * | Chart                          | Repository         | helm gets                                  |
 * |--------------------------------|--------------------|--------------------------------------------|
 * | `jenkins`                      | `https://charts.…` | `jenkins --repo https://charts.… --version` |
 * | `oci://host/path/chart`        | —                  | the reference (ECR hosts: logged in first) |
 * | `chart`                        | `oci://host/path`  | `oci://host/path/chart`                    |
 * | `s3://bucket/chart-1.0.0.tgz`  | —                  | the object, downloaded to /tmp             |
 * | `file://charts/web`, `./web`   | —                  | a chart packaged with the function or a layer |
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { ChartSourceError } from './errors';
import { awsSources, ecrRegistry, loginToEcr, parseS3Url, type S3Location } from './aws-sources';
import type { HelmSession } from './helm-session';

export type ChartSource =
  | { kind: 'repository'; repository: string; chart: string; version?: string }
  | { kind: 'oci'; reference: string; host: string; version?: string }
  | { kind: 's3'; location: S3Location }
  | { kind: 'local'; path: string };

export interface ChartProps {
  Chart: string;
  Repository?: string;
  Version?: string;
}

/**
 * Folders searched for a chart given as a relative path: `$KUBECFN_CHART_PATH` (colon-separated),
 * else the function's own package (`$LAMBDA_TASK_ROOT`) and the layers (`/opt`).
 */
export function chartRoots(): string[] {
  const fromEnv = process.env.KUBECFN_CHART_PATH?.split(':').filter(Boolean);
  if (fromEnv?.length) return fromEnv;
  return [process.env.LAMBDA_TASK_ROOT ?? '/var/task', '/opt'];
}

const describeSources =
  'an oci:// reference, an s3:// URL of a packaged chart, a file:// path of a chart packaged with the function, or a chart name together with Repository';

/**
 * Decides the chart's source; throws a {@link ChartSourceError} naming the property when the combination
 * makes no sense.
 *
 * @example
 * parseChartSource({ Chart: 'jenkins', Repository: 'https://charts.jenkins.io', Version: '5.8.0' });
 * // { kind: 'repository', repository: 'https://charts.jenkins.io', chart: 'jenkins', version: '5.8.0' }
 */
export function parseChartSource(props: ChartProps): ChartSource {
  const chart = props.Chart.trim();
  const version = props.Version?.trim() || undefined;
  const repository = props.Repository?.trim() || undefined;

  if (chart.startsWith('-')) {
    // `helm upgrade --install NAME CHART`: helm would read the chart as one of its options.
    throw new ChartSourceError(
      'Chart',
      "Chart: expected a chart name, path or URL; it starts with '-', which helm would read as one of its options",
    );
  }
  if (repository) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(chart)) {
      throw new ChartSourceError(
        'Chart',
        `Chart: expected a chart name when Repository is set, got the URL '${chart}'; leave Repository out for ${chart.split('://')[0]}:// charts`,
      );
    }
    if (repository.startsWith('oci://')) {
      const reference = `${repository.replace(/\/+$/, '')}/${chart}`;
      return { kind: 'oci', reference, host: ociHost(reference, 'Repository'), ...(version ? { version } : {}) };
    }
    if (!/^https?:\/\/[^/\s]+/.test(repository)) {
      throw new ChartSourceError(
        'Repository',
        `Repository: expected an http(s):// chart repository URL or an oci:// registry path, got '${redactUrlCredentials(repository)}'`,
      );
    }
    return { kind: 'repository', repository, chart, ...(version ? { version } : {}) };
  }
  if (chart.startsWith('oci://'))
    return { kind: 'oci', reference: chart, host: ociHost(chart, 'Chart'), ...(version ? { version } : {}) };

  if (version)
    throw new ChartSourceError(
      'Version',
      `Version: only applies to a chart from Repository or an oci:// reference; the chart '${chart}' is a packaged chart, whose version it carries itself`,
    );
  if (chart.startsWith('s3://')) {
    const location = parseS3Url(chart);
    if (!location)
      throw new ChartSourceError(
        'Chart',
        `Chart: expected s3://<bucket>/<key> of a packaged chart (.tgz), got '${redactUrlCredentials(chart)}'`,
      );
    return { kind: 's3', location };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(chart) && !chart.startsWith('file://')) {
    throw new ChartSourceError(
      'Chart',
      `Chart: expected ${describeSources}; got '${redactUrlCredentials(chart)}' (http(s) chart repositories go in Repository, with the chart's name in Chart)`,
    );
  }
  return { kind: 'local', path: chart.replace(/^file:\/\//, '') };
}

function ociHost(reference: string, property: 'Chart' | 'Repository'): string {
  const m = /^oci:\/\/([^/\s]+)\/\S+$/.exec(reference);
  if (!m)
    throw new ChartSourceError(
      property,
      `${property}: expected oci://<registry>/<path>, got '${redactUrlCredentials(reference)}'`,
    );
  return m[1]!;
}

/** Finds a local chart under {@link chartRoots}; `undefined` when none holds it. */
export function findLocalChart(path: string, roots = chartRoots()): string | undefined {
  if (isAbsolute(path)) return existsSync(path) ? path : undefined;
  const relative = normalize(path);
  if (relative.startsWith('..')) return undefined;
  for (const root of roots) {
    const candidate = join(root, relative);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Gets the chart ready for `helm upgrade` and returns the chart part of its command line:
 * downloads an S3 chart into the session, logs in to ECR, resolves a local path.
 *
 * @example
 * const chartArgs = await prepareChart(parseChartSource(props), session, ctx.signal);
 */
export async function prepareChart(source: ChartSource, session: HelmSession, signal?: AbortSignal): Promise<string[]> {
  switch (source.kind) {
    case 'repository':
      return [source.chart, '--repo', source.repository, ...(source.version ? ['--version', source.version] : [])];
    case 'oci':
      if (ecrRegistry(source.host)) {
        try {
          await loginToEcr(session.cli, source.host, await awsSources.ecr(), signal);
        } catch (error) {
          throw new ChartSourceError(
            'Chart',
            `Chart: could not log in to the ECR registry ${source.host}: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
      return [source.reference, ...(source.version ? ['--version', source.version] : [])];
    case 's3': {
      let body: Uint8Array;
      try {
        body = await (await awsSources.objects()).get(source.location, signal);
      } catch (error) {
        throw new ChartSourceError(
          'Chart',
          `Chart: could not read s3://${source.location.bucket}/${source.location.key}: ${describeAwsError(error)}`,
          { cause: error },
        );
      }
      return [await session.writeFile('chart.tgz', body)];
    }
    case 'local': {
      const found = findLocalChart(source.path);
      if (!found) {
        throw new ChartSourceError(
          'Chart',
          `Chart: no chart '${source.path}' is packaged with the function (looked in ${chartRoots().join(', ')}); expected ${describeSources}`,
        );
      }
      return [found];
    }
  }
}

/**
 * Text with the credentials of every URL in it masked (`https://user:pw@host` →
 * `https://****@host`): a Repository may carry them, and helm repeats the URL in its errors.
 *
 * @example
 * redactUrlCredentials('looks like "https://bot:s3cret@charts.example" is not valid'); // '… "https://****@charts.example" …'
 */
export const redactUrlCredentials = (text: string): string =>
  text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@"'<>]+@/gi, '$1****@');

/** An SDK error's name and message (`NoSuchKey: The specified key does not exist.`). */
export function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' && !error.message.startsWith(error.name)
    ? `${error.name}: ${error.message}`
    : error.message;
}
