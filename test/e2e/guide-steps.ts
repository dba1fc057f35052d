// The deployment guide's "After deployment" steps, run as written against a deployed local stack:
// `npm start -- --once --after-deploy "tsx test/e2e/guide-steps.ts"` (test/e2e/start.test.ts) runs
// it between the deploy and the delete, with KUBECONFIG, the local AWS endpoint (AWS_ENDPOINT_URL,
// which the AWS CLI honours) and kubectl on PATH. The commands come out of docs/deployment-guide.md
// itself, so the guide cannot drift from what works:
//
// - step 1 (workstation): the `aws cloudformation describe-stacks` commands, verbatim;
// - step 2 (bastion): every command after `aws ssm start-session`, verbatim, with the cluster's
//   kubeconfig as the bastion's wrappers give it; `curl` is a stand-in that prints its arguments
//   (the local load balancer names resolve nowhere), so the URL the kubectl substitution built is
//   checked against the JenkinsURL output;
// - the public-endpoint way: the KubeconfigCommand output (`aws eks update-kubeconfig`) into a
//   kubeconfig of its own, then kubectl through it (`aws eks get-token`, the local EKS authenticator);
// - "Use the providers from your own templates": the YAML deployed as a stack of its own with the
//   KubeProviderArn and ClusterName outputs, the ConfigMap read back, the stack deleted.
//
// What cannot run here is named and skipped: opening a Session Manager session (no SSM agent).
// Exits 1 at the first step that does not do what the guide says.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');
const stackName = process.env.KUBECFN_STACK_NAME ?? 'kubecfn';
const guide = readFileSync(join(repoRoot, 'docs/deployment-guide.md'), 'utf8');
const work = mkdtempSync(join(tmpdir(), 'kubecfn-guide-steps-'));
let ran = 0;

