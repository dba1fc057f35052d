/**
 * KubeProvider: the Lambda for the Kubernetes-object resource types. Each type's code loads on
 * first use, so the runtime is up (and can answer) before any Kubernetes code runs.
 */
import { createProvider } from '../runtime';

export const handler = createProvider({
  name: 'KubeProvider',
  resources: {
    'Custom::AwsAuth': () => import('../resources/aws-auth'),
    'Custom::KubeManifest': () => import('../resources/kube-manifest'),
    'Custom::KubeGet': () => import('../resources/kube-get'),
  },
});
