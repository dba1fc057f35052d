// Structure of the Quick Start templates beyond what cfn-lint can see: nested stacks resolve to files
// in the repository and receive exactly the parameters their templates declare, every entrypoint
// parameter reaches the nested stacks that use it, and every QSS3KeyPrefix-relative path exists.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { templateFiles } from '../../scripts/dev/lint-templates';
import {
  allTemplatePaths,
  clusterEntrypointPaths,
  entrypointPaths,
  loadTemplate,
  nestedStacks,
  referencedNames,
  repoRoot,
  templateTree,
  walk,
  type Template,
} from './cfn-template';

const templates = allTemplatePaths();

/** What `npm run build` writes (functions/packages is git-ignored). */
const buildOutputs = [
  'functions/packages/KubeProvider/lambda.zip',
  'functions/packages/HelmProvider/lambda.zip',
  'functions/packages/CleanupProvider/lambda.zip',
  'functions/packages/HelmLayer/layer.zip',
];

describe('every template', () => {
  test('the repository holds the layout DESIGN.md describes', () => {
    expect(templates).toEqual(
      expect.arrayContaining([
        ...entrypointPaths,
        'templates/kubecfn-eks.template.yaml',
        'templates/kubecfn-functions.template.yaml',
        'templates/kubecfn-nodegroup.template.yaml',
        'templates/kubecfn-addons.template.yaml',
        'templates/workloads/kubecfn-jenkins.template.yaml',
        'templates/workloads/kubecfn-gitlab-runner.template.yaml',
        'submodules/vpc/templates/vpc.template.yaml',
        'submodules/bastion/templates/bastion.template.yaml',
      ]),
    );
  });

  test('npm run lint:templates lints every one of them', () => {
    expect(templateFiles()).toEqual(templates);
  });

  test.each(templates)('%s: every parameter is described, labelled and grouped exactly once', (path) => {
    const t = loadTemplate(path);
    expect(t.Description).toEqual(expect.any(String));
    const iface = t.Metadata?.['AWS::CloudFormation::Interface'] as
      | {
          ParameterGroups: { Label: { default: string }; Parameters: string[] }[];
          ParameterLabels: Record<string, { default: string }>;
        }
      | undefined;
    const params = Object.keys(t.Parameters ?? {});
    if (!params.length) return;
    expect(iface).toBeDefined();
    const grouped = iface!.ParameterGroups.flatMap((g) => g.Parameters);
    const problems: string[] = [];
    for (const p of params) {
      if (!t.Parameters![p]!.Description) problems.push(`${p}: no Description`);
      if (!iface!.ParameterLabels[p]?.default) problems.push(`${p}: no ParameterLabel`);
      const times = grouped.filter((g) => g === p).length;
      if (times !== 1) problems.push(`${p}: in ${times} parameter groups`);
    }
    for (const g of grouped) if (!params.includes(g)) problems.push(`group lists ${g}, which is not a parameter`);
    for (const l of Object.keys(iface!.ParameterLabels))
      if (!params.includes(l)) problems.push(`label for ${l}, which is not a parameter`);
    expect(problems).toEqual([]);
  });
});

