// Shared by the publish / deploy / destroy suites: run a script the way a user does (npx tsx, with
// AWS_ENDPOINT_URL pointing at moto), and build a repository-shaped fixture tree to publish.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { motoEnv } from '../../scripts/local';

export { repoRoot } from '../../scripts/dev/paths.cjs';
import { repoRoot } from '../../scripts/dev/paths.cjs';

/** What a script run ended with. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How {@link runScript} runs a script besides its arguments. */
export interface RunOptions {
  /** Environment on top of moto's; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /**
   * Run on a terminal (a pseudo-terminal from util-linux `script`) and type `input` into it. The
   * script's stdout and stderr then arrive together in `stdout`.
   */
  tty?: { input: string };
}

/**
 * Runs `npx tsx scripts/<script>.ts ...args` from the repository root against moto at `endpoint`,
 * without colours. Asynchronous on purpose: a blocked event loop would stop draining moto's log pipe.
 */
export function runScript(script: string, args: string[], endpoint: string, opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...motoEnv(endpoint), NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    delete env.AWS_PROFILE;
    delete env.npm_lifecycle_event;
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const command = ['npx', 'tsx', `scripts/${script}.ts`, ...args];
    const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = opts.tty
      ? spawn('script', ['-qec', quoted, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(command[0]!, command.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (opts.tty) {
      // Typed once the question is on the terminal, as a person would.
      let typed = false;
      child.stdout!.on('data', (c: Buffer) => {
        // The question ends in [y/N] (deploy) or "to keep it: " (destroy); readline follows it with cursor codes.
        if (!typed && /\[y\/N\]|to keep it: /.test(c.toString())) {
          typed = true;
          child.stdin!.write(opts.tty!.input);
        }
      });
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', fail);
    child.once('close', (code) => ok({ code, stdout, stderr }));
  });
}

/** A small real zip holding one file. */
function zipOf(name: string, content: string): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from(content), name, { mtime: new Date(0) });
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.once('end', () => ok(Buffer.concat(chunks)));
    zip.outputStream.once('error', fail);
  });
}

/**
 * A copy of test/scripts/fixtures/quickstart in a temporary directory, laid out like the
 * repository, plus (unless `packages: false`) built-looking function packages, and files publish
 * must leave out: a dot file, and non-template files next to the templates.
 */
export async function fixtureTree(opts: { packages?: boolean } = {}): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'kubecfn-publish-'));
  cpSync(join(__dirname, 'fixtures', 'quickstart'), root, { recursive: true });
  writeFileSync(join(root, 'templates', '.draft.template.yaml'), 'Resources: {}\n');
  writeFileSync(join(root, 'templates', 'notes.txt'), 'not a template\n');
  mkdirSync(join(root, 'functions', 'src'), { recursive: true });
  writeFileSync(join(root, 'functions', 'src', 'index.ts'), 'export {};\n');
  if (opts.packages !== false) {
    for (const provider of ['KubeProvider', 'HelmProvider']) {
      mkdirSync(join(root, 'functions', 'packages', provider), { recursive: true });
      writeFileSync(
        join(root, 'functions', 'packages', provider, 'lambda.zip'),
        await zipOf('index.js', `exports.handler = async () => '${provider}';\n`),
      );
    }
    mkdirSync(join(root, 'functions', 'packages', 'HelmLayer'), { recursive: true });
    writeFileSync(
      join(root, 'functions', 'packages', 'HelmLayer', 'layer.zip'),
      await zipOf('helm/helm', '#!/bin/sh\necho helm\n'),
    );
  }
  return root;
}
