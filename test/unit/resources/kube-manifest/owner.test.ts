/** Who manages a KubeManifest's objects, and the physical id that says so. */
import { ownerFor, ownerFromId, physicalIdFor } from '../../../../functions/src/resources/kube-manifest';

describe('physical ids', () => {
  const event = {
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ci-eks/4a1b2c3d-0000-11ef-0000-000000000000',
    LogicalResourceId: 'JenkinsNamespace',
  };

  test('<cluster>/<stack>/<logical id>/<hash>, stable for the same stack and resource', () => {
    const id = physicalIdFor('ci', event);
    expect(id).toMatch(/^ci\/ci-eks\/JenkinsNamespace\/[0-9a-f]{8}$/);
    expect(physicalIdFor('ci', event)).toBe(id);
    expect(physicalIdFor('ci', { ...event, StackId: event.StackId.replace('4a1b', '5a1b') })).not.toBe(id);
  });

  test('the owner is recovered from the id, whatever the cluster name', () => {
    expect(ownerFromId(physicalIdFor('ci', event))).toBe(ownerFor(event));
    expect(ownerFromId(physicalIdFor('my/odd/cluster', event))).toBe(ownerFor(event));
    expect(ownerFromId('kubecfn:create-failed:X:0123')).toBeUndefined();
  });

  test('stays far below 1 KB for the longest names', () => {
    const long = {
      StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${'s'.repeat(128)}/uuid`,
      LogicalResourceId: 'L'.repeat(255),
    };
    expect(physicalIdFor('c'.repeat(100), long).length).toBeLessThan(520);
  });
});
