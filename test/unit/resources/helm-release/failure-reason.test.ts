// The Reason for each way `helm upgrade --install` fails, from helm's own stderr (texts as helm 3.18 prints them).
import { HelmCommandError, parseChartSource } from '../../../../functions/src/helm';
import { explainUpgradeFailure } from '../../../../functions/src/resources/helm-release';
import { schema } from '../../../../functions/src/resources/helm-release/schema';

const props = (extra: Record<string, unknown> = {}) =>
  schema.parse({ ClusterName: 'c', Chart: 'web', Repository: 'https://charts.example', ...extra });
const failure = (stderr: string) => new HelmCommandError('upgrade', 1, stderr);
const explain = (stderr: string, extra: Record<string, unknown> = {}, waited = true) => {
  const p = props(extra);
  return explainUpgradeFailure(failure(stderr), p, parseChartSource(p), { name: 'web', namespace: 'apps', waited })
    .message;
};

describe('explainUpgradeFailure', () => {
  test('names the property at fault and quotes helm', () => {
    expect(explain('Error: context deadline exceeded')).toBe(
      'Wait: release web in namespace apps did not become ready within TimeoutSeconds (600 s): Error: context deadline exceeded',
    );
    expect(explain('Error: failed post-install: timed out waiting for the condition', {}, false)).toBe(
      'TimeoutSeconds: helm did not finish release web in namespace apps (its hooks) within 600 s: Error: failed post-install: timed out waiting for the condition',
    );
    expect(
      explain('Error: chart "web" version "9.9.9" not found in https://charts.example repository', {
        Version: '9.9.9',
      }),
    ).toBe(
      `Version: helm found no version '9.9.9' of chart 'web' version 9.9.9 in repository https://charts.example: Error: chart "web" version "9.9.9" not found in https://charts.example repository`,
    );
    expect(
      explain('Error: looks like "https://charts.example" is not a valid chart repository or cannot be reached'),
    ).toBe(
      `Chart: helm could not find chart 'web' in repository https://charts.example: Error: looks like "https://charts.example" is not a valid chart repository or cannot be reached`,
    );
    expect(
      explain(
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nweb:\n- replicas: Invalid type",
      ),
    ).toBe(
      "Values: the chart rejected the values of release web in namespace apps: Error: values don't meet the specifications of the schema(s) in the following chart(s):\nweb:\n- replicas: Invalid type",
    );
    expect(explain('Error: create: failed to create: namespaces "apps" not found', { CreateNamespace: 'false' })).toBe(
      'Namespace: namespace apps does not exist and CreateNamespace is false: Error: create: failed to create: namespaces "apps" not found',
    );
    expect(explain('Error: UPGRADE FAILED: admission webhook "x" denied the request')).toBe(
      'helm upgrade --install of release web in namespace apps failed: Error: UPGRADE FAILED: admission webhook "x" denied the request',
    );
  });

  test('passes other errors through', () => {
    const p = props();
    const other = new Error('socket hang up');
    expect(explainUpgradeFailure(other, p, parseChartSource(p), { name: 'web', namespace: 'apps', waited: true })).toBe(
      other,
    );
  });
});
