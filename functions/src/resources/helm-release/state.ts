/** What a HelmRelease carries from one invocation to the next while a long wait or an uninstall goes on. */
import type { WatchedObject } from '../../helm';
import type { DataValue } from '../../runtime';
import type { ReleaseTarget } from './target';

/** Saved between invocations while an install, a long wait or an uninstall goes on (JSON). */
export interface State {
  /** `install`: helm runs again once an admission webhook that could not be called may answer. */
  phase: 'install' | 'wait' | 'uninstall';
  target: ReleaseTarget;
  /** Epoch ms after which the wait fails. */
  waitUntil?: number;
  /**
   * The revision waited for: its objects are read back from helm's record of it in each check, so
   * the state handed to the next invocation stays small whatever the number of objects.
   */
  revision?: number;
  /** The objects waited for (state written by an older version; new state carries `revision`). */
  objects?: WatchedObject[];
  data?: Record<string, DataValue>;
  /** install: since when a webhook could not be called, until when helm may run, the namespace it made. */
  resume?: { since: number; until: number; createdNamespace?: boolean };
  /** The release is a replacement's new one: a failed wait uninstalls it. */
  replacement?: boolean;
  /** This install created the namespace: a failed wait removes it again. */
  createdNamespace?: boolean;
  /**
   * Uninstall: `cleanup` removes only a release the failed request itself installed (a failed
   * Create, a failed replacement); `delete` (the default) one this resource owns.
   */
  mode?: UninstallMode;
  /** Uninstall on Delete: RetainCrds (the CRDs the release created stay). */
  retainCrds?: boolean;
}

/** Which releases an uninstall may remove (see ./ownership). */
export type UninstallMode = 'delete' | 'cleanup';

/** Between readiness checks, as helm's own --wait polls. */
export const POLL_SECONDS = 2;
