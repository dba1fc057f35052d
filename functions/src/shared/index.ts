/**
 * What every layer of functions/src shares and none owns: waiting. It imports nothing from the
 * other folders, so runtime, kube, helm and resources may all use it without a cycle.
 */
export { sleep, timers, type Timers } from './timers';
