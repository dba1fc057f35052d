// The same lifecycle (lifecycle.suite.ts) with every fault of the local cloud on: each asynchronous
// event delivered twice, the first continuation of each request crashed at its start, the first
// response PUT of each request answered 503, the first invocation of each request to start a step
// killed with SIGKILL. Every stack must end as it does without faults, with one of everything
// (helm revisions included) and nothing left after the deletes; the injected counts are printed.
//
// Lambda retries a killed invocation after 35 s and 70 s here instead of its own 1 and 2 minutes
// (said at the start of the run): still after the killed invocation's 30 s hold on the request has
// lapsed, so the retry takes the work up as in AWS, and the run takes about half the time.
// test/e2e/chaos.test.ts keeps Lambda's own delays on a small stack.
// In npm test (10 to 20 minutes on two cores); KUBECFN_LIFECYCLE=0 or KUBECFN_LIFECYCLE_CHAOS=0 leaves it out.
import { lifecycleSuite } from './lifecycle.suite';

lifecycleSuite({
  title: 'the lifecycle on the real charts, with every fault on',
  enabled: process.env.KUBECFN_LIFECYCLE !== '0' && process.env.KUBECFN_LIFECYCLE_CHAOS !== '0',
  chaos: { duplicateAsync: true, crashContinuation: true, responsePut503: true, killMidStep: true },
  lambdaRetryDelaysMs: [35_000, 70_000],
});
