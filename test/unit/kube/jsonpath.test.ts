/** Kubernetes JSONPath templates (kubectl's dialect) evaluated on plain objects. */
import { checkJsonPath, evaluateJsonPath, JsonPathError } from '../../../functions/src/kube';

const service = {
  metadata: { name: 'jenkins', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r', plain: 'p' } },
  spec: {
    ports: [
      { name: 'http', port: 80 },
      { name: 'https', port: 443 },
    ],
    selector: { app: 'jenkins' },
  },
  status: {
    loadBalancer: { ingress: [{ hostname: 'a1.elb.amazonaws.com' }] },
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'Degraded', status: 'False' },
    ],
    empty: '',
    nothing: null,
    count: 0,
    flag: false,
  },
};

describe('evaluateJsonPath', () => {
  test.each([
    ['{.status.loadBalancer.ingress[0].hostname}', 'a1.elb.amazonaws.com'],
    ['.status.loadBalancer.ingress[0].hostname', 'a1.elb.amazonaws.com'],
    ['status.loadBalancer.ingress[0].hostname', 'a1.elb.amazonaws.com'],
    ['{$.metadata.name}', 'jenkins'],
    ['{.metadata.annotations.eks\\.amazonaws\\.com/role-arn}', 'arn:aws:iam::1:role/r'],
    ["{.metadata.annotations['eks.amazonaws.com/role-arn']}", 'arn:aws:iam::1:role/r'],
    ['{.spec.ports[*].port}', '80 443'],
    ['{.spec.ports[-1:].name}', 'https'],
    ['{.status.conditions[?(@.type=="Ready")].status}', 'True'],
    ["{.status.conditions[?(@.type=='Degraded')].status}", 'False'],
    ['{..hostname}', 'a1.elb.amazonaws.com'],
    ['{.spec.selector}', '{"app":"jenkins"}'],
    ['{.spec.ports[0].name}:{.spec.ports[0].port}', 'http:80'],
    ['http://{.status.loadBalancer.ingress[0].hostname}{":"}{.spec.ports[0].port}', 'http://a1.elb.amazonaws.com:80'],
    ['{.status.count}', '0'],
    ['{.status.flag}', 'false'],
  ])('%s → %s', (template, expected) => {
    expect(evaluateJsonPath(template, service)).toBe(expected);
  });

  test.each([
    ['{.status.missing}'],
    ['{.status.empty}'],
    ['{.status.nothing}'],
    ['{.spec.ports[5].port}'],
    ['{.metadata.name}-{.status.missing}'],
  ])('%s has no value yet', (template) => {
    expect(evaluateJsonPath(template, service)).toBeUndefined();
  });
});

describe('checkJsonPath', () => {
  test.each([
    ['{.status', 'unclosed { at position 1'],
    ['{.spec.ports[0}', 'unclosed [ at position 12'],
    [
      '{range .items[*]}{.metadata.name}{end}',
      '{range .items[*]}: range/end templates are not supported; use [*] to select every item',
    ],
  ])('%s is rejected: %s', (template, message) => {
    expect(() => checkJsonPath(template)).toThrow(new JsonPathError(message));
  });

  test('a valid template passes', () => {
    expect(() => checkJsonPath('{.status.loadBalancer.ingress[0].hostname}')).not.toThrow();
  });
});
