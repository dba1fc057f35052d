// What a launch that succeeds would still get wrong at run time or in security: GitLab jobs on arm64
// pulling the x86_64 helper, partitions of mixed instance shapes, build pods reaching the node role's
// credentials through instance metadata, Jenkins in plain HTTP over the internet.
import { parse } from 'yaml';
import { entrypointPaths, loadTemplate, type Template } from './cfn-template';
import { resolveValue } from './resolve';
import { refusedBy } from './rule-functions';

const eks = loadTemplate('templates/kubecfn-eks.template.yaml');

/** The node-group stacks of the EKS template, by partition name, with the parameters they are given. */
const partitions = Object.fromEntries(
  Object.values(eks.Resources)
    .filter(
      (r) =>
        r.Type === 'AWS::CloudFormation::Stack' && (r.Properties!.Parameters as Record<string, unknown>)?.PartitionName,
    )
    .map((r) => {
      const p = r.Properties!.Parameters as Record<string, unknown>;
      return [String(p.PartitionName), p];
    }),
);

describe('the GitLab runner', () => {
  const gitlab = loadTemplate('templates/workloads/kubecfn-gitlab-runner.template.yaml');
  const archOfAmi: Record<string, string> = { AL2023_x86_64_STANDARD: 'amd64', AL2023_ARM_64_STANDARD: 'arm64' };

  test.each(['agents', 'graviton'])(
    'selects the %s partition and its CPU architecture, so it picks the helper image for it',
    (partition) => {
      const values = parse(
        String(
          resolveValue(gitlab, gitlab.Resources.GitLabRunnerRelease!.Properties!.Values, {
            GitLabRunnerPartition: partition,
          }),
        ),
      ) as { runners: { config: string } };
      const selector = /\[runners\.kubernetes\.node_selector\]\n((?:\s+"[^"]+" = "[^"]*"\n)+)/.exec(
        values.runners.config,
      );
      expect(selector).not.toBeNull();
      const pairs = Object.fromEntries(
        [...selector![1]!.matchAll(/"([^"]+)" = "([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      const ami = String(partitions[partition]!.AmiType);
      expect(pairs).toEqual({ 'kubecfn.io/partition': partition, 'kubernetes.io/arch': archOfAmi[ami] });
    },
  );
});

describe('instance shapes', () => {
  /** vCPUs and GiB of memory of the instance types the templates default to (a new type must be added here). */
  const shapes: Record<string, [number, number]> = {
    'm5.xlarge': [4, 16],
    'm5a.xlarge': [4, 16],
    'm6a.xlarge': [4, 16],
    'm6i.large': [2, 8],
    'm6i.xlarge': [4, 16],
    'm7i.xlarge': [4, 16],
    'm6g.large': [2, 8],
    'm6gd.large': [2, 8],
    'm7g.large': [2, 8],
    'c6g.xlarge': [4, 8],
    'c7g.xlarge': [4, 8],
  };
  const lists = [
    ...entrypointPaths,
    'templates/kubecfn-eks.template.yaml',
    'templates/kubecfn-nodegroup.template.yaml',
  ].flatMap((path) =>
    Object.entries(loadTemplate(path).Parameters ?? {})
      .filter(([name]) => /InstanceTypes$/.test(name))
      .map(([name, p]) => ({ where: `${path} ${name}`, types: String(p.Default).split(',') })),
  );

  test('there are instance type lists to check', () => {
    expect(lists.length).toBe(13);
  });

  // The cluster autoscaler builds a node template from one instance type of a group and assumes
  // every node has that shape: a mixed list scales up too little or too much.
  test.each(lists)('$where: every default instance type has the same vCPUs and memory', ({ types }) => {
    const unknown = types.filter((x) => !shapes[x]);
    expect(unknown).toEqual([]);
    expect(new Set(types.map((x) => shapes[x]!.join(' vCPU, ') + ' GiB')).size).toBe(1);
  });
});

describe('instance metadata', () => {
  const nodegroup = loadTemplate('templates/kubecfn-nodegroup.template.yaml');
  const lt = nodegroup.Resources.LaunchTemplate!.Properties!.LaunchTemplateData as {
    MetadataOptions: Record<string, unknown>;
  };

  test('the hop limit is a parameter of the partition that defaults to 1', () => {
    expect(lt.MetadataOptions.HttpPutResponseHopLimit).toEqual({ Ref: 'MetadataHopLimit' });
    expect(String(nodegroup.Parameters!.MetadataHopLimit!.Default)).toBe('1');
    expect(nodegroup.Parameters!.MetadataHopLimit!.AllowedValues!.map(String)).toEqual(['1', '2']);
  });

  // Build pods (Jenkins agents, GitLab jobs) run untrusted code on the agent and Graviton partitions:
  // with one hop, IMDSv2 answers only the node itself and host-network pods, not pods on the pod network.
  test.each(['agents', 'graviton'])('the %s partition keeps IMDS to the node (hop limit 1)', (partition) => {
    expect(String(partitions[partition]!.MetadataHopLimit)).toBe('1');
  });

  test('the system partition allows at most 2 hops', () => {
    expect(['1', '2']).toContain(String(partitions.system!.MetadataHopLimit));
  });
});

describe('Jenkins', () => {
  const jenkins = loadTemplate('templates/workloads/kubecfn-jenkins.template.yaml');
  const arn = 'arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const base = { VPCCIDR: '10.0.0.0/16' };

  function rendered(values: Record<string, string>) {
    const v = { ...base, ...values };
    const chart = parse(String(resolveValue(jenkins, jenkins.Resources.JenkinsRelease!.Properties!.Values, v))) as {
      controller: {
        servicePort: number;
        targetPort: number;
        serviceAnnotations: Record<string, string>;
        loadBalancerSourceRanges: string[];
      };
    };
    const url = String(resolveValue(jenkins, jenkins.Outputs!.JenkinsURL!.Value, v));
    return { controller: chart.controller, url };
  }

  test('with a certificate: TLS on 443 at the load balancer with the ACM certificate, an https URL', () => {
    const { controller, url } = rendered({ JenkinsCertificateArn: arn, JenkinsAccessCIDR: '203.0.113.0/24' });
    expect(controller.servicePort).toBe(443);
    expect(controller.targetPort).toBe(8080);
    expect(controller.serviceAnnotations).toMatchObject({
      'service.beta.kubernetes.io/aws-load-balancer-ssl-cert': arn,
      'service.beta.kubernetes.io/aws-load-balancer-ssl-ports': '443',
      'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    });
    expect(controller.loadBalancerSourceRanges).toEqual(['203.0.113.0/24']);
    expect(url).toBe('https://<JenkinsLoadBalancer.Value>');
  });

  test('with a certificate and no access CIDR: HTTPS on an internal load balancer', () => {
    const { controller, url } = rendered({ JenkinsCertificateArn: arn });
    expect(controller.serviceAnnotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal');
    expect(controller.serviceAnnotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']).toBe(arn);
    expect(url).toBe('https://<JenkinsLoadBalancer.Value>');
  });

  test('without a certificate: plain HTTP on 8080, internal, open to the VPC only', () => {
    const { controller, url } = rendered({});
    expect(controller.servicePort).toBe(8080);
    expect(Object.keys(controller.serviceAnnotations).filter((k) => /ssl/.test(k))).toEqual([]);
    expect(controller.serviceAnnotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal');
    expect(controller.loadBalancerSourceRanges).toEqual(['10.0.0.0/16']);
    expect(url).toBe('http://<JenkinsLoadBalancer.Value>:8080');
  });

  const withJenkins: { path: string; t: Template }[] = [
    'templates/workloads/kubecfn-jenkins.template.yaml',
    'templates/kubecfn-eks.template.yaml',
    ...entrypointPaths,
  ].map((path) => ({ path, t: loadTemplate(path) }));

  test.each(withJenkins)('$path: refuses an internet-facing Jenkins without a certificate', ({ path, t }) => {
    // Into an existing cluster Jenkins, its add-ons and partitions are off unless asked for.
    const on: Record<string, string> = path.endsWith('-existing-cluster.template.yaml')
      ? {
          JenkinsWorkload: 'Enabled',
          EfsStorage: 'Enabled',
          LoadBalancerController: 'Enabled',
          SystemPartition: 'Enabled',
          AgentPartition: 'Enabled',
        }
      : {};
    const given = { ...base, ...on };
    expect(refusedBy(t, { ...given, JenkinsAccessCIDR: '203.0.113.0/24' })).toEqual(['JenkinsFromOutsideNeedsHttps']);
    expect(refusedBy(t, { ...given, JenkinsAccessCIDR: '203.0.113.0/24', JenkinsCertificateArn: arn })).toEqual([]);
    expect(refusedBy(t, given)).toEqual([]);
  });
});
