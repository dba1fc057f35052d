/**
 * Turns a failed `helm upgrade --install` into a Reason for the CloudFormation event: the property
 * at fault where helm's message shows it, and helm's own words (the end of its stderr) always.
 */
import { HelmCommandError, isTimeout, redactUrlCredentials, type ChartSource } from '../../helm';
import { ResourceError } from '../../runtime';
import type { HelmReleaseProps } from './schema';

/** A chart as the template author wrote it, for messages. */
export function describeChart(source: ChartSource): string {
  switch (source.kind) {
    case 'repository':
      return `'${source.chart}'${source.version ? ` version ${source.version}` : ''} in repository ${source.repository}`;
    case 'oci':
      return `${source.reference}${source.version ? ` version ${source.version}` : ''}`;
    case 's3':
      return `s3://${source.location.bucket}/${source.location.key}`;
    case 'local':
      return `'${source.path}'`;
  }
}

const CHART_NOT_FOUND = [
  /could not find/i,
  /not found in .*(index|repository)/i,
  /no chart name found/i,
  /failed to fetch/i,
  /is not a valid chart repository/i,
  /failed to download/i,
  /manifest unknown/i,
  /failed to resolve .*: not found/i,
  /repository name not known/i,
  /no such host/i,
  /connection refused/i,
  /401 unauthorized|403 forbidden|unauthorized: |denied: /i,
  /chart\.ya?ml file is missing|validation: chart\.metadata/i,
  /file '.*' does not appear to be a gzipped archive|not a valid chart/i,
];

/**
 * @example
 * throw explainUpgradeFailure(error, props, source, { name: 'web', namespace: 'apps', waited: true });
 */
export function explainUpgradeFailure(
  error: unknown,
  props: HelmReleaseProps,
  source: ChartSource,
  release: { name: string; namespace: string; waited: boolean; pending?: readonly string[] },
): Error {
  const explained = explain(error, props, source, release);
  // A Repository may carry credentials (https://user:pw@…), and helm repeats it in its errors.
  if (explained instanceof ResourceError) return new ResourceError(redactUrlCredentials(explained.message));
  return explained;
}

function explain(
  error: unknown,
  props: HelmReleaseProps,
  source: ChartSource,
  release: { name: string; namespace: string; waited: boolean; pending?: readonly string[] },
): Error {
  if (!(error instanceof HelmCommandError)) return error instanceof Error ? error : new Error(String(error));
  const helm = error.stderrTail || error.message;
  const where = `release ${release.name} in namespace ${release.namespace}`;
  if (isTimeout(error)) {
    // helm says only "context deadline exceeded": name what is still pending and what holds it.
    const pending = release.pending ?? [];
    const still = pending.length
      ? `; still waiting for ${pending.slice(0, 5).join('; ')}${pending.length > 5 ? `; and ${pending.length - 5} more` : ''}`
      : '';
    return release.waited
      ? new ResourceError(
          `Wait: ${where} did not become ready within TimeoutSeconds (${props.TimeoutSeconds} s): ${helm}${still}`,
        )
      : new ResourceError(
          `TimeoutSeconds: helm did not finish ${where} (its hooks) within ${props.TimeoutSeconds} s: ${helm}`,
        );
  }
  if (/no chart version found/i.test(helm) || /version .* not found/i.test(helm)) {
    return new ResourceError(
      `Version: helm found no version '${props.Version ?? ''}' of chart ${describeChart(source)}: ${helm}`,
    );
  }
  if (CHART_NOT_FOUND.some((re) => re.test(helm))) {
    return new ResourceError(`Chart: helm could not find chart ${describeChart(source)}: ${helm}`);
  }
  if (/values don't meet the specifications|YAML parse error|cannot unmarshal|error converting YAML/i.test(helm)) {
    return new ResourceError(`Values: the chart rejected the values of ${where}: ${helm}`);
  }
  if (/namespaces? "[^"]+" not found/i.test(helm) && !props.CreateNamespace) {
    return new ResourceError(
      `Namespace: namespace ${release.namespace} does not exist and CreateNamespace is false: ${helm}`,
    );
  }
  return new ResourceError(`helm upgrade --install of ${where} failed: ${helm}`);
}
