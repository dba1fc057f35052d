/**
 * Every template example of docs/resources/*.md, as CloudFormation would send it (issue 9.1):
 * each `Custom::*` resource in a YAML block — and each block of properties alone, completed with
 * the required ones — has its scalars stringified (test/helpers/events.ts), is parsed by its
 * provider's schema, and gives back what its author wrote: a `Values` map the same values, a
 * `Manifest` map the same objects once typed by the schema a real API server publishes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument, type Tags } from 'yaml';
import type * as z from 'zod';
import { expandLists, KubeClient, resolveObjects, type KubeObject } from '../../../functions/src/kube';
import { schema as helmRelease } from '../../../functions/src/resources/helm-release/schema';
import { schema as kubeGet } from '../../../functions/src/resources/kube-get/schema';
import { schema as kubeManifest } from '../../../functions/src/resources/kube-manifest/schema';
import { awsAuthSchema } from '../../../functions/src/resources/aws-auth/schema';
import { schema as vpcCleanup } from '../../../functions/src/resources/vpc-cleanup/schema';
import { documentsForm, parseProperties } from '../../../functions/src/runtime';
import { useLocalCluster } from '../../helpers/cluster';
import { stringifyScalars } from '../../helpers/events';

const docs = resolve(__dirname, '../../../docs/resources');

/** Each page's type, its schema, and what completes a block of its properties alone. */
const TYPES: Record<string, { schema: z.ZodType; required: Record<string, unknown> }> = {
  'Custom::HelmRelease': { schema: helmRelease, required: { ClusterName: 'ci', Chart: 'web' } },
  'Custom::KubeManifest': {
    schema: kubeManifest,
    required: { ClusterName: 'ci', Manifest: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}' },
  },
  'Custom::KubeGet': { schema: kubeGet, required: { ClusterName: 'ci', Object: 'svc/web', JsonPath: '{.spec}' } },
  'Custom::AwsAuth': { schema: awsAuthSchema, required: { ClusterName: 'ci' } },
  'Custom::VpcCleanup': { schema: vpcCleanup, required: { ClusterName: 'ci', VpcId: 'vpc-0123456789abcdef0' } },
};
const PAGE_TYPE: Record<string, string> = {
  'helm-release.md': 'Custom::HelmRelease',
  'kube-manifest.md': 'Custom::KubeManifest',
  'kube-get.md': 'Custom::KubeGet',
  'aws-auth.md': 'Custom::AwsAuth',
  'vpc-cleanup.md': 'Custom::VpcCleanup',
};

/** Values for the template parameters and attributes the examples name, as a stack would give them. */
const PARAMETERS: Record<string, unknown> = {
  ExtraRoleMappings: '', // a parameter left empty: maps nothing
  TrustedAccounts: ['111122223333', '444455556666'],
  VPCID: 'vpc-0123456789abcdef0',
  AgentsManifestUrl: 's3://my-artifacts/manifests/agents-3f2a9c.yaml',
  // A real (self-signed) CA certificate: the property is checked to hold parseable PEM certificates.
  ChartRepositoryCa: selfSignedCa(),
};

/** A throwaway self-signed CA certificate in PEM, made by openssl. */
function selfSignedCa(): string {
  const dir = mkdtempSync(join(tmpdir(), 'docs-ca-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=docs-ca',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
    ],
    { stdio: 'ignore' },
  );
  const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return pem;
}
const ref = (name: string) => PARAMETERS[name] ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
const sub = (text: string) =>
  text
    .replace(/\$\{AWS::Partition\}/g, 'aws')
    .replace(/\$\{AWS::AccountId\}/g, '111122223333')
    .replace(/\$\{AWS::Region\}/g, 'us-east-1')
    .replace(/\$\{([^}]+)\}/g, (_m, name: string) => String(ref(name)));

/** CloudFormation's short-form functions, evaluated with the example values above. */
const customTags = [
  { tag: '!Ref', resolve: (v: string) => ref(v) },
  { tag: '!Sub', resolve: (v: string) => sub(v) },
  {
    tag: '!GetAtt',
    resolve: (v: string) =>
      v.endsWith('.Arn')
        ? `arn:aws:iam::111122223333:role/${v.split('.')[0]}`
        : /\.Outputs\.\w+ProviderArn$/.test(v)
          ? `arn:aws:lambda:us-east-1:111122223333:function:${v.split('.').pop()!.replace(/Arn$/, '')}`
          : `${v}-value`,
  },
  {
    tag: '!Join',
    collection: 'seq' as const,
    resolve: (seq: { toJSON(): unknown }) => {
      const [sep, list] = seq.toJSON() as [string, unknown[]];
      return list.flat().join(sep);
    },
  },
] as unknown as Tags;

