// What AWS does to an EKS cluster's objects from the outside, done for the local control plane:
//
// - Services of type LoadBalancer get a load balancer: status.loadBalancer.ingress[0].hostname is
//   set to an ELB-style DNS name (internal or internet-facing by the usual annotation), as the AWS
//   Load Balancer Controller (or the legacy cloud provider) does once the load balancer exists.
// - PersistentVolumeClaims of the EFS and EBS CSI drivers' StorageClasses are provisioned: a
//   PersistentVolume with the driver's name and a volume handle is created for the claim (for
//   WaitForFirstConsumer classes once the scheduler has picked a node), and a Released volume of a
//   Delete-policy class is deleted, as the drivers' external provisioners do.
//
// It polls the API server with the cluster's admin token (once a second, a few list calls).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';

/** The running emulation. */
export interface CloudEmulation {
  stop(): Promise<void>;
}

interface KubeconfigShape {
  clusters: Array<{
    cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
  }>;
  users: Array<{ user: { token?: string } }>;
}

/** The CSI drivers whose provisioning is emulated. */
export const emulatedProvisioners = ['efs.csi.aws.com', 'ebs.csi.aws.com'] as const;

type Obj = {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; uid?: string };
  [k: string]: unknown;
};

/**
 * Starts the emulation against the cluster of a kubeconfig (token authentication).
 *
 * @example
 * const cloud = await startCloudEmulation({ kubeconfigPath: cluster.kubeconfigPath, region: 'us-east-1' });
 * await cloud.stop();
 */
export async function startCloudEmulation(opts: {
  kubeconfigPath: string;
  region: string;
  log?: (m: string) => void;
}): Promise<CloudEmulation> {
  const config = parse(readFileSync(opts.kubeconfigPath, 'utf8')) as KubeconfigShape;
  const cluster = config.clusters[0]!.cluster;
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : readFileSync(cluster['certificate-authority']!);
  const token = config.users[0]!.user.token ?? '';
  const server = new URL(cluster.server);
  const log = opts.log ?? (() => {});

  // Raw API JSON of several kinds (Services, claims, volumes, classes), read field by field below.
  const call = (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; json: any }> =>
    new Promise((ok, fail) => {
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          path,
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body ? { 'content-type': contentType } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let json: unknown = null;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              json = { message: text };
            }
            ok({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', fail);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  const hostnames = new Map<string, string>();
  const loadBalancers = async () => {
    const { status, json } = await call('GET', '/api/v1/services');
    if (status !== 200) return;
    for (const svc of json.items as Array<
      Obj & { spec: { type?: string }; status?: { loadBalancer?: { ingress?: unknown[] } } }
    >) {
      if (svc.spec.type !== 'LoadBalancer' || svc.status?.loadBalancer?.ingress?.length) continue;
      const key = svc.metadata.uid ?? `${svc.metadata.namespace}/${svc.metadata.name}`;
      const scheme =
        svc.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-scheme'] === 'internet-facing'
          ? ''
          : 'internal-';
      let hostname = hostnames.get(key);
      if (!hostname) {
        const id = randomBytes(8).toString('hex');
        const name = `k8s-${svc.metadata.namespace}-${svc.metadata.name}`.slice(0, 22).replace(/-+$/, '');
        hostname = `${scheme}${name}-${id}.elb.${opts.region}.amazonaws.com`;
        hostnames.set(key, hostname);
      }
      const res = await call(
        'PATCH',
        `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`,
        { status: { loadBalancer: { ingress: [{ hostname }] } } },
        'application/merge-patch+json',
      );
      if (res.status === 200)
        log(`load balancer ${hostname} for service ${svc.metadata.namespace}/${svc.metadata.name}`);
    }
  };

  const volumes = async () => {
    const classes = await call('GET', '/apis/storage.k8s.io/v1/storageclasses');
    if (classes.status !== 200) return;
    const byName = new Map<
      string,
      { provisioner: string; volumeBindingMode?: string; reclaimPolicy?: string; parameters?: Record<string, string> }
    >();
    for (const sc of classes.json.items) byName.set(sc.metadata.name, sc);
    const defaultClass = (classes.json.items as Obj[]).find(
      (sc) => sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
    );

    const claims = await call('GET', '/api/v1/persistentvolumeclaims');
    if (claims.status === 200) {
      for (const pvc of claims.json.items) {
        if (pvc.status?.phase !== 'Pending' || pvc.spec.volumeName) continue;
        const className: string | undefined = pvc.spec.storageClassName ?? defaultClass?.metadata.name;
        const sc = className ? byName.get(className) : undefined;
        if (!sc || !(emulatedProvisioners as readonly string[]).includes(sc.provisioner)) continue;
        if (
          sc.volumeBindingMode === 'WaitForFirstConsumer' &&
          !pvc.metadata.annotations?.['volume.kubernetes.io/selected-node']
        )
          continue;
        const handle =
          sc.provisioner === 'efs.csi.aws.com'
            ? `${sc.parameters?.fileSystemId ?? 'fs-local'}::fsap-${randomBytes(8).toString('hex')}`
            : `vol-${randomBytes(8).toString('hex')}`;
        const pv = {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: {
            name: `pvc-${pvc.metadata.uid}`,
            annotations: { 'pv.kubernetes.io/provisioned-by': sc.provisioner, 'kubecfn.io/emulated': 'true' },
          },
          spec: {
            capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
            storageClassName: className,
            volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
            claimRef: {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              namespace: pvc.metadata.namespace,
              name: pvc.metadata.name,
              uid: pvc.metadata.uid,
            },
            csi: { driver: sc.provisioner, volumeHandle: handle },
          },
        };
        const res = await call('POST', '/api/v1/persistentvolumes', pv);
        if (res.status === 201)
          log(
            `provisioned ${pv.metadata.name} (${sc.provisioner} ${handle}) for ${pvc.metadata.namespace}/${pvc.metadata.name}`,
          );
      }
    }
    const pvs = await call('GET', '/api/v1/persistentvolumes');
    if (pvs.status === 200) {
      for (const pv of pvs.json.items) {
        if (pv.metadata.annotations?.['kubecfn.io/emulated'] !== 'true') continue;
        if (pv.status?.phase === 'Released' && pv.spec.persistentVolumeReclaimPolicy === 'Delete') {
          const res = await call('DELETE', `/api/v1/persistentvolumes/${pv.metadata.name}`);
          if (res.status === 200) log(`deleted released volume ${pv.metadata.name}`);
        }
      }
    }
  };

  let stopped = false;
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      await loadBalancers();
      await volumes();
    } catch (err) {
      log(`cloud emulation: ${(err as Error).message}`);
    } finally {
      running = undefined;
    }
  };
  const timer = setInterval(() => {
    // One pass at a time: a slow API server delays the next pass instead of piling them up.
    if (!stopped && !running) running = tick();
  }, 1_000);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
