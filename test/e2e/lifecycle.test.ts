// The Quick Start's whole lifecycle on the real charts, as it runs without faults (see lifecycle.suite.ts).
// In npm test (about 3 minutes on two cores); KUBECFN_LIFECYCLE=0 leaves it out.
import { lifecycleSuite } from './lifecycle.suite';

lifecycleSuite({ title: 'the lifecycle on the real charts', enabled: process.env.KUBECFN_LIFECYCLE !== '0' });
