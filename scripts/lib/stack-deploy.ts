// `npm run deploy`: a change set for the stack (CREATE for a new one, UPDATE otherwise) with every
// nested stack's changes, shown as a preview; then, once confirmed, executed and watched until it
// settles, and the stack's outputs printed. An update that changes nothing is success ("no
// changes"), as with `aws cloudformation deploy`.
import {
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateSummaryCommand,
  UpdateTerminationProtectionCommand,
  type CloudFormationClient,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { randomUUID } from 'node:crypto';
import { describeError } from './aws';
import { collectChanges, createChangeSet, formatChanges, waitForChangeSet, type ChangeRow } from './change-set';
import {
  sleepReal,
  snapshotStackTree,
  watchAndReport,
  type StackApi,
  type StackSummary,
  type WatchOptions,
} from './stack-progress';

/** Options for {@link deployStack}; progress display settings as the watcher takes them. */
export interface DeployOptions extends Pick<
  WatchOptions,
  'print' | 'color' | 'pollIntervalMs' | 'timeoutMs' | 'sleep'
> {
  /** For the writes (change sets) and the template and outputs reads. */
  cfn: Pick<CloudFormationClient, 'send'>;
  /** For the reads the progress display makes. */
  api: StackApi;
  stackName: string;
  /** The stack as it is now (undefined when it does not exist). */
  existing: StackSummary | undefined;
  /** https URL of the root template. */
  templateUrl: string;
  /** Parameter values to set; other parameters keep their current value (update) or default (create). */
  parameters: Record<string, string>;
  /** Stack tags; on update, omitted means "keep the current tags". */
  tags?: Record<string, string>;
  /** Keep what was created when the operation fails, for debugging. Default false. */
  disableRollback?: boolean;
  /** Service role CloudFormation acts with (`--role-arn`). */
  roleArn?: string;
  /** SNS topics for the stack's events (`--notification-arns`). */
  notificationArns?: string[];
  /** Turn termination protection on (true) or off (false) once the stack is there; undefined leaves it. */
  terminationProtection?: boolean;
  /**
   * Whether to execute the change set: `true` (`--yes`), `false` (`--no-execute-changeset`: preview
   * only), or a function that asks (on a terminal) and says yes or no.
   */
  execute: boolean | ((question: string) => Promise<boolean>);
  /** Receives the result document (`--output json`): stack, status, changes, outputs. */
  emit?: (result: DeployResult) => void;
}

/** What `--output json` prints. */
export interface DeployResult {
  StackName: string;
  StackId?: string;
  /** The stack's status at the end (`CREATE_COMPLETE`, …, or `REVIEW_IN_PROGRESS` for a preview of a new stack). */
  StackStatus?: string;
  ChangeSetName?: string;
  /** The previewed changes, nested stacks included. */
  Changes: ChangeRow[];
  /** True when the change set was executed (false: preview only, declined, or nothing to change). */
  Executed: boolean;
  /** The stack's outputs by key (empty before execution). */
  Outputs: Record<string, string>;
}

// CloudFormation's two ways of saying an update would change nothing.
const noChanges = /didn't contain changes|No updates are to be performed/i;

/** Stack states a deployment cannot start from, with what to do instead. */
function blockedReason(stack: StackSummary): string | undefined {
  const { status, stackName } = stack;
  if (['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED', 'DELETE_FAILED'].includes(status)) {
    return `stack ${stackName} is ${status} and cannot be updated; delete it first: npm run destroy -- --stack-name ${stackName}`;
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return `stack ${stackName} is UPDATE_ROLLBACK_FAILED; finish the rollback first: aws cloudformation continue-update-rollback --stack-name ${stackName}`;
  }
  if (status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS') {
    return `stack ${stackName} is busy (${status}); wait until it settles`;
  }
  return undefined;
}

/** The root stack's outputs by key (empty when it has none or cannot be read). */
export async function stackOutputs(
  cfn: Pick<CloudFormationClient, 'send'>,
  stackId: string,
): Promise<Record<string, string>> {
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackId }));
    return Object.fromEntries((res.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (err) {
    if (process.env.KUBECFN_DEBUG) console.error(err);
    return {};
  }
}

/** The outputs as lines, keys aligned. */
export function formatOutputs(outputs: Record<string, string>): string[] {
  const keys = Object.keys(outputs);
  if (!keys.length) return [];
  const width = Math.max(...keys.map((k) => k.length));
  return ['Outputs:', ...keys.map((k) => `  ${k.padEnd(width)}  ${outputs[k]}`)];
}

/**
 * Previews the deployment as a change set (nested stacks included), executes it when `execute`
 * says so, and prints live progress for the stack and every nested stack until it settles, then
 * the outputs. Returns the exit code: 0 on CREATE_COMPLETE / UPDATE_COMPLETE, when there is
 * nothing to change, or after a preview-only run; 1 on failure, rollback or a declined change
 * set. Throws when CloudFormation refuses the request itself (bad template, unknown parameter, ...).
 *
 * @example
 * const cfn = cloudFormationClient({ region: 'us-east-1' });
 * const api = cloudFormationStackApi(cfn);
 * const code = await deployStack({
 *   cfn, api, stackName: 'kubecfn', existing: await api.describeStack('kubecfn'),
 *   templateUrl: 'https://my-bucket.s3.us-east-1.amazonaws.com/kubecfn/templates/kubecfn-entrypoint-new-vpc.template.yaml',
 *   parameters: { QSS3BucketName: 'my-bucket', QSS3KeyPrefix: 'kubecfn/', QSS3BucketRegion: 'us-east-1' },
 *   execute: true, print: console.log,
 * });
 */
export async function deployStack(opts: DeployOptions): Promise<number> {
  const { cfn, api, stackName, templateUrl, print } = opts;
  const sleep = opts.sleep ?? sleepReal;
  const emit = opts.emit ?? (() => undefined);
  if (opts.existing) {
    const blocked = blockedReason(opts.existing);
    if (blocked) throw new Error(blocked);
  }
  // A stack in REVIEW_IN_PROGRESS holds only an unexecuted CREATE change set (an earlier preview):
  // it is removed and the stack created anew from this run's change set.
  const existing = opts.existing?.status === 'REVIEW_IN_PROGRESS' ? undefined : opts.existing;
  if (opts.existing && !existing) {
    print(`Stack ${stackName} holds only an unexecuted change set (REVIEW_IN_PROGRESS): removing it to start over.`);
    try {
      await cfn.send(new DeleteStackCommand({ StackName: opts.existing.stackId }));
    } catch (err) {
      throw new Error(`cannot remove the unexecuted stack ${stackName}: ${describeError(err)}`);
    }
  }

  let summary;
  try {
    summary = await cfn.send(new GetTemplateSummaryCommand({ TemplateURL: templateUrl }));
  } catch (err) {
    throw new Error(
      `cannot read the template at ${templateUrl} (${describeError(err)}); was it uploaded there with npm run upload?`,
    );
  }
  const declared = (summary.Parameters ?? []).map((p) => p.ParameterKey ?? '');
  const noEcho = new Set((summary.Parameters ?? []).filter((p) => p.NoEcho).map((p) => p.ParameterKey));
  const unknown = Object.keys(opts.parameters).filter((k) => !declared.includes(k));
  if (unknown.length) {
    throw new Error(
      `the published template declares no parameter ${unknown.join(', ')} (it declares: ${declared.join(', ') || 'none'}); upload this checkout again with npm run upload`,
    );
  }

  const parameters: Parameter[] = [];
  for (const key of declared) {
    if (key in opts.parameters) parameters.push({ ParameterKey: key, ParameterValue: opts.parameters[key] });
    // As `aws cloudformation deploy`: what the command line leaves out keeps its current value.
    else if (existing && key in existing.parameters) parameters.push({ ParameterKey: key, UsePreviousValue: true });
  }
  const tags = opts.tags && Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value }));
  print(`Template: ${templateUrl}`);
  for (const p of parameters) {
    const value = p.UsePreviousValue ? '(unchanged)' : noEcho.has(p.ParameterKey) ? '****' : p.ParameterValue;
    print(`  ${p.ParameterKey} = ${value}`);
  }

  // One token for this run's requests: the SDK retries a request after a throttle or a server
  // error, and CloudFormation recognises the retry by it instead of refusing a second one.
  const token = `kubecfn-deploy-${randomUUID()}`;
  const changeSetName = `kubecfn-deploy-${new Date().toISOString().replace(/[-:.]/g, '').replace(/Z$/, 'z')}`;
  const type = existing ? 'UPDATE' : 'CREATE';
  const result: DeployResult = {
    StackName: stackName,
    ChangeSetName: changeSetName,
    Changes: [],
    Executed: false,
    Outputs: {},
  };

  let created;
  try {
    created = await createChangeSet(cfn, {
      stackName,
      changeSetName,
      type,
      templateUrl,
      parameters,
      tags,
      roleArn: opts.roleArn,
      notificationArns: opts.notificationArns,
      clientToken: token,
    });
  } catch (err) {
    if (noChanges.test(describeError(err))) return finishUnchanged(opts, existing!, result);
    const retried = ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;
    const hint =
      retried && /AlreadyExists/.test(describeError(err))
        ? ` (it did not exist when deploy started: the first attempt of this request failed on the server after creating it; look at its events, then npm run destroy -- --stack-name ${stackName} --yes)`
        : '';
    throw new Error(
      `CloudFormation refused ${type === 'CREATE' ? `to create stack ${stackName}` : `the change set for ${stackName}`}: ${describeError(err)}${hint}`,
    );
  }
  const stackId = created.stackId ?? existing?.stackId ?? stackName;
  result.StackId = stackId;

  const removeChangeSet = async () => {
    await cfn
      .send(new DeleteChangeSetCommand({ ChangeSetName: created.id, StackName: stackName }))
      .catch(() => undefined);
    // A CREATE change set left CloudFormation an empty stack in REVIEW_IN_PROGRESS: remove it too.
    if (type === 'CREATE') await cfn.send(new DeleteStackCommand({ StackName: stackId })).catch(() => undefined);
  };

  const described = await waitForChangeSet(cfn, created.id, stackName, sleep);
  if (described.Status === 'FAILED') {
    if (existing && noChanges.test(described.StatusReason ?? '')) {
      await cfn
        .send(new DeleteChangeSetCommand({ ChangeSetName: created.id, StackName: stackName }))
        .catch(() => undefined);
      return finishUnchanged(opts, existing, result);
    }
    await removeChangeSet();
    throw new Error(`the change set for ${stackName} failed: ${described.StatusReason ?? 'no reason given'}`);
  }

  result.Changes = await collectChanges(cfn, created.id, stackName, stackName, described);
  print(
    `\n${type === 'CREATE' ? 'Creating' : 'Updating'} stack ${stackName}: change set ${changeSetName}, nested stacks included`,
  );
  for (const line of formatChanges(result.Changes)) print(line);
  print('');

  let go: boolean;
  if (typeof opts.execute === 'function') {
    go = await opts.execute(`Execute change set ${changeSetName} on ${stackName}? [y/N] `);
  } else go = opts.execute;

  if (opts.execute === false) {
    result.StackStatus = type === 'CREATE' ? 'REVIEW_IN_PROGRESS' : existing?.status;
    print(
      `Change set ${changeSetName} created and not executed (--no-execute-changeset). Execute it after review with:`,
    );
    print(`  aws cloudformation execute-change-set --stack-name ${stackName} --change-set-name ${changeSetName}`);
    print(
      type === 'CREATE'
        ? `or discard it with npm run destroy -- --stack-name ${stackName} (the stack waits in REVIEW_IN_PROGRESS until then).`
        : `or discard it with aws cloudformation delete-change-set --stack-name ${stackName} --change-set-name ${changeSetName}.`,
    );
    emit(result);
    return 0;
  }
  if (!go) {
    await removeChangeSet();
    print(
      `Not executed: change set ${changeSetName} deleted${type === 'CREATE' ? ', and the empty stack with it' : ''}; nothing was changed.`,
    );
    result.StackStatus = existing?.status;
    emit(result);
    return 1;
  }

  const snapshot = await snapshotStackTree(api, stackId);
  try {
    await cfn.send(
      new ExecuteChangeSetCommand({
        ChangeSetName: created.id,
        StackName: stackId,
        DisableRollback: opts.disableRollback,
        ClientRequestToken: token,
      }),
    );
  } catch (err) {
    throw new Error(`CloudFormation refused to execute change set ${changeSetName}: ${describeError(err)}`);
  }
  result.Executed = true;
  if (opts.terminationProtection !== undefined) await setTerminationProtection(opts, stackId);

  const code = await watchAndReport(api, {
    rootName: stackName,
    rootStackId: stackId,
    snapshot,
    expected: type === 'CREATE' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE',
    print,
    color: opts.color,
    pollIntervalMs: opts.pollIntervalMs,
    timeoutMs: opts.timeoutMs,
    sleep: opts.sleep,
  });
  result.StackStatus = (await api.describeStack(stackId).catch(() => undefined))?.status;
  if (code === 0) {
    result.Outputs = await stackOutputs(cfn, stackId);
    const lines = formatOutputs(result.Outputs);
    if (lines.length) print(['', ...lines].join('\n'));
  }
  emit(result);
  return code;
}

