// The documentation points only at things that exist, so moving a file cannot leave the docs stale:
// every relative link in README.md, docs/**/*.md and scripts/local/README.md resolves to a file or
// folder of the repository; nothing points at a folder outside it (a user's clone has only the
// repository); and every repository path written in code (inline `...` or a fenced block) exists.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { repoRoot } from '../../scripts/dev/paths.cjs';

/** The Markdown files checked, relative to the repository root. */
function markdownFiles(root = repoRoot): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(path.split(sep).join('/'));
    }
  };
  walk('docs');
  return ['README.md', 'scripts/local/README.md', ...found.sort()].filter((f) => existsSync(join(root, f)));
}

/** Top-level folders whose paths, written in code, are taken for repository paths. */
const repoFolders = ['scripts', 'functions', 'test', 'templates', 'submodules', 'docs', 'bench'];

/**
 * Paths docs may name although they are not in the repository: build output (git-ignored, made by
 * `npm run build`) and the file the runtime guide has the reader create.
 */
const notInRepository = ['functions/packages/', 'functions/src/resources/greeting/'];

/** Splits Markdown into prose (code spans still in it) and the text of fenced code blocks. */
function splitFences(text: string): { prose: string[]; fenced: string[] } {
  const prose: string[] = [];
  const fenced: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      else fenced.push(line);
    } else if (marker) fence = marker;
    else prose.push(line);
  }
  return { prose, fenced };
}

/** Targets of inline links `[text](target)`, images and reference definitions `[id]: target`, outside code. */
function linkTargets(prose: string[]): string[] {
  const text = prose.join('\n').replace(/`[^`\n]*`/g, '');
  const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  targets.push(...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!));
  return targets;
}

/** Whether a link leaves the repository on purpose (a public URL) or stays in the page. */
const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');

/** Repository paths written in code: inline code spans in prose, and every token of fenced blocks. */
function codePaths(prose: string[], fenced: string[]): string[] {
  const spans = [...prose.join('\n').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  const tokens = [...spans, ...fenced].flatMap((code) =>
    code
      .replace(/<br\s*\/?>/g, ' ') // Mermaid line breaks
      .split(/[\s"'`(),=;|[\]{}]+/)
      .map((token) => token.replace(/^(?:\.\.?\/)+/, '')),
  ); // an import specifier's ./ and ../ dropped: written in docs, it is a repository path
  const head = new RegExp(`^(?:${repoFolders.join('|')})/`);
  return tokens
    .filter((t) => head.test(t))
    .map((t) =>
      t
        .replace(/(?:\.\.\.|…)$/, '') // an elided tail: the path before it must exist
        .replace(/(?::\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)$/, '') // file:line or file:12-34,56
        .replace(/[.:]+$/, ''),
    )
    .filter((t) => !notInRepository.some((g) => t.startsWith(g)));
}

/**
 * Whether a repository path exists; `*` and `<placeholder>` match within one path segment. A path
 * without an extension may be a module specifier (`scripts/local` for `scripts/local/index.ts`).
 */
function pathExists(path: string, root = repoRoot): boolean {
  const asModule = /\/[^/.]+$/.test(path) ? ['.ts', '.cjs', '.mjs', '/index.ts'].map((ext) => path + ext) : [];
  return [path, ...asModule].some((candidate) => matches(candidate, root));
}

function matches(path: string, root: string): boolean {
  const segments = path.replace(/\/+$/, '').split('/');
  const matchFrom = (dir: string, i: number): boolean => {
    if (i === segments.length) return true;
    const segment = segments[i]!;
    if (!/[*<]/.test(segment)) {
      const next = join(dir, segment);
      return existsSync(next) && (i === segments.length - 1 || statSync(next).isDirectory()) && matchFrom(next, i + 1);
    }
    const pattern = new RegExp(
      `^${segment
        .split(/(\*|<[^>]*>)/)
        .map((part) =>
          part === '*' ? '[^/]*' : part.startsWith('<') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
    return readdirSync(dir).some((name) => pattern.test(name) && matchFrom(join(dir, name), i + 1));
  };
  return matchFrom(root, 0);
}

const files = markdownFiles();

test('finds the documentation', () => {
  expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/deployment-guide.md']));
});

describe.each(files)('%s', (file) => {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const { prose, fenced } = splitFences(text);

  test('every relative link resolves to a file or folder of the repository', () => {
    const broken = linkTargets(prose)
      .filter((target) => !external(target))
      .filter((target) => {
        const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
        const absolute = resolve(join(repoRoot, dirname(file)), path);
        const inside = !relative(repoRoot, absolute).startsWith('..');
        return !inside || !existsSync(absolute);
      });
    expect(broken).toEqual([]);
  });

  test('points at nothing outside the repository (no ../shared)', () => {
    const lines = text
      .split('\n')
      .flatMap((line, i) => (/(^|[^\w.])\.\.\/shared\b|\/work\/shared/.test(line) ? [`${i + 1}: ${line}`] : []));
    expect(lines).toEqual([]);
  });

  test('every repository path written in code exists', () => {
    const missing = [...new Set(codePaths(prose, fenced))].filter((path) => !pathExists(path));
    expect(missing).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('a broken relative link is found', () => {
    const { prose } = splitFences('See [the guide](docs/no-such-page.md) and [AWS](https://aws.amazon.com).\n');
    const broken = linkTargets(prose).filter((t) => !external(t) && !existsSync(join(repoRoot, t)));
    expect(broken).toEqual(['docs/no-such-page.md']);
  });

  test('a stale path in code is found, in prose and in a fenced block', () => {
    const { prose, fenced } = splitFences(
      'Run `node scripts/bootstrap.mjs` (`scripts/dev/build.ts:12-30` is fine).\n```sh\nnpx tsx scripts/local/moto.ts\n```\n',
    );
    const missing = codePaths(prose, fenced).filter((p) => !pathExists(p));
    expect(missing).toEqual(['scripts/bootstrap.mjs', 'scripts/local/moto.ts']);
  });

  test('globs and placeholders match within a segment', () => {
    expect(pathExists('functions/src/resources/<type>/')).toBe(true);
    expect(pathExists('docs/resources/*.md')).toBe(true);
    expect(pathExists('docs/resources/*.yaml')).toBe(false);
  });
});