describe('nested stacks', () => {
  const parents = templates.filter((p) => nestedStacks(loadTemplate(p)).length > 0);

  test('the entrypoints and the EKS template nest the others', () => {
    expect(parents.sort()).toEqual([...entrypointPaths, 'templates/kubecfn-eks.template.yaml'].sort());
  });

  test.each(parents)('%s: every TemplateURL works for any bucket, in the Quick Start layout', (path) => {
    for (const { logicalId, resource, path: child } of nestedStacks(loadTemplate(path))) {
      const sub = (resource.Properties!.TemplateURL as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
      expect([logicalId, sub[0]]).toEqual([
        logicalId,
        `https://\${S3Bucket}.s3.\${S3Region}.\${AWS::URLSuffix}/\${QSS3KeyPrefix}${child}`,
      ]);
      // The aws-quickstart convention: regional copies named <bucket>-<region>; any other bucket as given,
      // in the stack's Region unless QSS3BucketRegion names one (CodeFromStackRegion).
      expect([logicalId, sub[1]]).toEqual([
        logicalId,
        {
          S3Region: { 'Fn::If': ['CodeFromStackRegion', { Ref: 'AWS::Region' }, { Ref: 'QSS3BucketRegion' }] },
          S3Bucket: {
            'Fn::If': [
              'UsingDefaultBucket',
              { 'Fn::Sub': '${QSS3BucketName}-${AWS::Region}' },
              { Ref: 'QSS3BucketName' },
            ],
          },
        },
      ]);
      expect(existsSync(join(repoRoot, child))).toBe(true);
    }
  });

  test.each(parents)('%s: each nested stack gets exactly the parameters its template declares', (path) => {
    const problems: string[] = [];
    for (const { logicalId, resource, path: childPath } of nestedStacks(loadTemplate(path))) {
      const declared = loadTemplate(childPath).Parameters ?? {};
      const passed = (resource.Properties!.Parameters ?? {}) as Record<string, unknown>;
      for (const name of Object.keys(passed))
        if (!(name in declared)) problems.push(`${logicalId} passes ${name}, which ${childPath} does not declare`);
      for (const [name, p] of Object.entries(declared)) {
        if (p.Default === undefined && !(name in passed))
          problems.push(`${logicalId} leaves out ${name}, which ${childPath} requires`);
      }
    }
    expect(problems).toEqual([]);
  });

  test.each(parents)('%s: every Outputs.X it reads is an output of that nested stack', (path) => {
    const t = loadTemplate(path);
    const children = Object.fromEntries(nestedStacks(t).map((s) => [s.logicalId, loadTemplate(s.path)]));
    const problems: string[] = [];
    walk(t, (node) => {
      const getAtt = (node as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
      if (!Array.isArray(getAtt) || !(getAtt[0] in children)) return;
      const m = /^Outputs\.(.+)$/.exec(String(getAtt[1]));
      if (!m || !children[getAtt[0]]!.Outputs?.[m[1]!]) problems.push(`${getAtt.join('.')} is not an output`);
    });
    expect(problems).toEqual([]);
  });
});

/** The nested stacks under `path` that declare `name`, and whether each is handed the value the parent holds. */
function reach(path: string, name: string, found: string[], problems: string[]): void {
  for (const { logicalId, resource, path: childPath } of nestedStacks(loadTemplate(path))) {
    const child = loadTemplate(childPath);
    if (!child.Parameters?.[name]) continue;
    const value = (resource.Properties!.Parameters as Record<string, unknown> | undefined)?.[name];
    // Either the parameter itself (possibly inside Fn::If or Fn::Join); or a resource built from it
    // (`!Ref Cluster` is the cluster's name, and makes the nested stack wait for the cluster); or a
    // sibling stack's output of the same name that carries it (the cluster name from the EKS stack).
    const parent = loadTemplate(path);
    const refs = referencedNames(value);
    const viaResource = [...refs].some(
      (r) => parent.Resources[r] && referencedNames(parent.Resources[r]!.Properties).has(name),
    );
    const viaOutput = JSON.stringify(value ?? null).includes(`"Outputs.${name}"`);
    if (refs.has(name) || viaResource || viaOutput) {
      found.push(`${path} → ${logicalId}`);
      reach(childPath, name, found, problems);
    } else {
      problems.push(`${path}: ${logicalId} declares ${name} but is given ${JSON.stringify(value)}`);
    }
  }
}

/**
 * Defaults an entrypoint sets apart from the nested template's, on purpose: into a cluster of the
 * user's, the existing-cluster entrypoint installs nothing that may be there already unless asked.
 */
const ownDefaults: Record<string, string[]> = {
  'templates/kubecfn-entrypoint-existing-cluster.template.yaml': [
    'LoadBalancerController',
    'EfsStorage',
    'EbsStorage',
    'MetricsServer',
    'ClusterAutoscaler',
  ],
};

describe.each(entrypointPaths)('%s', (entry) => {
  const t: Template = loadTemplate(entry);
  const params = Object.keys(t.Parameters!);

  test('every parameter is used, and reaches every nested stack that declares it', () => {
    const used = referencedNames({
      Resources: t.Resources,
      Outputs: t.Outputs,
      Conditions: t.Conditions,
      Rules: t.Rules,
    });
    const problems: string[] = [];
    for (const p of params) {
      if (!used.has(p)) problems.push(`${p} is not used`);
      reach(entry, p, [], problems);
    }
    expect(problems).toEqual([]);
  });

  test('parameters it passes through keep the nested template’s type, default and allowed values', () => {
    const problems: string[] = [];
    for (const path of templateTree(entry).slice(1)) {
      for (const [name, p] of Object.entries(loadTemplate(path).Parameters ?? {})) {
        const mine = t.Parameters![name];
        if (!mine || name === 'ClusterName' || name === 'QSS3BucketName') continue; // entrypoint-specific meaning, checked below
        const norm = (v: unknown) => (v === undefined ? undefined : String(v));
        // A List<...> or CommaDelimitedList goes down a level as its comma-joined string.
        const sameType =
          mine.Type === p.Type ||
          (p.Type === 'String' && mine.Type.startsWith('List<')) ||
          (p.Type === 'CommaDelimitedList' && mine.Type.startsWith('List<'));
        if (!sameType) problems.push(`${name}: ${mine.Type} here, ${p.Type} in ${path}`);
        if (p.Default !== undefined && norm(mine.Default) !== norm(p.Default) && !ownDefaults[entry]?.includes(name))
          problems.push(`${name}: default ${mine.Default} here, ${p.Default} in ${path}`);
        if (
          p.AllowedValues &&
          JSON.stringify(mine.AllowedValues?.map(String)) !== JSON.stringify(p.AllowedValues.map(String))
        ) {
          problems.push(`${name}: allowed values differ from ${path}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('QSS3BucketName is required', () => {
    expect(t.Parameters!.QSS3BucketName!.Default).toBeUndefined();
  });

  if (clusterEntrypointPaths.includes(entry))
    test('an empty ClusterName falls back to the stack name', () => {
      expect(t.Parameters!.ClusterName!.Default).toBe('');
      expect(t.Conditions!.GenerateClusterName).toEqual({ 'Fn::Equals': [{ Ref: 'ClusterName' }, ''] });
    });
  else
    test('ClusterName names the existing cluster: required, and passed to every nested stack as it is', () => {
      expect(t.Parameters!.ClusterName!.Default).toBeUndefined();
      for (const { logicalId, resource } of nestedStacks(t)) {
        const given = (resource.Properties!.Parameters as Record<string, unknown>).ClusterName;
        expect([logicalId, given]).toEqual([logicalId, { Ref: 'ClusterName' }]);
      }
    });

  test('its rules repeat every nested rule on parameters it passes through, so a bad combination fails before anything is created', () => {
    const problems: string[] = [];
    for (const path of templateTree(entry).slice(1)) {
      for (const [rule, body] of Object.entries(loadTemplate(path).Rules ?? {})) {
        const names = [...referencedNames(body)].filter((n) => !n.startsWith('AWS::'));
        if (names.every((n) => n in t.Parameters!) && !t.Rules?.[rule])
          problems.push(`${path} rule ${rule} is missing here`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('Quick Start paths', () => {
  /** Every path a template builds from ${QSS3KeyPrefix}, with the template it is in. */
  const paths = templates.flatMap((path) => {
    const out: { template: string; file: string }[] = [];
    walk(loadTemplate(path), (node) => {
      const sub = (node as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
      const text = typeof sub === 'string' ? sub : Array.isArray(sub) ? sub[0] : undefined;
      const m = typeof text === 'string' ? /\$\{QSS3KeyPrefix\}([^\s"]*)/.exec(text) : null;
      if (m) out.push({ template: path, file: m[1]! });
    });
    return out;
  });

  test('templates refer to the function packages and the nested templates', () => {
    const files = new Set(paths.map((p) => p.file));
    for (const b of buildOutputs) expect(files).toContain(b);
    expect(files).toContain('templates/kubecfn-eks.template.yaml');
  });

  test('every QSS3KeyPrefix-relative path is a file in the repository or one npm run build produces', () => {
    const problems = paths
      .filter(({ file }) => file !== '*') // an IAM resource covering the whole prefix
      .filter(({ file }) => !existsSync(join(repoRoot, file)) && !buildOutputs.includes(file))
      .map(({ template, file }) => `${template}: ${file}`);
    expect(problems).toEqual([]);
  });

  // Not skipped when functions/packages is absent: jest's global setup builds the packages (npm test
  // builds them just before, with KUBECFN_SKIP_BUILD=1), so a missing one means the build is broken.
  test('the build produced every package the templates load', () => {
    const missing = buildOutputs
      .filter((b) => !existsSync(join(repoRoot, b)))
      .map((b) => `${b} is missing: npm run build (run by jest's global setup) did not produce it`);
    expect(missing).toEqual([]);
  });
});