interface Example {
  where: string;
  type: string;
  properties: Record<string, unknown>;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const page of readdirSync(docs).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(docs, page), 'utf8');
    let n = 0;
    for (const m of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      n++;
      const value = parseDocument(m[1]!, { customTags }).toJS() as unknown;
      const found: Example[] = [];
      const visit = (o: unknown) => {
        if (!o || typeof o !== 'object') return;
        const r = o as { Type?: unknown; Properties?: Record<string, unknown> };
        if (typeof r.Type === 'string' && r.Type.startsWith('Custom::') && r.Properties) {
          // The syntax block ("ClusterName: String") documents types, not values.
          if (r.Properties.ServiceToken !== 'String')
            found.push({ where: `${page} block ${n}`, type: r.Type, properties: r.Properties });
        } else Object.values(o).forEach(visit);
      };
      visit(value);
      const type = PAGE_TYPE[page];
      if (found.length === 0 && type && value && typeof value === 'object' && !Array.isArray(value)) {
        // A block of properties alone (`Values:`, `Manifest:`): complete it with the required ones.
        const known = Object.keys((TYPES[type]!.schema as unknown as { shape: object }).shape ?? {});
        if (Object.keys(value).every((k) => known.includes(k)))
          found.push({
            where: `${page} block ${n}`,
            type,
            properties: { ...TYPES[type]!.required, ...(value as object) },
          });
      }
      out.push(...found);
    }
  }
  return out;
}

const all = examples();
const cluster = useLocalCluster({ nodes: false });

test('the docs have examples of every type, and of each property form', () => {
  const types = new Set(all.map((e) => e.type));
  expect([...types].sort()).toEqual([
    'Custom::AwsAuth',
    'Custom::HelmRelease',
    'Custom::KubeGet',
    'Custom::KubeManifest',
    'Custom::VpcCleanup',
  ]);
  expect(all.some((e) => e.type === 'Custom::HelmRelease' && typeof e.properties.Values === 'object')).toBe(true);
  expect(all.some((e) => e.type === 'Custom::HelmRelease' && typeof e.properties.Values === 'string')).toBe(true);
  expect(all.some((e) => e.type === 'Custom::KubeManifest' && typeof e.properties.Manifest === 'object')).toBe(true);
  expect(all.some((e) => e.type === 'Custom::KubeManifest' && typeof e.properties.Manifest === 'string')).toBe(true);
});

describe.each(all.map((e) => [`${e.where}: ${e.type}`, e] as const))('%s', (_name, example) => {
  test('stringified as CloudFormation sends it, it parses and gives back what its author wrote', async () => {
    // given
    const sent = stringifyScalars(example.properties);

    // when
    const props = parseProperties(TYPES[example.type]!.schema, sent) as Record<string, unknown>;

    // then
    if (
      example.type === 'Custom::HelmRelease' &&
      example.properties.Values &&
      typeof example.properties.Values === 'object'
    )
      expect(props.Values).toEqual(example.properties.Values);
    const manifest = example.properties.Manifest;
    if (example.type === 'Custom::KubeManifest' && manifest && typeof manifest === 'object') {
      const docsOf = props.Manifest as KubeObject[];
      expect(documentsForm(docsOf)).toBe('native');
      const c = cluster();
      const client = new KubeClient({ server: c.server, caData: c.caData, token: c.token, clusterName: 'local' });
      try {
        // As KubeManifest types them: by the server's schema, or by the CRD the manifest holds.
        const objects = await resolveObjects(client, expandLists(docsOf, 'Manifest'), {
          defaultNamespace: 'default',
          unknownKinds: 'fail',
        });
        const written = (Array.isArray(manifest) ? manifest : [manifest]) as KubeObject[];
        const typed = objects.map((o, i) => {
          const { metadata, ...rest } = o.body;
          if (!written[i]!.metadata.namespace) delete metadata.namespace;
          return { ...rest, metadata };
        });
        expect(typed).toEqual(written);
      } finally {
        client.close();
      }
    }
  });
});
