// What AWS does to an EKS cluster's objects from the outside, done for the local control plane:
//
// - Services of type LoadBalancer get a load balancer: status.loadBalancer.ingress[0].hostname is
//   set to an ELB-style DNS name (internal or internet-facing by the usual annotation), as the AWS
//   Load Balancer Controller (or the legacy cloud provider) does once the load balancer exists.
// - PersistentVolumeClaims of the EFS and EBS CSI drivers' StorageClasses are provisioned: a
//   PersistentVolume with the driver's name and a volume handle is created for the claim (for
//   WaitForFirstConsumer classes once the scheduler has picked a node), and a Released volume of a
//   Delete-policy class is deleted, as the drivers' external provisioners do.
// - The AWS Load Balancer Controller's webhook server (loadBalancerControllerWebhooks below), reached
//   by the API server through the pod network (pod-network.ts).
//
// It polls the API server with the cluster's admin token (once a second, a few list calls). The local
// cloud runs one per EKS cluster, beside that cluster's control plane (deployment.ts), so load
// balancer hostnames, volumes and webhook reviews are each cluster's own.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { kubeCaller, type KubeCall } from './kube-api';
import type { Pod, PodServer } from './pod-network';

/** The running emulation. */
export interface CloudEmulation {
  stop(): Promise<void>;
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
  const call = kubeCaller(opts.kubeconfigPath);
  const log = opts.log ?? (() => {});

  const hostnames = new Map<string, string>();
  const loadBalancers = async () => {
    const { status, json } = await call('GET', '/api/v1/services');
    if (status !== 200) return;
    for (const svc of json.items as Array<
      Obj & { spec: { type?: string; loadBalancerClass?: string }; status?: { loadBalancer?: { ingress?: unknown[] } } }
    >) {
      if (svc.spec.type !== 'LoadBalancer' || svc.status?.loadBalancer?.ingress?.length) continue;
      // A class names the controller that provisions it: only the AWS Load Balancer Controller's is emulated.
      if (svc.spec.loadBalancerClass && svc.spec.loadBalancerClass !== loadBalancerControllerClass) continue;
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

/** The class the controller gives new LoadBalancer Services unless its `--load-balancer-class` says otherwise. */
export const loadBalancerControllerClass = 'service.k8s.aws/nlb';

/**
 * The AWS Load Balancer Controller's webhook server, standing in for its pods' (no container runs
 * in the local cloud). The chart's MutatingWebhookConfiguration and ValidatingWebhookConfiguration
 * (failurePolicy Fail on Services, Pods, Ingresses, TargetGroupBindings, IngressClassParams) stay as
 * the chart made them; the API server reaches this server through the pod network
 * (`pod-network.ts`) at a controller pod's IP and webhook port, so until a controller pod is Ready a
 * call fails as in EKS ("no endpoints available for service ..."). It serves with the certificate the
 * chart generated (the Secret the pod mounts, which the webhook configurations' caBundle signed) and
 * answers every AdmissionReview with allowed, patching what the real mutators patch where that is
 * cheap: a new Service of type LoadBalancer without `spec.loadBalancerClass` gets the controller's
 * class, and an update that drops the class keeps the old one (pkg/service mutator of the
 * controller). Pod readiness gates, target-group bindings and validations are allowed unchanged.
 *
 * @example
 * podNetwork.attach(call, [loadBalancerControllerWebhooks(call, log)]);
 */
export function loadBalancerControllerWebhooks(
  call: KubeCall,
  log: (m: string) => void = () => {},
): PodServer & { reviews(): Record<string, number> } {
  const reviews: Record<string, number> = {};
  const contexts = new Map<string, SecureContext>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'https://webhook').pathname;
      // An AdmissionReview as the API server sends it, read field by field.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      let review: any;
      try {
        review = JSON.parse(body);
      } catch {
        res.writeHead(400).end('not an AdmissionReview\n');
        return;
      }
      const request = review?.request ?? {};
      const patch = mutation(path, request, (req.socket as TLSSocket & { lbClass?: string }).lbClass);
      const key = `${path} ${request.operation ?? ''}`.trim();
      reviews[key] = (reviews[key] ?? 0) + 1;
      const response = {
        apiVersion: review.apiVersion ?? 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: request.uid,
          allowed: true,
          ...(patch.length
            ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
            : {}),
        },
      };
      if (patch.length)
        log(
          `load balancer controller webhook ${path}: ${request.namespace}/${request.name ?? request.object?.metadata?.name ?? ''} patched ${JSON.stringify(patch)}`,
        );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
    });
  });
  // The pod's class, from its container arguments, handed to the request through its TLS socket.
  const classOf = (pod: Pod): string => {
    for (const c of pod.spec.containers as Array<{ args?: string[] }>) {
      const arg = c.args?.find((a) => a.startsWith('--load-balancer-class='));
      if (arg) return arg.slice('--load-balancer-class='.length);
    }
    return loadBalancerControllerClass;
  };
  return {
    name: 'aws-load-balancer-controller webhook server',
    serves: (pod, port) =>
      pod.metadata.labels?.['app.kubernetes.io/name'] === 'aws-load-balancer-controller' &&
      pod.spec.containers.some((c) => c.ports?.some((p) => p.containerPort === port && p.name === 'webhook-server')),
    accept: async (pod, _port, socket: Duplex) => {
      const volume =
        pod.spec.volumes?.find((v) => v.name === 'cert' && v.secret) ?? pod.spec.volumes?.find((v) => v.secret);
      if (!volume?.secret) throw new Error('the pod mounts no serving certificate');
      const ns = pod.metadata.namespace;
      const res = await call('GET', `/api/v1/namespaces/${ns}/secrets/${volume.secret.secretName}`);
      if (res.status !== 200) throw new Error(`secret ${ns}/${volume.secret.secretName}: ${res.status}`);
      const data = res.json.data as Record<string, string>;
      const cacheKey = `${ns}/${volume.secret.secretName}@${res.json.metadata.resourceVersion}`;
      let secureContext = contexts.get(cacheKey);
      if (!secureContext) {
        secureContext = createSecureContext({
          cert: Buffer.from(data['tls.crt'] ?? '', 'base64'),
          key: Buffer.from(data['tls.key'] ?? '', 'base64'),
        });
        contexts.set(cacheKey, secureContext);
      }
      const tls = new TLSSocket(socket, { isServer: true, secureContext }) as TLSSocket & { lbClass?: string };
      tls.lbClass = classOf(pod);
      tls.on('error', () => undefined);
      server.emit('connection', tls);
    },
    reviews: () => ({ ...reviews }),
  };
}

/** The JSON patch the controller's mutators make for one admission request (empty: none). */
function mutation(
  path: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: any,
  lbClass = loadBalancerControllerClass,
): Array<{ op: string; path: string; value: unknown }> {
  if (path !== '/mutate-v1-service') return [];
  const svc = request.object;
  if (svc?.spec?.type !== 'LoadBalancer' || svc.spec.loadBalancerClass) return [];
  if (request.operation === 'CREATE') return [{ op: 'add', path: '/spec/loadBalancerClass', value: lbClass }];
  const old = request.oldObject?.spec?.loadBalancerClass;
  if (request.operation === 'UPDATE' && old) return [{ op: 'add', path: '/spec/loadBalancerClass', value: old }];
  return [];
}
