// `npm run destroy`: say what holds data in the stack tree (the EFS file system with the Jenkins
// home, log groups kept on purpose), ask, delete the stack and watch every nested stack go. A
// stack that does not exist is already destroyed: success.
import {
  DeleteStackCommand,
  GetTemplateCommand,
  paginateListStackResources,
  type CloudFormationClient,
} from '@aws-sdk/client-cloudformation';
import { randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import { UsageError } from './args';
import { describeError } from './aws';
import { snapshotStackTree, watchAndReport, type SnapshotEntry, type StackApi } from './stack-progress';

/** Options for {@link destroyStack}. */
export interface DestroyOptions {
  cfn: Pick<CloudFormationClient, 'send'>;
  api: StackApi;
  stackName: string;
  print: (line: string) => void;
  /**
   * `true` (`--yes`): delete without asking; a function: ask it (a terminal) and delete on true;
   * undefined: nobody can answer, so refuse (after saying what would be deleted).
   */
  confirm?: true | ((stackName: string) => Promise<boolean>);
  color?: boolean;
  pollIntervalMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A resource of the tree that holds data, and what deleting the stack does to it. */
export interface DataHolder {
  /** `EKSStack/AddonsStack` style path of the stack, or the root's name. */
  stack: string;
  logicalId: string;
  type: string;
  physicalId?: string;
  /** `deleted` (with the stack) or `kept` (DeletionPolicy Retain, or KMS's waiting period). */
  fate: 'deleted' | 'kept' | 'scheduled';
}

// Resource types whose deletion loses data, as opposed to configuration that the template recreates.
const dataTypes = new Set([
  'AWS::EFS::FileSystem',
  'AWS::Logs::LogGroup',
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::EC2::Volume',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
  'AWS::ECR::Repository',
]);

/**
 * The resources of the stack tree that hold data, with their fate: deleted with the stack, kept
 * (DeletionPolicy Retain or RetainExceptOnCreate), or scheduled (a KMS key's waiting period).
 *
 * @example
 * const holders = await dataHolders(cfn, await snapshotStackTree(api, stackId), 'kubecfn');
 * // [{ stack: 'EKSStack/AddonsStack', logicalId: 'FileSystem', type: 'AWS::EFS::FileSystem', physicalId: 'fs-0123', fate: 'deleted' }, ...]
 */
export async function dataHolders(
  cfn: Pick<CloudFormationClient, 'send'>,
  tree: SnapshotEntry[],
  rootName: string,
): Promise<DataHolder[]> {
  const out: DataHolder[] = [];
  for (const entry of tree) {
    const label = entry.path.length ? entry.path.join('/') : rootName;
    const resources: { logicalId: string; type: string; physicalId?: string }[] = [];
    for await (const page of paginateListStackResources(
      { client: cfn as CloudFormationClient },
      { StackName: entry.stackId },
    )) {
      for (const r of page.StackResourceSummaries ?? []) {
        if (r.ResourceType && dataTypes.has(r.ResourceType) && r.ResourceStatus !== 'DELETE_COMPLETE') {
          resources.push({
            logicalId: r.LogicalResourceId ?? '',
            type: r.ResourceType,
            physicalId: r.PhysicalResourceId,
          });
        }
      }
    }
    if (!resources.length) continue;
    let policies: Record<string, string | undefined> = {};
    try {
      const body = (await cfn.send(new GetTemplateCommand({ StackName: entry.stackId }))).TemplateBody;
      const template = (typeof body === 'string' ? parse(body, { logLevel: 'error', maxAliasCount: -1 }) : body) as {
        Resources?: Record<string, { DeletionPolicy?: string }>;
      };
      policies = Object.fromEntries(
        Object.entries(template?.Resources ?? {}).map(([id, r]) => [
          id,
          typeof r?.DeletionPolicy === 'string' ? r.DeletionPolicy : undefined,
        ]),
      );
    } catch {
      // without the template, every holder counts as deleted: the cautious reading
    }
    for (const r of resources) {
      const policy = policies[r.logicalId];
      const fate =
        policy === 'Retain' || policy === 'RetainExceptOnCreate'
          ? 'kept'
          : r.type === 'AWS::KMS::Key'
            ? 'scheduled'
            : 'deleted';
      out.push({ stack: label, ...r, fate });
    }
  }
  return out;
}

/** The holders as lines for the confirmation. */
export function formatDataHolders(holders: DataHolder[]): string[] {
  const line = (h: DataHolder) => `    ${h.type} ${h.physicalId ?? h.logicalId} (${h.stack}/${h.logicalId})`;
  const deleted = holders.filter((h) => h.fate === 'deleted');
  const kept = holders.filter((h) => h.fate === 'kept');
  const scheduled = holders.filter((h) => h.fate === 'scheduled');
  const out: string[] = [];
  if (deleted.length) {
    const efs = deleted.some((h) => h.type === 'AWS::EFS::FileSystem');
    out.push(
      `  Deleted with the stack, with what they hold${efs ? ' (the EFS file system holds the Jenkins home and every efs-sc volume; copy out what you need first)' : ''}:`,
    );
    out.push(...deleted.map(line));
  }
  if (kept.length) {
    out.push('  Kept after the stack is gone (DeletionPolicy Retain; delete them yourself when no longer needed):');
    out.push(...kept.map(line));
  }
  if (scheduled.length) {
    out.push(
      '  Scheduled for deletion after the KMS waiting period (30 days; cancel with aws kms cancel-key-deletion):',
    );
    out.push(...scheduled.map(line));
  }
  return out;
}

/**
 * Says what holds data, asks (unless `confirm` is true), deletes the stack (nested stacks go with
 * it) and prints live progress until it is gone. Returns the exit code: 0 when the stack reached
 * DELETE_COMPLETE or never existed, 1 when the deletion failed (after printing the root causes) or
 * was declined. Throws when CloudFormation refuses the request (termination protection, another
 * operation running), and a UsageError when nobody can confirm.
 *
 * @example
 * const cfn = cloudFormationClient({ region: 'us-east-1' });
 * process.exitCode = await destroyStack({ cfn, api: cloudFormationStackApi(cfn), stackName: 'kubecfn', confirm: true, print: console.log });
 */
export async function destroyStack(opts: DestroyOptions): Promise<number> {
  const { cfn, api, stackName, print } = opts;
  const existing = await api.describeStack(stackName);
  if (!existing || existing.status === 'DELETE_COMPLETE') {
    print(`Stack ${stackName} does not exist: nothing to delete.`);
    return 0;
  }
  if (
    existing.status.endsWith('_IN_PROGRESS') &&
    existing.status !== 'DELETE_IN_PROGRESS' &&
    existing.status !== 'REVIEW_IN_PROGRESS'
  ) {
    throw new Error(`stack ${stackName} is busy (${existing.status}); wait until it settles, then destroy it`);
  }
  // Recorded before the delete: nested stacks can only be found while their parents still list them.
  const snapshot = await snapshotStackTree(api, existing.stackId);
  if (existing.status === 'DELETE_IN_PROGRESS') {
    print(`Stack ${stackName} is already being deleted; watching it.\n`);
  } else {
    const nested = snapshot.length - 1;
    const holders = await dataHolders(cfn, snapshot, stackName).catch(() => [] as DataHolder[]);
    print(
      `Stack ${stackName} (${existing.stackId}, ${existing.status})${nested ? ` and its ${nested} nested stack(s)` : ''} will be deleted.`,
    );
    for (const line of formatDataHolders(holders)) print(line);
    if (opts.confirm === undefined) {
      throw new UsageError(`no terminal to ask on: pass --yes to delete stack ${stackName} without asking`);
    }
    if (opts.confirm !== true && !(await opts.confirm(stackName))) {
      print('Not deleted.');
      return 1;
    }
    try {
      // The token makes an SDK retry of this request the same request to CloudFormation.
      await cfn.send(
        new DeleteStackCommand({ StackName: existing.stackId, ClientRequestToken: `kubecfn-destroy-${randomUUID()}` }),
      );
    } catch (err) {
      throw new Error(`CloudFormation refused to delete stack ${stackName}: ${describeError(err)}`);
    }
    print(`\nDeleting stack ${stackName}${nested ? ` and its ${nested} nested stack(s)` : ''}\n`);
  }
  return watchAndReport(api, {
    rootStackId: existing.stackId,
    rootName: stackName,
    snapshot,
    expected: 'DELETE_COMPLETE',
    print,
    color: opts.color,
    pollIntervalMs: opts.pollIntervalMs,
    timeoutMs: opts.timeoutMs,
    sleep: opts.sleep,
  });
}