async function setTerminationProtection(opts: DeployOptions, stackId: string): Promise<void> {
  try {
    await opts.cfn.send(
      new UpdateTerminationProtectionCommand({
        StackName: stackId,
        EnableTerminationProtection: opts.terminationProtection,
      }),
    );
    opts.print(`Termination protection ${opts.terminationProtection ? 'on' : 'off'} for ${opts.stackName}.`);
  } catch (err) {
    opts.print(
      `warning: could not turn termination protection ${opts.terminationProtection ? 'on' : 'off'}: ${describeError(err)}; ` +
        `aws cloudformation update-termination-protection --stack-name ${opts.stackName} --${opts.terminationProtection ? '' : 'no-'}enable-termination-protection`,
    );
  }
}

async function finishUnchanged(opts: DeployOptions, existing: StackSummary, result: DeployResult): Promise<number> {
  opts.print(`\nNo changes: stack ${opts.stackName} is already up to date.`);
  if (opts.terminationProtection !== undefined && opts.execute !== false) {
    await setTerminationProtection(opts, existing.stackId);
  }
  result.StackId = existing.stackId;
  result.StackStatus = existing.status;
  result.Outputs = await stackOutputs(opts.cfn, existing.stackId);
  const lines = formatOutputs(result.Outputs);
  if (lines.length) opts.print(['', ...lines].join('\n'));
  opts.emit?.(result);
  return 0;
}
