import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  issuedAt,
  MAX_RESPONSE_BYTES,
  responseUrlProblem,
  putResponse,
  serializeResponse,
  type ResponseBody,
} from '../../../functions/src/runtime';

const base: ResponseBody = {
  Status: 'SUCCESS',
  PhysicalResourceId: 'id',
  StackId: 'arn:aws:cloudformation:us-east-1:1:stack/s/x',
  RequestId: 'r',
  LogicalResourceId: 'L',
};
const size = (s: string) => Buffer.byteLength(s, 'utf8');

describe('serializeResponse', () => {
  test('a body within the limit is sent as is', () => {
    const body = { ...base, Data: { A: '1' } };
    expect(serializeResponse(body)).toBe(JSON.stringify(body));
  });

  test('multi-byte reasons are cut on character boundaries and stay within the limit', () => {
    const text = serializeResponse({ ...base, Status: 'FAILED', Reason: 'é漢😀'.repeat(2000) }, ' (log: g s)');
    expect(size(text)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    const reason = JSON.parse(text).Reason as string;
    expect(reason).not.toContain('\uFFFD');
    expect(reason.endsWith(' [truncated] (log: g s)')).toBe(true);
  });

  test('reasons full of characters JSON must escape still fit', () => {
    const text = serializeResponse({ ...base, Status: 'FAILED', Reason: '"\\\n\u0001'.repeat(3000) });
    expect(size(text)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  });

  test('many large Data values are all shortened, every key kept', () => {
    const data = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`Key${i}`, `"${'v'.repeat(500)}"`]));
    const text = serializeResponse({ ...base, Data: data });
    expect(size(text)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(Object.keys(JSON.parse(text).Data)).toEqual(Object.keys(data));
  });
});

describe('putResponse', () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    process.env = { ...savedEnv };
  });
  /** A local server as the function's configured S3 endpoint, and a response-bucket URL on it. */
  const onLocalS3 = (server: ReturnType<typeof createServer>, query = '') => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ENDPOINT_URL_S3 = origin;
    return `${origin}/cloudformation-custom-resource-response-useast1/x${query}`;
  };

  test('a 4xx other than 429 is not retried', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.writeHead(403);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = onLocalS3(server, '?X-Amz-Signature=s');
    await expect(putResponse(url, '{}', { baseDelayMs: 1 })).rejects.toThrow(
      'could not deliver the response to CloudFormation: HTTP 403',
    );
    expect(calls).toBe(1);
    server.close();
  });

  test('sends an empty content type, as the pre-signed URL expects', async () => {
    let contentType: string | undefined = 'unset';
    const server = createServer((req, res) => {
      contentType = req.headers['content-type'];
      req.resume();
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await putResponse(onLocalS3(server), '{}');
    expect(contentType).toBe('');
    server.close();
  });
});

describe("responseUrlProblem: answers go to CloudFormation's response bucket in S3 only", () => {
  const none = {};
  test.each([
    'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%7CR%7Cid?X-Amz-Signature=s',
    'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/arn%7CR%7Cid',
    'https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/arn%7CR%7Cid',
    'https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/arn%7CR%7Cid',
    'https://s3-external-1.amazonaws.com/cloudformation-custom-resource-response-useast1/arn%7CR%7Cid',
  ])('accepted: %s', (url) => {
    expect(responseUrlProblem(url, none)).toBeUndefined();
  });

  test.each([
    ['http (no TLS)', 'http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x'],
    ['another host', 'https://attacker.example/cloudformation-custom-resource-response-useast1/x'],
    [
      'a look-alike host',
      'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.attacker.example/x',
    ],
    ['another bucket on S3', 'https://s3.amazonaws.com/my-bucket/x'],
    ['no URL', 'not a url'],
  ])('refused: %s', (_why, url) => {
    const problem = responseUrlProblem(url, none);
    expect(problem).toMatch(/^ResponseURL: expected CloudFormation's pre-signed URL/);
    expect(problem).not.toContain('attacker');
  });

  test('the S3 endpoint the function is configured with (a private endpoint, the local cloud) counts as S3', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' };
    expect(responseUrlProblem('http://127.0.0.1:5000/cloudformation-custom-resource-response-useast1/x', env)).toBe(
      undefined,
    );
    expect(responseUrlProblem('http://127.0.0.1:5001/cloudformation-custom-resource-response-useast1/x', env)).toMatch(
      /another host/,
    );
    expect(responseUrlProblem('http://127.0.0.1:5000/other-bucket/x', env)).toMatch(/another host/);
    expect(
      responseUrlProblem('http://127.0.0.1:6000/cloudformation-custom-resource-response-useast1/x', {
        ...env,
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:6000',
      }),
    ).toBeUndefined();
  });

  test('putResponse sends nothing to a refused URL', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudformation-custom-resource-response-useast1/x`;
    delete process.env.AWS_ENDPOINT_URL_S3;
    delete process.env.AWS_ENDPOINT_URL;
    await expect(putResponse(url, '{}')).rejects.toThrow(/the answer was not sent: ResponseURL: expected/);
    expect(calls).toBe(0);
    server.close();
  });
});

describe('issuedAt: when CloudFormation issued a request, from its ResponseURL', () => {
  test('SigV4: the signing time in X-Amz-Date', () => {
    expect(
      issuedAt(
        'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%7CR%7Cid?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261201T120000Z&X-Amz-Expires=7200&X-Amz-Signature=abc',
      ),
    ).toBe(Date.UTC(2026, 11, 1, 12, 0, 0));
  });

  test('SigV2: two hours before Expires', () => {
    expect(issuedAt('https://s3.amazonaws.com/b/k?AWSAccessKeyId=A&Expires=1764597600&Signature=s')).toBe(
      (1764597600 - 7200) * 1000,
    );
  });

  test('neither, or no URL at all: unknown', () => {
    expect(issuedAt('https://cfn.example/response?X-Amz-Signature=s')).toBeUndefined();
    expect(issuedAt('https://cfn.example/response?X-Amz-Date=yesterday')).toBeUndefined();
    expect(issuedAt('not a url')).toBeUndefined();
  });
});