function section(title: string): string {
  const start = guide.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "${title}" in docs/deployment-guide.md`);
  const end = guide.indexOf('\n## ', start + 4);
  return guide.slice(start, end < 0 ? undefined : end);
}
const fenced = (text: string, lang: string) =>
  [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
/** The commands of a block: continuation lines joined, comments and blank lines left out. */
const commandsOf = (block: string) =>
  block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

function bash(command: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  ran++;
  console.log(`$ ${command}`);
  return new Promise((ok, fail) =>
    execFile(
      'bash',
      ['-o', 'pipefail', '-c', command],
      { env: { ...process.env, ...env }, maxBuffer: 16 << 20, timeout: 300_000 },
      (error, stdout, stderr) => {
        const out = stdout.trimEnd();
        if (out) console.log(out.replace(/^/gm, '  '));
        if (error) fail(new Error(`exit ${String(error.code)}: ${stderr.trim() || error.message}`));
        else ok(out);
      },
    ),
  );
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
  console.log(`ok: ${what}`);
}

async function main(): Promise<void> {
  if (!process.env.AWS_ENDPOINT_URL || !process.env.KUBECONFIG)
    throw new Error('run me through npm start -- --after-deploy: AWS_ENDPOINT_URL and KUBECONFIG are not set');
  const after = section('After deployment');
  const blocks = fenced(after, 'bash');
  const outputs = Object.fromEntries(
    (
      JSON.parse(
        await bash(
          `aws cloudformation describe-stacks --stack-name ${stackName} --query "Stacks[0].Outputs" --output json`,
        ),
      ) as Array<{ OutputKey: string; OutputValue: string }>
    ).map((o) => [o.OutputKey, o.OutputValue]),
  );

  // Step 1, the workstation: the outputs.
  const [table, session] = await Promise.all(commandsOf(blocks[0]!).map((c) => bash(c)));
  check(
    ['ClusterName', 'KubeProviderArn', 'HelmProviderArn', 'JenkinsURL'].every((k) => table!.includes(k)),
    'step 1: the outputs table names ClusterName, KubeProviderArn, HelmProviderArn and JenkinsURL',
  );
  check(
    session === outputs.BastionSessionCommand && /^aws ssm start-session --region \S+ --target i-/.test(session!),
    'step 1: the BastionSessionCommand query prints the session command',
  );

  // Step 2, the bastion: everything after the session is opened.
  const onBastion = commandsOf(blocks.find((b) => /^aws ssm start-session [^\n]*--target /m.test(b))!);
  check(onBastion[0]!.startsWith('aws ssm start-session'), 'step 2 starts by opening the session');
  console.log('skipped (no Session Manager here): the session itself');
  writeFileSync(join(work, 'curl'), '#!/bin/sh\necho "curl $*"\n');
  chmodSync(join(work, 'curl'), 0o755);
  const bastionEnv = { PATH: `${work}:${process.env.PATH ?? ''}` };
  const [nodes, password, curl] = await Promise.all(onBastion.slice(1).map((c) => bash(c, bastionEnv)));
  check(
    /\bReady\b.*\bsystem\b/.test(nodes!) && /\bReady\b.*\bagents\s+SPOT\b/.test(nodes!),
    'step 2: kubectl get nodes lists Ready nodes of the system and the Spot agents partitions',
  );
  check(password!.trim().length >= 8, 'step 2: the admin password command prints a password');
  check(
    curl === `curl -sI ${outputs.JenkinsURL}/login`,
    `step 2: the curl command targets the JenkinsURL output (${outputs.JenkinsURL}/login)`,
  );

  // Step 3: port forwarding through Session Manager.
  console.log('skipped (no Session Manager here): step 3, the port-forwarding session');

  // The public-endpoint way: the KubeconfigCommand output, then kubectl.
  check(
    after.includes(outputs.KubeconfigCommand!.replace(outputs.ClusterName!, '<ClusterName>')),
    'the guide shows the KubeconfigCommand output as it is',
  );
  const kubeconfig = join(work, 'kubeconfig');
  await bash(outputs.KubeconfigCommand!, { KUBECONFIG: kubeconfig });
  // The token names AWS's own STS host, as EKS requires (AWS_ENDPOINT_URL would put the local one
  // in it); the local authenticator checks its signature against the local AWS.
  const viaToken = await bash('kubectl get nodes -o name', {
    KUBECONFIG: kubeconfig,
    AWS_ENDPOINT_URL_STS: `https://sts.${process.env.AWS_REGION ?? 'us-east-1'}.amazonaws.com`,
  });
  check(
    /^node\//m.test(viaToken),
    'kubectl through the KubeconfigCommand kubeconfig (aws eks get-token) lists the nodes',
  );

  // Your own template on the providers.
  const yaml = fenced(after, 'yaml')[0]!
    .replace(/ServiceToken: \S+.*$/m, `ServiceToken: ${outputs.KubeProviderArn}`)
    .replace(/ClusterName: \S+/m, `ClusterName: ${outputs.ClusterName}`);
  writeFileSync(join(work, 'hello.yaml'), `AWSTemplateFormatVersion: '2010-09-09'\n${yaml}`);
  const own = `${stackName}-guide-hello`;
  await bash(`aws cloudformation deploy --stack-name ${own} --template-file ${join(work, 'hello.yaml')}`);
  const greeting = await bash("kubectl -n default get configmap hello -o jsonpath='{.data.greeting}'");
  check(greeting === 'hello', 'your own template: the Hello ConfigMap is in the cluster');
  await bash(`aws cloudformation delete-stack --stack-name ${own}`);
  await bash(`aws cloudformation wait stack-delete-complete --stack-name ${own}`);
  const gone = await bash('kubectl -n default get configmap hello --ignore-not-found -o name');
  check(gone === '', 'your own template: deleting its stack removes the ConfigMap');

  console.log(`guide steps: ${ran} commands run, each did what the guide says`);
}

main()
  .catch((error: unknown) => {
    console.log(`guide step FAILED: ${(error as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
