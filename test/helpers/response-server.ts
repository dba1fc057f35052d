import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResponseBody } from '../../functions/src/runtime';

/** A response that reached the local stand-in for CloudFormation's response URL. */
export interface Received {
  path: string;
  raw: string;
  body: ResponseBody;
  contentType: string | undefined;
}

/**
 * A real HTTP endpoint standing in for CloudFormation's pre-signed response URL. Records every PUT;
 * `failures` makes the first N requests answer HTTP 500.
 */
export class ResponseServer {
  readonly received: Received[] = [];
  /** Requests seen, successful or not. */
  attempts = 0;
  private failuresLeft = 0;
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<ResponseServer> {
    const server = createServer();
    const rs = new ResponseServer(server);
    server.on('request', (req, res) => {
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

  /** A pre-signed-looking URL whose signature the tests look for in the logs. */
  url(id = 'r'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/cfn-response/${id}?X-Amz-Signature=SECRETSIGNATURE${id}&X-Amz-Credential=SECRETCRED`;
  }

  failNext(n: number): void {
    this.failuresLeft = n;
  }

  bodiesFor(id: string): ResponseBody[] {
    return this.received.filter((r) => r.path.startsWith(`/cfn-response/${id}?`)).map((r) => r.body);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
