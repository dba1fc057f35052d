// scripts/local/aws/moto.ts: a server per call on its own port, stopped by stop() and by its parent's death.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { resetMoto, startMoto } from '../../../scripts/local';
import { repoRoot } from '../helpers';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` has gone, for at most `ms`; true when it went. */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((ok) => setTimeout(ok, 100))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

describe('startMoto', () => {
  test('two servers at once answer on different loopback ports; stop() ends each', async () => {
    const [a, b] = await Promise.all([startMoto(), startMoto()]);
    try {
      expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(a.port).not.toBe(b.port);
      for (const s of [a, b]) expect((await fetch(`${s.endpoint}/moto-api/`)).status).toBe(200);
      await resetMoto(a.endpoint);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(alive(a.pid)).toBe(false);
    expect(alive(b.pid)).toBe(false);
    await a.stop(); // a second stop is harmless
  });

  test('the server goes when the process that started it is killed outright', async () => {
    // given a Node process that started moto and printed its pid
    const script = `require(${JSON.stringify(join(repoRoot, 'scripts/local/aws/moto.ts'))}).startMoto().then((m) => console.log('pid=' + m.pid))`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((ok, fail) => {
      let out = '';
      parent.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /pid=(\d+)/.exec(out);
        if (m) ok(Number(m[1]));
      });
      parent.once('exit', (code) => fail(new Error(`parent exited (${code}) before starting moto`)));
    });
    expect(alive(pid)).toBe(true);

    // when the parent dies without any chance to clean up
    parent.kill('SIGKILL');

    // then moto notices its closed stdin and exits
    expect(await gone(pid, 10_000)).toBe(true);
  });

  test('a missing virtual environment is reported with the command that creates it', async () => {
    await expect(startMoto({ venv: '/nonexistent/venv' })).rejects.toThrow('run: node scripts/dev/bootstrap.mjs');
  });
});
