// Safe defaults the templates promise (issue: unsafe defaults of the reference Quick Starts): no IAM
// wildcard actions, IMDSv2 wherever instances launch, encrypted volumes and file systems, rotating
// keys, nothing reachable from the whole internet unless a user asks for it.
import { parse } from 'yaml';
import { allTemplatePaths, clusterEntrypointPaths, loadTemplate, walk, type Template } from './cfn-template';
import { refusedBy as rulesRefusing } from './rule-functions';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));

interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  Principal?: unknown;
}

/** Every IAM statement in a template: role policies, managed policies, key policies, trust policies. */
function statements(t: Template): { where: string; s: Statement }[] {
  const out: { where: string; s: Statement }[] = [];
  walk(t.Resources, (node, path) => {
    const st = (node as { Statement?: unknown } | null)?.Statement;
    if (!Array.isArray(st)) return;
    st.forEach((s, i) => {
      // A conditional statement is {Fn::If: [cond, statement, AWS::NoValue]}; its branches are visited on their own.
      if (s && typeof s === 'object' && 'Effect' in s)
        out.push({ where: [...path, 'Statement', String(i)].join('.'), s: s as Statement });
    });
  });
  return out;
}

const actionsOf = (s: Statement): string[] => [s.Action ?? []].flat().filter((a): a is string => typeof a === 'string');

describe('IAM', () => {
  test('there are policies to check', () => {
    expect(templates.flatMap(({ t }) => statements(t)).length).toBeGreaterThan(20);
  });

  test.each(templates)(
    '$path: no statement allows Action "*" or a whole service ("svc:*"), none uses NotAction',
    ({ t }) => {
      const problems = statements(t).flatMap(({ where, s }) => [
        ...actionsOf(s)
          .filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))
          .map((a) => `${where}: ${a}`),
        ...(s.NotAction ? [`${where}: NotAction`] : []),
      ]);
      expect(problems).toEqual([]);
    },
  );

  test.each(templates)('$path: no broad AWS managed policy is attached', ({ t }) => {
    const broad =
      /policy\/(AdministratorAccess|PowerUserAccess|IAMFullAccess|ReadOnlyAccess|AmazonS3FullAccess|AmazonEC2FullAccess)$/;
    const problems: string[] = [];
    walk(t.Resources, (node, path) => {
      if (path.at(-2) !== 'ManagedPolicyArns') return;
      const arn = JSON.stringify(node);
      if (broad.test(arn.replace(/"/g, ''))) problems.push(`${path.join('.')}: ${arn}`);
    });
    expect(problems).toEqual([]);
  });

  test('roles that pods assume trust only the EKS pod identity service', () => {
    const podRoles = templates.flatMap(({ t }) =>
      Object.entries(t.Resources).filter(
        ([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties).includes('pods.eks.amazonaws.com'),
      ),
    );
    expect(podRoles.length).toBeGreaterThanOrEqual(4);
    for (const [id, r] of podRoles) {
      const trust = (r.Properties!.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
      expect([id, trust]).toEqual([
        id,
        [
          {
            Effect: 'Allow',
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            // only for this account's cluster (confused deputy)
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnEquals: {
                'aws:SourceArn': {
                  'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}',
                },
              },
            },
          },
        ],
      ]);
    }
  });
});

describe('instances', () => {
  const launchTemplates = templates.flatMap(({ path, t }) =>
    Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::LaunchTemplate')
      .map(([id, r]) => ({ id: `${path}#${id}`, data: r.Properties!.LaunchTemplateData as Record<string, unknown> })),
  );

  test('the bastion and every node partition launch from a launch template', () => {
    expect(launchTemplates.map((l) => l.id).sort()).toEqual([
      'submodules/bastion/templates/bastion.template.yaml#BastionLaunchTemplate',
      'templates/kubecfn-nodegroup.template.yaml#LaunchTemplate',
    ]);
  });

  test.each(launchTemplates)('$id requires IMDSv2', ({ data }) => {
    expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
  });

  test.each(launchTemplates)('$id encrypts every volume', ({ data }) => {
    const mappings = data.BlockDeviceMappings as { Ebs?: { Encrypted?: boolean } }[];
    expect(mappings.length).toBeGreaterThan(0);
    for (const m of mappings) expect(m.Ebs?.Encrypted).toBe(true);
  });

  test.each(templates)(
    '$path: instances and node groups launch only from its launch templates; no launch configurations',
    ({ t }) => {
      const problems: string[] = [];
      for (const [id, r] of Object.entries(t.Resources)) {
        if (r.Type === 'AWS::AutoScaling::LaunchConfiguration') problems.push(`${id}: launch configuration`);
        if (r.Type === 'AWS::EC2::Instance' || r.Type === 'AWS::EKS::Nodegroup') {
          const lt = r.Properties!.LaunchTemplate as Record<string, unknown> | undefined;
          const ref = JSON.stringify(lt?.LaunchTemplateId ?? lt?.Id ?? null);
          const target = /"Ref":"([^"]+)"/.exec(ref)?.[1];
          if (!target || t.Resources[target]?.Type !== 'AWS::EC2::LaunchTemplate')
            problems.push(`${id}: not launched from a launch template of this template`);
        }
        if (r.Type === 'AWS::EC2::Volume' && r.Properties!.Encrypted !== true)
          problems.push(`${id}: unencrypted volume`);
      }
      expect(problems).toEqual([]);
    },
  );
});

