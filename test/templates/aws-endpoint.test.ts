// EndpointAccess and PublicAccessCIDRs that nodes and providers can work with: a public-only endpoint
// (no private endpoint, providers outside the VPC) is reached from the NAT gateways' and Lambda's
// addresses, so it must be open to everyone; restricted CIDRs need PublicAndPrivate.
import { allTemplatePaths, loadTemplate } from './cfn-template';
import { refusedBy } from './rule-functions';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));
const endpointTemplates = templates.filter(({ t }) => t.Parameters?.EndpointAccess && t.Parameters.PublicAccessCIDRs);

describe.each(endpointTemplates)('$path: a public-only endpoint must admit the nodes and the providers', ({ t }) => {
  // With EndpointAccess=Public the private endpoint is off and the providers run outside the VPC:
  // nodes reach the API from the NAT gateways' addresses and the providers from Lambda's, so only a
  // public endpoint open to everyone works. Restricted CIDRs need PublicAndPrivate (the guide says so).
  test('the cluster has no private endpoint and the providers leave the VPC exactly when EndpointAccess is Public', () => {
    const eks = loadTemplate('templates/kubecfn-eks.template.yaml');
    expect(eks.Conditions!.PrivateEndpoint).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'EndpointAccess' }, 'Public'] }],
    });
    const vpc = eks.Resources.Cluster!.Properties!.ResourcesVpcConfig as Record<string, unknown>;
    expect(vpc.EndpointPrivateAccess).toEqual({ 'Fn::If': ['PrivateEndpoint', true, false] });
    const fn = eks.Resources.FunctionsStack!.Properties!.Parameters as Record<string, unknown>;
    expect(JSON.stringify(fn.SubnetIds)).toMatch(/^\{"Fn::If":\["PrivateEndpoint",/);
  });

  test.each(['203.0.113.0/24', '203.0.113.0/24,198.51.100.7/32'])(
    'refuses Public with PublicAccessCIDRs=%j',
    (cidrs) => {
      expect(refusedBy(t, { EndpointAccess: 'Public', PublicAccessCIDRs: cidrs })).toEqual([
        'PublicOnlyEndpointOpenToAll',
      ]);
    },
  );

  test.each([
    ['Public', '0.0.0.0/0'],
    ['Public', '203.0.113.0/24,0.0.0.0/0'],
    ['PublicAndPrivate', '203.0.113.0/24'],
    ['Private', ''],
  ])('accepts %s with PublicAccessCIDRs=%j', (access, cidrs) => {
    expect(refusedBy(t, { EndpointAccess: access, PublicAccessCIDRs: cidrs })).toEqual([]);
  });

  test('an empty PublicAccessCIDRs is refused by its own rule alone', () => {
    expect(refusedBy(t, { EndpointAccess: 'Public', PublicAccessCIDRs: '' })).toEqual(['PublicEndpointNeedsCidrs']);
  });
});
