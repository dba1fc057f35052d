// What would refuse or break a launch in a real AWS account that cfn-lint cannot see: functions
// CloudFormation refuses inside Rules, defaults that fail outside one Region, endpoint settings the
// nodes and providers cannot work with, an extra admin that collides with the deployer's access
// entry, zones EKS refuses, and an existing VPC whose subnets are not what the user says they are.
import { allTemplatePaths, loadTemplate, requiredParameterSamples } from './cfn-template';
import { accountFor, evaluateRuleExpression, functionsInRules, ruleFunctions } from './rule-functions';

const templates = allTemplatePaths().map((path) => ({ path, t: loadTemplate(path) }));
const withRules = templates.filter(({ t }) => Object.keys(t.Rules ?? {}).length > 0);

describe('Rules use the rule functions only (CloudFormation refuses Fn::Join, Fn::If, Fn::Sub … there)', () => {
  test('the templates with rules are the entrypoints, the EKS, functions and bastion templates', () => {
    expect(withRules.map(({ path }) => path).sort()).toEqual(
      [
        'templates/kubecfn-entrypoint-existing-vpc.template.yaml',
        'templates/kubecfn-entrypoint-new-vpc.template.yaml',
        'templates/kubecfn-eks.template.yaml',
        'templates/kubecfn-functions.template.yaml',
        'submodules/bastion/templates/bastion.template.yaml',
      ].sort(),
    );
  });

  test.each(templates)('$path: every function inside Rules is a rule function', ({ t }) => {
    const refused = functionsInRules(t)
      .filter(({ fn }) => !ruleFunctions.has(fn))
      .map(({ where, fn }) => `${where}: ${fn}`);
    expect(refused).toEqual([]);
  });

  test.each(withRules)('$path: every rule evaluates with the rule functions alone, on the defaults', ({ t }) => {
    const values = { 'AWS::Region': 'eu-west-1', ...requiredParameterSamples(t) };
    for (const body of Object.values(t.Rules!)) {
      if (body.RuleCondition !== undefined)
        evaluateRuleExpression(t, body.RuleCondition, values, accountFor(t, values));
      for (const a of body.Assertions) evaluateRuleExpression(t, a.Assert, values, accountFor(t, values));
    }
  });
});
