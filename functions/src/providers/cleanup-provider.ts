/**
 * CleanupProvider: the Lambda for `Custom::VpcCleanup`. A provider of its own, outside any VPC: it
 * calls AWS APIs only (never the cluster), keeps the EC2, ELB and Lambda clients out of the other
 * providers' packages, and holds the one role allowed to delete what the cluster's controllers left.
 */
import { createProvider } from '../runtime';

export const handler = createProvider({
  name: 'CleanupProvider',
  resources: {
    'Custom::VpcCleanup': () => import('../resources/vpc-cleanup'),
  },
});
