import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResponseBody } from '../../functions/src/runtime';

/** A response that reached the local stand-in for CloudFormation's response URL. */
export interface Received {
  path: string;
  raw: string;
  body: ResponseBody;
  contentType: string | undefined;
}

/** CloudFormation's response bucket, path-style, as on the function's configured S3 endpoint. */
const BUCKET_PATH = '/cloudformation-custom-resource-response-useast1';

/**
 * A real HTTP endpoint standing in for CloudFormation's response bucket in S3 (the providers answer
 * only there: give the functions its {@link origin} as `AWS_ENDPOINT_URL_S3`). Records every PUT
 * to the bucket; `failNext(n)` makes the next n answer HTTP 500. With an `upstream` (moto), every
 * other request is passed on to it, so the functions' own S3 calls still reach moto.
 */
export class ResponseServer {
  readonly received: Received[] = [];
  /** Requests seen, successful or not. */
  attempts = 0;
  private failuresLeft = 0;
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(upstream?: string): Promise<ResponseServer> {
    const server = createServer();
    const rs = new ResponseServer(server);
    server.on('request', (req, res) => {
      if (!req.url?.startsWith(`${BUCKET_PATH}/`)) {
        if (!upstream) {
          res.writeHead(404);
          return res.end('not the response bucket, and no upstream');
        }
        const target = new URL(upstream);
        const forward = request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        forward.on('error', () => {
          res.writeHead(502);
          res.end();
        });
        return void req.pipe(forward);
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        rs.attempts++;
        if (rs.failuresLeft > 0) {
          rs.failuresLeft--;
          res.writeHead(500);
          return res.end('try again');
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        rs.received.push({ path: req.url ?? '', raw, body: JSON.parse(raw), contentType: req.headers['content-type'] });
        res.writeHead(200);
        res.end();
        for (const w of rs.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return rs;
  }

  /** Where the functions must be told S3 is (`AWS_ENDPOINT_URL_S3`). */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A pre-signed-looking URL (signed now) whose signature the tests look for in the logs. */
  url(id = 'r'): string {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    return `${this.origin}${BUCKET_PATH}/${id}?X-Amz-Date=${amzDate}&X-Amz-Expires=7200&X-Amz-Signature=SECRETSIGNATURE${id}&X-Amz-Credential=SECRETCRED`;
  }

  failNext(n: number): void {
    this.failuresLeft = n;
  }

  /** The first raw body received for `id`. */
  rawFor(id: string): string | undefined {
    return this.received.find((r) => r.path.startsWith(`${BUCKET_PATH}/${id}?`))?.raw;
  }

  bodiesFor(id: string): ResponseBody[] {
    return this.received.filter((r) => r.path.startsWith(`${BUCKET_PATH}/${id}?`)).map((r) => r.body);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
