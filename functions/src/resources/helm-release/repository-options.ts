/**
 * A private http(s) chart repository (`RepositorySecretArn`, `RepositoryCaBundle`): which
 * combinations make sense, and the chart part of helm's command line for one. Charts from anywhere
 * else go through the helm layer's `prepareChart` unchanged.
 */
import type { ChartSource, HelmSession } from '../../helm';
import { prepareChart } from '../../helm/chart-source';
import { ChartSourceError } from '../../helm/errors';
import {
  pemCertificates,
  preparePrivateRepository,
  readRepositorySecret,
  type RepositoryAuth,
} from '../../helm/repository-config';
import type { HelmReleaseProps } from './schema';

type RepositoryProps = Pick<HelmReleaseProps, 'Repository' | 'RepositorySecretArn' | 'RepositoryCaBundle'>;

/**
 * Why the repository options do not fit the chart's source, or `undefined` when they do (or there
 * are none). A property's value never appears in the message.
 *
 * @example
 * repositoryOptionsProblem({ RepositorySecretArn: arn, Repository: 'http://charts.example' });
 * // 'RepositorySecretArn: the credentials would cross the network in clear text to an http:// repository; …'
 */
export function repositoryOptionsProblem(props: RepositoryProps): string | undefined {
  const given = (['RepositorySecretArn', 'RepositoryCaBundle'] as const).filter((p) => props[p] !== undefined);
  if (given.length === 0) return undefined;
  const first = given[0]!;
  const repository = props.Repository?.trim() ?? '';
  if (!/^https?:\/\//i.test(repository))
    return `${first}: only applies to an http(s) chart repository in Repository (with the chart's name in Chart)${repository.startsWith('oci://') ? '; OCI registries other than ECR are not supported with credentials' : ''}`;
  if (/^http:\/\//i.test(repository))
    return `${first}: expected an https:// Repository; over http:// the credentials would cross the network in clear text and there is no certificate to verify`;
  if (props.RepositoryCaBundle !== undefined && !pemCertificates(props.RepositoryCaBundle))
    return 'RepositoryCaBundle: expected PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)';
  return undefined;
}

/**
 * The chart part of helm's command line: for a private repository, its credentials read from
 * Secrets Manager and handed to helm in the session's repository config; otherwise `prepareChart`.
 *
 * @example
 * const chartArgs = await prepareChartFor(props, source, session, ctx.signal);
 */
export async function prepareChartFor(
  props: RepositoryProps,
  source: ChartSource,
  session: HelmSession,
  signal?: AbortSignal,
): Promise<string[]> {
  if (props.RepositorySecretArn === undefined && props.RepositoryCaBundle === undefined)
    return prepareChart(source, session, signal);
  const problem = repositoryOptionsProblem(props);
  if (problem || source.kind !== 'repository')
    throw new ChartSourceError(
      props.RepositorySecretArn !== undefined ? 'RepositorySecretArn' : 'RepositoryCaBundle',
      problem ?? 'RepositorySecretArn: only applies to an http(s) chart repository in Repository',
    );
  const auth: RepositoryAuth = props.RepositorySecretArn
    ? await readRepositorySecret(props.RepositorySecretArn, signal)
    : {};
  // The property's CA bundle wins over the secret's.
  if (props.RepositoryCaBundle !== undefined) auth.caBundle = props.RepositoryCaBundle;
  return preparePrivateRepository(source.repository, source.chart, source.version, auth, session, signal);
}
