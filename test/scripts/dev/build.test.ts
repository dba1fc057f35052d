import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleProvider, providerName } from '../../../scripts/dev/build/bundle';
import { readZip } from '../../../scripts/dev/build/zip';

process.env.TZ = 'UTC';
const fixture = resolve(__dirname, '../../protocol/fault-provider/fault-provider.ts');

describe('bundleProvider', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = await mkdtemp(join(tmpdir(), 'kubecfn-build-a-'));
    b = await mkdtemp(join(tmpdir(), 'kubecfn-build-b-'));
  });
  afterAll(async () => {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  });

  test('the same sources give the same bytes', async () => {
    const first = await bundleProvider(fixture, a, 'Fault');
    const second = await bundleProvider(fixture, b, 'Fault');
    expect(Buffer.compare(await readFile(first.zipFile), await readFile(second.zipFile))).toBe(0);
  });

  test('the zip holds index.js exporting handler (Handler: index.handler) and its source map', async () => {
    const { zipFile } = await bundleProvider(fixture, a, 'Fault');
    const files = await readZip(zipFile);
    expect([...files.keys()]).toEqual(['index.js', 'index.js.map']);
    const code = files.get('index.js')!.data.toString('utf8');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.js.map')).toBe(true);
    const mod = { exports: {} as Record<string, unknown> };
    new Function('module', 'exports', 'require', code)(mod, mod.exports, require);
    expect(typeof mod.exports.handler).toBe('function');
  });

  test('package folders are named for the provider entry point', () => {
    expect(providerName('kube-provider.ts')).toBe('KubeProvider');
    expect(providerName('helm-provider.ts')).toBe('HelmProvider');
  });
});
