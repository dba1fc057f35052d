/**
 * Lambda's asynchronous delivery of the providers' events, as the runtime's continuation design
 * needs it (templates/kubecfn-functions.template.yaml): retries only of crashed invocations, which
 * the request ledger makes safe, and no event older than CloudFormation's longest ServiceTimeout.
 */
import { loadTemplate } from './cfn-template';

const functions = loadTemplate('templates/kubecfn-functions.template.yaml');
const resources = Object.entries(functions.Resources);

test.each(['KubeProvider', 'HelmProvider', 'CleanupProvider'])(
  '%s has an EventInvokeConfig that fits the continuation design',
  (fn) => {
    const configs = resources.filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::EventInvokeConfig' &&
        JSON.stringify((r.Properties as Record<string, unknown>).FunctionName) === JSON.stringify({ Ref: fn }),
    );
    expect(configs).toHaveLength(1);
    expect(configs[0]![1].Properties).toEqual({
      FunctionName: { Ref: fn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      // CloudFormation's longest ServiceTimeout: an older event belongs to a request it has given up on.
      MaximumEventAgeInSeconds: 3600,
    });
  },
);