describe('data at rest', () => {
  test('EFS file systems are encrypted', () => {
    const fs = templates.flatMap(({ t }) =>
      Object.values(t.Resources).filter((r) => r.Type === 'AWS::EFS::FileSystem'),
    );
    expect(fs.length).toBeGreaterThan(0);
    for (const f of fs) expect(f.Properties!.Encrypted).toBe(true);
  });

  test('KMS keys rotate, and the cluster encrypts secrets with one', () => {
    const keys = templates.flatMap(({ t }) => Object.values(t.Resources).filter((r) => r.Type === 'AWS::KMS::Key'));
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.Properties!.EnableKeyRotation).toBe(true);
    const cluster = loadTemplate('templates/kubecfn-eks.template.yaml').Resources.Cluster!;
    expect(cluster.Properties!.EncryptionConfig).toEqual([
      {
        Resources: ['secrets'],
        Provider: {
          KeyArn: { 'Fn::If': ['CreateKmsKey', { 'Fn::GetAtt': ['SecretsKey', 'Arn'] }, { Ref: 'SecretsKmsKeyArn' }] },
        },
      },
    ]);
  });

  test('StorageClasses for EBS volumes ask for encryption', () => {
    const classes: Record<string, unknown>[] = [];
    for (const { t } of templates) {
      for (const r of Object.values(t.Resources)) {
        if (r.Type !== 'Custom::KubeManifest') continue;
        const m = r.Properties!.Manifest;
        const text = typeof m === 'string' ? m : (m as { 'Fn::Sub'?: unknown })['Fn::Sub'];
        for (const doc of String(Array.isArray(text) ? text[0] : text).split(/^---$/m)) {
          const o = parse(doc) as { kind?: string; provisioner?: string } | null;
          if (o?.kind === 'StorageClass' && o.provisioner === 'ebs.csi.aws.com')
            classes.push(o as Record<string, unknown>);
        }
      }
    }
    expect(classes.length).toBeGreaterThan(0);
    for (const c of classes) expect(c.parameters).toMatchObject({ encrypted: 'true' });
  });
});

