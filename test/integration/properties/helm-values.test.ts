/**
 * Chart values as CloudFormation really sends them, through the bundled HelmProvider and the real
 * helm into a real kube-apiserver: a `Values` map (every scalar a string on the wire) reaches the
 * chart with the types a values file would give it, and `Values` text keeps the types its author
 * wrote (YAML 1.1, as helm reads it). The `types` fixture chart renders each value's Go kind.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { resolve } from 'node:path';
import { ensureHelm } from '../../../scripts/dev/binaries';
import { useLocalCluster } from '../../helpers/cluster';
import { clusterAccessEnv, packageZip, ProviderHarness } from '../../helpers/provider-harness';

const cluster = useLocalCluster();
let h: ProviderHarness;
let core: CoreV1Api;

beforeAll(async () => {
  const environment = {
    ...clusterAccessEnv(cluster()),
    HELM_BINARY: await ensureHelm(),
    KUBECFN_CHART_PATH: resolve(__dirname, '../../fixtures/charts'),
  };
  h = await ProviderHarness.start([
    { name: 'HelmProvider', zipFile: packageZip('HelmProvider'), timeoutSeconds: 120, environment },
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

/** What the chart saw: `<value name>: "<Go kind> <value>"`. */
const rendered = async (release: string) =>
  (await core.readNamespacedConfigMap({ name: `${release}-types`, namespace: 'default' })).data;

const install = (release: string, values: unknown) =>
  h.send('HelmProvider', 'Create', 'Custom::HelmRelease', {
    ClusterName: 'local',
    Chart: 'types',
    ReleaseName: release,
    Values: values,
  });

describe('Custom::HelmRelease values (issue 9.1, 13.3)', () => {
  test('a Values map: booleans, integers and floats reach the chart as a values file gives them', async () => {
    // when (cfnEvent stringifies every scalar, as CloudFormation does)
    const { answer, event } = await install('map', {
      enabled: false,
      replicas: 3,
      ratio: 0.5,
      name: 'web',
      nested: { on: true, list: [1, 'two'] },
    });

    // then
    expect(event.ResourceProperties.Values).toMatchObject({ enabled: 'false', replicas: '3', ratio: '0.5' });
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(await rendered('map')).toEqual({
      enabled: 'bool false',
      replicas: 'float64 3',
      ratio: 'float64 0.5',
      name: 'string web',
      nested: 'map map[list:[1 two] on:true]',
      enabledIsTrue: 'no',
      ratioIsFloat: 'true',
    });
  });

  test('Values text keeps the types its author wrote: "NO" and "on" strings, 0440 octal, NO a boolean', async () => {
    // when
    const { answer } = await install(
      'text',
      'enabled: true\nratio: 1.5\ncountry: "NO"\nssl: "on"\nmode: 0440\nbare: NO\nversion: "1.0"\n',
    );

    // then
    expect(answer).toMatchObject({ Status: 'SUCCESS' });
    expect(await rendered('text')).toEqual({
      enabled: 'bool true',
      ratio: 'float64 1.5',
      country: 'string NO',
      ssl: 'string on',
      mode: 'float64 288',
      bare: 'bool false',
      version: 'string 1.0',
      enabledIsTrue: 'yes',
      ratioIsFloat: 'true',
    });
  });
});
