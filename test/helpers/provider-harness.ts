import { resolve } from 'node:path';
import { LocalLambda, type FunctionConfig, type Invocation, type LocalLambdaOptions } from '../../scripts/local';
import type { CloudFormationEvent, ResponseBody } from '../../functions/src/runtime';
import { ResponseServer } from './response-server';
import { cfnEvent } from './events';

/** The built package of a provider (test/global-setup.ts builds them before the suites run). */
export const packageZip = (provider: string) => resolve(__dirname, '../../functions/packages', provider, 'lambda.zip');

/** Environment that points the bundled providers at a local control plane instead of DescribeCluster. */
export function clusterAccessEnv(
  cluster: { server: string; caData: string; token: string },
  clusterName = 'local',
): Record<string, string> {
  return {
    KUBECFN_CLUSTER_ACCESS: JSON.stringify({
      [clusterName]: { server: cluster.server, caData: cluster.caData, token: cluster.token },
    }),
  };
}

export interface Exchange {
  id: string;
  event: CloudFormationEvent;
  /** The first invocation (continuations follow in `invocations`). */
  first: Invocation;
  invocations: Invocation[];
  /** Every body the response endpoint received for this request: exactly one, when all is well. */
  bodies: ResponseBody[];
  /** The single answer; throws if there was not exactly one. */
  answer: ResponseBody;
}

/**
 * CloudFormation's side of the protocol, for tests and benchmarks: sends a request to a bundled
 * provider running under the local Lambda stand-in, and collects what reached the response URL.
 *
 * @example
 * const h = await ProviderHarness.start([{ name: 'KubeProvider', zipFile: packageZip('KubeProvider'), timeoutSeconds: 60, environment }]);
 * const { answer } = await h.send('KubeProvider', 'Create', 'Custom::KubeManifest', { ClusterName: 'local', Manifest: yaml });
 */
export class ProviderHarness {
  private seq = 0;
  private constructor(
    readonly lambda: LocalLambda,
    readonly responses: ResponseServer,
    private readonly functions: Map<string, FunctionConfig>,
  ) {}

  /** `options` as the local Lambda service takes them, e.g. `{ duplicateAsync: true }`. */
  static async start(functions: FunctionConfig[], options: LocalLambdaOptions = {}): Promise<ProviderHarness> {
    // The response server is the functions' S3 (providers answer only to CloudFormation's response
    // bucket on their S3 endpoint); their other S3 calls pass through it to the endpoint they had.
    const upstream = functions.map((f) => f.environment?.AWS_ENDPOINT_URL).find(Boolean);
    const responses = await ResponseServer.start(upstream);
    const withS3 = functions.map((f) => ({
      ...f,
      environment: { AWS_ENDPOINT_URL_S3: responses.origin, ...f.environment },
    }));
    return new ProviderHarness(
      await LocalLambda.start(withS3, options),
      responses,
      new Map(withS3.map((f) => [f.name, f])),
    );
  }

  /** Builds a request as CloudFormation would (scalars as strings) and runs it to its answer. */
  async send(
    fn: string,
    requestType: CloudFormationEvent['RequestType'],
    resourceType: string,
    properties: Record<string, unknown>,
    extra: Partial<CloudFormationEvent> = {},
    options: { async?: boolean } = {},
  ): Promise<Exchange> {
    const id = `req${++this.seq}`;
    const event = cfnEvent(requestType, resourceType, properties, { ResponseURL: this.responses.url(id), ...extra });
    return this.sendEvent(fn, event, id, options);
  }

  /**
   * Sends a prepared event (e.g. a retry of an earlier one); `id` routes its answers. `async`
   * invokes as CloudFormation does (`Event`): Lambda's delivery rules apply (retries, duplicates).
   */
  async sendEvent(
    fn: string,
    event: CloudFormationEvent,
    id = `req${++this.seq}`,
    options: { async?: boolean } = {},
  ): Promise<Exchange> {
    const routed = { ...event, ResponseURL: this.responses.url(id) };
    const before = this.lambda.invocations.length;
    let first: Invocation | undefined;
    if (options.async) {
      const config = this.functions.get(fn);
      if (!config) throw new Error(`no function ${fn} in this harness`);
      this.lambda.invokeAsync(config, routed);
    } else first = await this.lambda.invoke(fn, routed);
    await this.lambda.idle();
    const invocations = this.lambda.invocations.slice(before);
    first ??=
      invocations.find(
        (i) => !i.duplicate && (i.event as { KubecfnContinuation?: unknown }).KubecfnContinuation === undefined,
      ) ?? invocations[0]!;
    const bodies = this.responses.bodiesFor(id);
    return {
      id,
      event: routed,
      first,
      invocations,
      bodies,
      get answer() {
        if (bodies.length !== 1)
          throw new Error(
            `expected exactly one answer, got ${bodies.length}; logs:\n${invocations.map((i) => i.logs).join('\n')}`,
          );
        return bodies[0]!;
      },
    };
  }

  /** The raw bytes CloudFormation would have received for a request. */
  rawBody(id: string): string | undefined {
    return this.responses.rawFor(id);
  }

  async stop(): Promise<void> {
    await this.lambda.stop();
    await this.responses.stop();
  }
}
