/**
 * Who may call the local Lambda service's Invoke API, as Lambda decides it.
 *
 * A caller signs with SigV4 (the providers sign their continuation Invoke with their execution role's
 * session): the local STS checks the signature and judges `lambda:InvokeFunction` on the function's
 * ARN against the signer's identity policies (cfn-engine/kubecfn_embedded/sts_identity.py, `/authorize`),
 * so a role without that permission is refused with Lambda's AccessDeniedException naming the action.
 *
 * CloudFormation invokes a custom resource's ServiceToken as its service principal: AWS judges the
 * stack caller's `lambda:InvokeFunction` when CloudFormation acts for the resource (the engine does
 * that, iam_enforcement.authorize_resource), not at the Invoke. The engine's Invoke carries a token
 * only the engine and this service know (`X-Kubecfn-Service-Token`, from the engine's configuration
 * file), and is let through as CloudFormation's.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** One Invoke request as it arrived. */
export interface InvokeRequest {
  method: string;
  /** The path and query as sent (what the signature covers). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The function's ARN: the resource `lambda:InvokeFunction` is judged on. */
  functionArn: string;
}

/** Why an Invoke is refused: HTTP status, Lambda's error code and message. */
export interface InvokeDenial {
  status: number;
  code: string;
  message: string;
}

/** Resolves with undefined when the call may go on, else with why not. */
export type InvokeAuthorizer = (request: InvokeRequest) => Promise<InvokeDenial | undefined>;

/** The header by which the local Lambda service knows CloudFormation's own Invoke. */
export const SERVICE_TOKEN_HEADER = 'x-kubecfn-service-token';

function sameToken(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Authorizes each Invoke as Lambda does: CloudFormation's by its service token, every other caller by its
 * SigV4 signature and IAM policies (the local STS's `authorizeEndpoint`).
 */
export function iamInvokeAuthorizer(opts: { authorizeEndpoint: string; serviceToken: string }): InvokeAuthorizer {
  return async (request) => {
    if (sameToken(request.headers[SERVICE_TOKEN_HEADER], opts.serviceToken)) return undefined;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && name !== SERVICE_TOKEN_HEADER) headers[name] = [value].flat().join(',');
    }
    let res: Response;
    try {
      res = await fetch(opts.authorizeEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          method: request.method,
          path: request.url,
          headers,
          body: request.body.toString('base64'),
          action: 'lambda:InvokeFunction',
          resource: request.functionArn,
        }),
      });
    } catch (err) {
      return { status: 500, code: 'ServiceException', message: `IAM unreachable: ${(err as Error).message}` };
    }
    if (res.ok) return undefined;
    const answer = (await res.json().catch(() => ({}))) as { Code?: string; Message?: string };
    return {
      status: res.status === 403 ? 403 : res.status === 400 ? 400 : 500,
      code: answer.Code ?? 'ServiceException',
      message: answer.Message ?? `IAM answered HTTP ${res.status}`,
    };
  };
}