describe('network exposure by default', () => {
  test.each(templates)(
    '$path: 0.0.0.0/0 appears only as an egress or route destination, never as a default',
    ({ t }) => {
      const problems: string[] = [];
      walk(t, (node, path) => {
        if (typeof node !== 'string' || !/(^|[^0-9])0\.0\.0\.0\/0|::\/0/.test(node)) return;
        const allowed =
          path.includes('SecurityGroupEgress') ||
          path.at(-1) === 'DestinationCidrBlock' ||
          path[0] === 'Rules' || // the rules that reject it
          /Description$/.test(path.at(-1) ?? '');
        if (!allowed) problems.push(path.join('.'));
      });
      for (const [name, p] of Object.entries(t.Parameters ?? {})) {
        if (String(p.Default ?? '').includes('0.0.0.0/0')) problems.push(`Parameters.${name}.Default`);
      }
      expect(problems).toEqual([]);
    },
  );

  test.each(templates)(
    '$path: security-group ingress comes from another group or from a parameter that defaults to nothing',
    ({ t }) => {
      const problems: string[] = [];
      const rules: { where: string; rule: Record<string, unknown> }[] = [];
      for (const [id, r] of Object.entries(t.Resources)) {
        if (r.Type === 'AWS::EC2::SecurityGroupIngress') rules.push({ where: id, rule: r.Properties! });
        if (r.Type === 'AWS::EC2::SecurityGroup') {
          walk(r.Properties!.SecurityGroupIngress, (node, path) => {
            if (node && typeof node === 'object' && 'IpProtocol' in node)
              rules.push({ where: `${id}.${path.join('.')}`, rule: node as Record<string, unknown> });
          });
        }
      }
      for (const { where, rule } of rules) {
        if (rule.SourceSecurityGroupId) continue;
        const cidr = JSON.stringify(rule.CidrIp ?? rule.CidrIpv6 ?? null);
        const param = /^\{"Ref":"([^"]+)"\}$/.exec(cidr)?.[1];
        if (!param || t.Parameters?.[param]?.Default !== '') problems.push(`${where}: ingress from ${cidr}`);
      }
      expect(problems).toEqual([]);
    },
  );

  test('subnets never give instances a public address on their own', () => {
    for (const { t } of templates) {
      for (const r of Object.values(t.Resources))
        if (r.Type === 'AWS::EC2::Subnet') expect(r.Properties!.MapPublicIpOnLaunch).not.toBe(true);
    }
  });

  test('the cluster endpoint is private by default, with no public CIDRs', () => {
    const eks = loadTemplate('templates/kubecfn-eks.template.yaml');
    expect(eks.Parameters!.EndpointAccess!.Default).toBe('Private');
    expect(eks.Parameters!.PublicAccessCIDRs!.Default).toBe('');
  });

  // Every template a user can set EndpointAccess on: the rules are evaluated on parameter sets, so
  // what is checked is what the rule enforces, not that a rule of that name exists.
  const endpointTemplates = templates.filter(({ t }) => t.Parameters?.EndpointAccess && t.Parameters.PublicAccessCIDRs);

  test('the templates that take EndpointAccess are the cluster template and the entrypoints that create one', () => {
    expect(endpointTemplates.map(({ path }) => path).sort()).toEqual(
      [...clusterEntrypointPaths, 'templates/kubecfn-eks.template.yaml'].sort(),
    );
  });

  describe.each(endpointTemplates)('$path: a public endpoint needs CIDRs the user gives', ({ t }) => {
    /**
     * The rules (by name) CloudFormation would refuse these values with, on top of the defaults; the
     * existing-VPC subnets exist in the VPC, in zones of their own (its rules look them up).
     */
    const refusedBy = (values: Record<string, string>) => rulesRefusing(t, values);

    test.each([
      ['Public', ''],
      ['PublicAndPrivate', ''],
    ])('refuses EndpointAccess=%s with PublicAccessCIDRs=%j', (access, cidrs) => {
      expect(refusedBy({ EndpointAccess: access, PublicAccessCIDRs: cidrs })).toEqual(['PublicEndpointNeedsCidrs']);
    });

    test.each([
      ['Private', ''],
      ['Public', '0.0.0.0/0'],
      ['PublicAndPrivate', '203.0.113.0/24,198.51.100.7/32'],
      ['Private', '203.0.113.0/24'],
    ])('accepts EndpointAccess=%s with PublicAccessCIDRs=%j', (access, cidrs) => {
      expect(refusedBy({ EndpointAccess: access, PublicAccessCIDRs: cidrs })).toEqual([]);
    });

    test('accepts the defaults as they are', () => {
      expect(refusedBy({})).toEqual([]);
    });
  });
});
