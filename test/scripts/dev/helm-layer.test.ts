// The helm-only layer as `npm run build` makes it.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHelmLayer } from '../../../scripts/dev/build/helm-layer';
import { readZip } from '../../../scripts/dev/build/zip';
import { ensureHelm } from '../../../scripts/dev/binaries';

describe('helm layer', () => {
  let out: string;
  const originalTz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
    out = mkdtempSync(join(tmpdir(), 'helm-layer-'));
  });
  afterAll(() => {
    process.env.TZ = originalTz;
    rmSync(out, { recursive: true, force: true });
  });

  test("holds bin/helm alone, executable, byte for byte the tests' binary, and runnable", async () => {
    const r = await buildHelmLayer(out);

    const files = await readZip(r.zipFile);
    expect([...files.keys()]).toEqual(['bin/helm']);
    const helm = files.get('bin/helm')!;
    expect(helm.mode).toBe(0o755);
    expect(helm.data.equals(readFileSync(await ensureHelm()))).toBe(true);
    expect(r.zipFile).toBe(join(out, 'HelmLayer', 'layer.zip'));
    expect(r.unzippedBytes).toBe(helm.data.length);
    expect(r.zippedBytes).toBeLessThanOrEqual(25 * 1024 * 1024);
    // unpacked the way Lambda unpacks a layer into /opt: path and mode from the zip
    mkdirSync(join(out, 'opt', 'bin'), { recursive: true });
    writeFileSync(join(out, 'opt', 'bin', 'helm'), helm.data, { mode: helm.mode });
    expect(
      execFileSync(join(out, 'opt', 'bin', 'helm'), ['version', '--short'], { env: { HOME: out } }).toString(),
    ).toMatch(/^v3\.18\.0/);
  }, 60_000);

  test('is deterministic and rebuilt only when the zip is not the one its stamp describes', async () => {
    const first = await buildHelmLayer(out);
    const digest = createHash('sha256').update(readFileSync(first.zipFile)).digest('hex');

    const again = await buildHelmLayer(out);
    expect(again.rebuilt).toBe(false);

    // a damaged zip is noticed and rebuilt to the same bytes
    writeFileSync(first.zipFile, 'damaged');
    const rebuilt = await buildHelmLayer(out);
    expect(rebuilt.rebuilt).toBe(true);
    expect(createHash('sha256').update(readFileSync(rebuilt.zipFile)).digest('hex')).toBe(digest);
  }, 60_000);
});
