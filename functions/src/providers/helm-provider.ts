/**
 * HelmProvider: the Lambda for `Custom::HelmRelease`. It runs helm from the helm-only layer
 * (`/opt/bin/helm`, built by `npm run build` into functions/packages/HelmLayer/layer.zip); no other
 * provider carries the binary. Each type's code loads on first use, so the runtime is up (and can
 * answer) before any helm or Kubernetes code runs.
 */
import { createProvider } from '../runtime';

export const handler = createProvider({
  name: 'HelmProvider',
  resources: {
    'Custom::HelmRelease': () => import('../resources/helm-release'),
  },
});
