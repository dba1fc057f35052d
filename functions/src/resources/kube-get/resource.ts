/**
 * `Custom::KubeGet`: reads one value out of a Kubernetes object — a load balancer's hostname, a
 * secret-less status field, an annotation — retrying until the object exists and the JSONPath has
 * a value, then answers it as the `Value` attribute. Delete does nothing: it reads, never writes.
 */
import { defineResource, done } from '../../runtime';
import { read, type State } from './read';
import { schema, type Props } from './schema';

const start = (props: Props): State => ({ deadlineAt: Date.now() + props.TimeoutSeconds * 1000 });

export default defineResource<Props, State>({
  type: 'Custom::KubeGet',
  schema,
  attributes: ['Value'],
  create: (props, ctx) => read(start(props), props, ctx),
  // Whatever changed (object, path, cluster), reading again is all there is to do.
  update: (props, _old, ctx) => read(start(props), props, ctx),
  delete: async () => done(),
  continue: (state, props, ctx) => read(state, props, ctx),
  // Nothing was written, so a failed Create leaves nothing to clean up.
  cleanupFailedCreate: async () => done(),
});
