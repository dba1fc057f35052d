// `npm run taskcat` runs taskcat from a staged directory holding only what a deployment reads, so
// taskcat's upload (which skips only dotfiles, *.md, functions/source/, venv/, taskcat_outputs/)
// never carries node_modules, test/ or bench/ to S3.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stageTaskcat } from '../../scripts/dev/stage-taskcat';
import { allTemplatePaths, repoRoot } from './cfn-template';

/** Every file under `dir`, as paths relative to it. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tree(join(dir, e.name), base) : [relative(base, join(dir, e.name)).split('\\').join('/')],
  );
}

describe('npm run taskcat', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubecfn-taskcat-stage-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('is the staging script', () => {
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.taskcat).toBe('tsx scripts/dev/stage-taskcat.ts');
  });

  test('stages the templates, the built packages and the configuration, and nothing else', () => {
    const staged = stageTaskcat(repoRoot, dir);
    const files = tree(dir).sort();
    expect(files).toEqual(staged.files);
    expect(files).toEqual(expect.arrayContaining(['.taskcat.yml', '.cfnlintrc.yaml', ...allTemplatePaths()]));
    expect(files).toEqual(
      expect.arrayContaining([
        'functions/packages/KubeProvider/lambda.zip',
        'functions/packages/HelmProvider/lambda.zip',
        'functions/packages/HelmLayer/layer.zip',
      ]),
    );
    const outside = files.filter(
      (f) =>
        !/^(templates\/|submodules\/[^/]+\/templates\/|functions\/packages\/|docs\/schemas\/|\.taskcat\.yml$|\.cfnlintrc\.yaml$)/.test(
          f,
        ),
    );
    expect(outside).toEqual([]);
    for (const never of [
      'node_modules',
      'test',
      'bench',
      'scripts',
      'functions/src',
      'docs/resources',
      '.venv',
      '.git',
    ])
      expect([never, existsSync(join(dir, never))]).toEqual([never, false]);
    // the custom-resource rule .cfnlintrc.yaml appends, with the schemas it reads
    expect(files).toEqual(
      expect.arrayContaining([
        'docs/schemas/cfn-lint/kubecfn_custom_resources.py',
        'docs/schemas/Custom-HelmRelease.schema.json',
      ]),
    );
  });

  test('is the size of the templates and packages (tens of MB, not the repository’s hundreds)', () => {
    const staged = stageTaskcat(repoRoot, dir);
    const sum = staged.files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(staged.bytes).toBe(sum);
    // The helm layer (≈ 18 MB) is most of it.
    expect(sum).toBeLessThan(40 * 1024 * 1024);
    expect(sum).toBeGreaterThan(1024 * 1024);
  });

  test('a restage starts clean but keeps taskcat’s reports', () => {
    stageTaskcat(repoRoot, dir);
    writeFileSync(join(dir, 'stray.txt'), 'left from an earlier run');
    const outputs = join(dir, 'taskcat_outputs');
    rmSync(outputs, { recursive: true, force: true });
    mkdirSync(outputs);
    writeFileSync(join(outputs, 'index.html'), 'report');
    stageTaskcat(repoRoot, dir);
    expect(existsSync(join(dir, 'stray.txt'))).toBe(false);
    expect(readFileSync(join(outputs, 'index.html'), 'utf8')).toBe('report');
  });

  test('refuses to stage inside the repository', () => {
    expect(() => stageTaskcat(repoRoot, join(repoRoot, 'staged'))).toThrow(/outside the repository/);
  });
});
