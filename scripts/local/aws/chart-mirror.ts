// Helm chart repositories without the internet. The Quick Start's Helm releases name public
// repositories (https://charts.jenkins.io, https://aws.github.io/eks-charts, ...). The HelmProvider's
// helm is pointed at a local HTTPS proxy (HTTPS_PROXY and SSL_CERT_FILE: the same environment
// variables any proxy-bound Lambda would use); the proxy answers for every repository host with a
// certificate from its own CA and serves:
//
// - the real charts of a chart directory (`chartsDir`: $KUBECFN_CHARTS_DIR, `npm start --charts-dir`,
//   or ~/.cache/kubecfn/charts that `npm run charts:pull` fills), packaged as their repositories
//   publish them (`<chart>-<version>.tgz`), listed in every repository's index.yaml with their own
//   Chart.yaml metadata and digest. A chart or version that is not there is not in the index, so helm
//   fails as it does against the real repository ("chart ... version ... not found").
// - only when `standIns` allows it, for a wanted chart and version with no real package, a generated
//   stand-in: the requested name and version, rendering a Deployment, a Service (type, port,
//   annotations and source ranges from the usual values keys), an optional PersistentVolumeClaim, a
//   ServiceAccount and a Secret. Which stand-ins to offer comes from the embedded engine, which notes
//   every Custom::HelmRelease's Repository/Chart/Version before it sends the request (chartWantsFile);
//   every stand-in served is remembered (`standInsServed()`) so the caller can say so.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';

const execFileAsync = promisify(execFile);

/** A chart a template asked for. */
export interface ChartWant {
  repository: string;
  chart: string;
  version?: string;
}

/** The running mirror. */
export interface ChartMirror {
  /** Environment for the process whose helm should use the mirror. */
  clientEnv: Record<string, string>;
  /** The file the embedded engine appends wanted charts to (JSON lines). */
  wantsFile: string;
  /** The chart directory real charts are served from, if any. */
  chartsDir?: string;
  /** Stand-ins downloaded so far (chart and version), in the order first served. */
  standInsServed(): ChartWant[];
  /** Real charts downloaded so far (`<chart>-<version>`). */
  realServed(): string[];
  /**
   * Names of the CustomResourceDefinitions in the `crds/` directories of the real charts served so
   * far: helm installs them before the release and never deletes them (helm uninstall keeps them).
   */
  crdsOfServedCharts(): Promise<string[]>;
  stop(): Promise<void>;
}

const FALLBACK_VERSION = '1.0.0';

/** A packaged real chart of the chart directory. */
interface RealChart {
  file: string;
  path: string;
  chart: Record<string, unknown> & { name: string; version: string };
  digest: string;
}

const helpers = `{{- define "standin.fullname" -}}
{{- if .Values.fullnameOverride }}{{ .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}
{{- define "standin.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
kubecfn.io/stand-in-chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end }}
`;

const deployment = `{{- $c := .Values.controller }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "standin.fullname" . }}
  labels: {{- include "standin.labels" . | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels: {{- include "standin.labels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "standin.fullname" . }}
      {{- with (coalesce $c.nodeSelector .Values.nodeSelector) }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (coalesce $c.tolerations .Values.tolerations) }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: "stand-in.local/{{ .Chart.Name }}:{{ .Chart.AppVersion }}"
          ports:
            - containerPort: {{ coalesce $c.servicePort .Values.service.port 80 }}
          {{- if .Values.persistence.enabled }}
          volumeMounts:
            - name: data
              mountPath: /data
          {{- end }}
      {{- if .Values.persistence.enabled }}
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: {{ include "standin.fullname" . }}
      {{- end }}
`;

const service = `{{- $c := .Values.controller }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "standin.fullname" . }}
  labels: {{- include "standin.labels" . | nindent 4 }}
  {{- with (coalesce $c.serviceAnnotations .Values.service.annotations) }}
  annotations: {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ coalesce $c.serviceType .Values.service.type "ClusterIP" }}
  {{- with (coalesce $c.loadBalancerSourceRanges .Values.service.loadBalancerSourceRanges) }}
  loadBalancerSourceRanges: {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: {{ coalesce $c.servicePort .Values.service.port 80 }}
      targetPort: {{ coalesce $c.servicePort .Values.service.port 80 }}
`;

const others = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "standin.fullname" . }}
  labels: {{- include "standin.labels" . | nindent 4 }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "standin.fullname" . }}
  labels: {{- include "standin.labels" . | nindent 4 }}
type: Opaque
data:
  {{ .Chart.Name }}-admin-user: {{ "admin" | b64enc }}
  {{ .Chart.Name }}-admin-password: {{ randAlphaNum 22 | b64enc }}
{{- if .Values.persistence.enabled }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "standin.fullname" . }}
  labels: {{- include "standin.labels" . | nindent 4 }}
spec:
  accessModes: [{{ .Values.persistence.accessMode | default "ReadWriteOnce" }}]
  {{- with .Values.persistence.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ .Values.persistence.size | default "8Gi" }}
{{- end }}
`;

const defaultValues = {
  controller: {},
  service: { type: 'ClusterIP', port: 80, annotations: {} },
  persistence: { enabled: false },
  nodeSelector: {},
  tolerations: [],
};

/** Reads the engine's notes of wanted charts (one JSON object a line). */
export function readWants(file: string): ChartWant[] {
  if (!existsSync(file)) return [];
  const out: ChartWant[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const w = JSON.parse(line) as ChartWant;
      if (w.chart && !out.some((o) => o.chart === w.chart && o.version === w.version)) out.push(w);
    } catch {
      // a partly written line: read again next time
    }
  }
  return out;
}

/** A plain version a stand-in can carry for what the template asked (exact, or the fallback). */
function concreteVersion(version: string | undefined): string {
  const v = (version ?? '').trim().replace(/^v/, '');
  return /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(v) ? v : FALLBACK_VERSION;
}

/**
 * Starts the proxy and the stand-in repository.
 *
 * @example
 * const mirror = await startChartMirror({ dir, helm: await ensureHelm() });
 * // run helm with { ...process.env, ...mirror.clientEnv }
 */
export async function startChartMirror(opts: {
  dir: string;
  helm: string;
  /** Directory of packaged real charts (`<chart>-<version>.tgz`); read on every index request. */
  chartsDir?: string;
  /** Serve generated stand-ins for wanted charts with no real package (default: only without chartsDir). */
  standIns?: boolean;
  /** Other web files to answer, by `https://host/path` (say what they stand for where you pass them). */
  files?: Record<string, { contentType: string; body: string }>;
}): Promise<ChartMirror> {
  const allowStandIns = opts.standIns ?? !opts.chartsDir;
  const standInsServed: ChartWant[] = [];
  const realServed: string[] = [];
  const root = join(opts.dir, 'chart-mirror');
  mkdirSync(join(root, 'certs'), { recursive: true });
  mkdirSync(join(root, 'charts'), { recursive: true });
  const caKey = join(root, 'ca.key');
  const caCert = join(root, 'ca.crt');
  const leafKey = join(root, 'leaf.key');
  const wantsFile = join(root, 'wanted-charts.jsonl');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    '/CN=kubecfn local chart mirror CA',
  ]);
  await execFileAsync('openssl', ['genrsa', '-out', leafKey, '2048']);

  const contexts = new Map<string, Promise<SecureContext>>();
  const contextFor = (host: string): Promise<SecureContext> => {
    let ctx = contexts.get(host);
    if (!ctx) {
      ctx = (async () => {
        const safe = host.replace(/[^A-Za-z0-9.-]/g, '_');
        const csr = join(root, 'certs', `${safe}.csr`);
        const crt = join(root, 'certs', `${safe}.crt`);
        const ext = join(root, 'certs', `${safe}.ext`);
        writeFileSync(ext, `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
        await execFileAsync('openssl', ['req', '-new', '-key', leafKey, '-out', csr, '-subj', `/CN=${host}`]);
        await execFileAsync('openssl', [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          caCert,
          '-CAkey',
          caKey,
          '-CAcreateserial',
          '-out',
          crt,
          '-days',
          '2',
          '-extfile',
          ext,
        ]);
        return createSecureContext({ key: readFileSync(leafKey), cert: readFileSync(crt) });
      })();
      contexts.set(host, ctx);
    }
    return ctx;
  };

  const packaged = new Map<string, Promise<string>>();
  const packageChart = (name: string, version: string): Promise<string> => {
    const key = `${name}-${version}`;
    let p = packaged.get(key);
    if (!p) {
      p = (async () => {
        const src = join(root, 'src', key, name);
        mkdirSync(join(src, 'templates'), { recursive: true });
        writeFileSync(
          join(src, 'Chart.yaml'),
          stringify({
            apiVersion: 'v2',
            name,
            version,
            appVersion: version,
            description: `kubecfn local stand-in for chart ${name} ${version} (no network in local mode)`,
            type: 'application',
          }),
        );
        writeFileSync(join(src, 'values.yaml'), stringify(defaultValues));
        writeFileSync(join(src, 'templates', '_helpers.tpl'), helpers);
        writeFileSync(join(src, 'templates', 'deployment.yaml'), deployment);
        writeFileSync(join(src, 'templates', 'service.yaml'), service);
        writeFileSync(join(src, 'templates', 'others.yaml'), others);
        const out = join(root, 'charts');
        await execFileAsync(opts.helm, ['package', src, '--destination', out], {
          env: {
            ...process.env,
            HELM_CACHE_HOME: join(root, 'helm', 'cache'),
            HELM_CONFIG_HOME: join(root, 'helm', 'config'),
            HELM_DATA_HOME: join(root, 'helm', 'data'),
          },
        });
        return join(out, `${key}.tgz`);
      })();
      packaged.set(key, p);
    }
    return p;
  };

  // The real charts: metadata read once per file (helm show chart), keyed by path, size and mtime.
  const metadata = new Map<string, Promise<RealChart | undefined>>();
  const realCharts = async (): Promise<RealChart[]> => {
    if (!opts.chartsDir || !existsSync(opts.chartsDir)) return [];
    const out: RealChart[] = [];
    for (const file of readdirSync(opts.chartsDir)
      .filter((f) => f.endsWith('.tgz'))
      .sort()) {
      const path = join(opts.chartsDir, file);
      const st = statSync(path);
      const key = `${path}:${st.size}:${st.mtimeMs}`;
      let m = metadata.get(key);
      if (!m) {
        m = (async () => {
          try {
            const { stdout } = await execFileAsync(opts.helm, ['show', 'chart', path]);
            const chart = parse(stdout) as Record<string, unknown> & { name: string; version: string };
            const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
            return { file, path, chart, digest };
          } catch {
            return undefined; // not a chart: not served
          }
        })();
        metadata.set(key, m);
      }
      const real = await m;
      if (real) out.push(real);
    }
    return out;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, host: string) => {
    const path = new URL(req.url ?? '/', `https://${host}`).pathname;
    try {
      const file = opts.files?.[`https://${host}${path}`];
      if (file) {
        res.writeHead(200, { 'content-type': file.contentType });
        return res.end(file.body);
      }
      if (path.endsWith('/index.yaml')) {
        const base = `https://${host}${path.slice(0, -'index.yaml'.length)}`;
        const entries: Record<string, unknown[]> = {};
        const reals = await realCharts();
        for (const real of reals) {
          (entries[real.chart.name] ??= []).push({
            ...real.chart,
            urls: [`${base}charts/${real.file}`],
            digest: real.digest,
            created: new Date(statSync(real.path).mtimeMs).toISOString(),
          });
        }
        for (const want of allowStandIns ? readWants(wantsFile) : []) {
          const version = concreteVersion(want.version);
          if (reals.some((r) => r.chart.name === want.chart && r.chart.version === version)) continue;
          (entries[want.chart] ??= []).push({
            apiVersion: 'v2',
            name: want.chart,
            version,
            appVersion: version,
            description: `kubecfn local stand-in for ${want.chart}`,
            urls: [`${base}charts/${want.chart}-${version}.tgz`],
            created: new Date().toISOString(),
          });
        }
        res.writeHead(200, { 'content-type': 'application/x-yaml' });
        return res.end(stringify({ apiVersion: 'v1', entries, generated: new Date().toISOString() }));
      }
      const match = /\/charts\/(.+)-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\.tgz$/.exec(path);
      if (match) {
        const real = (await realCharts()).find((r) => r.chart.name === match[1] && r.chart.version === match[2]);
        if (real) {
          if (!realServed.includes(`${match[1]}-${match[2]}`)) realServed.push(`${match[1]}-${match[2]}`);
          res.writeHead(200, { 'content-type': 'application/gzip' });
          return res.end(readFileSync(real.path));
        }
        if (!allowStandIns) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          return res.end(`${match[1]} ${match[2]} is not in the chart directory ${opts.chartsDir}\n`);
        }
        if (!standInsServed.some((w) => w.chart === match[1] && w.version === match[2]))
          standInsServed.push({ repository: `https://${host}`, chart: match[1]!, version: match[2]! });
        const file = await packageChart(match[1]!, match[2]!);
        res.writeHead(200, { 'content-type': 'application/gzip' });
        return res.end(readFileSync(file));
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found in the kubecfn local chart mirror: ${host}${path}\n`);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`kubecfn local chart mirror: ${(err as Error).message}\n`);
    }
  };

  // One HTTP server for requests arriving inside CONNECT tunnels (after TLS) ...
  const inner = createHttpServer((req, res) => void handle(req, res, (req.headers.host ?? 'unknown').split(':')[0]!));
  // ... and the proxy itself: CONNECT for https, absolute URLs for plain http.
  const proxy = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://unknown');
    void handle(req, res, url.hostname);
  });
  proxy.on('connect', (req: IncomingMessage, socket: Socket) => {
    const host = (req.url ?? '').split(':')[0]!;
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    void contextFor(host).then(
      (secureContext) => {
        const tls = new TLSSocket(socket, { isServer: true, secureContext });
        tls.on('error', () => undefined);
        inner.emit('connection', tls);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    clientEnv: { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1,localhost', SSL_CERT_FILE: caCert },
    wantsFile,
    ...(opts.chartsDir ? { chartsDir: opts.chartsDir } : {}),
    standInsServed: () => [...standInsServed],
    realServed: () => [...realServed],
    crdsOfServedCharts: async () => {
      const names = new Set<string>();
      for (const real of await realCharts()) {
        if (!realServed.includes(`${real.chart.name}-${real.chart.version}`)) continue;
        const { stdout } = await execFileAsync(opts.helm, ['show', 'crds', real.path], { maxBuffer: 64 << 20 });
        for (const doc of parseAllDocuments(stdout)) {
          const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
          if (crd?.kind === 'CustomResourceDefinition' && crd.metadata?.name) names.add(crd.metadata.name);
        }
      }
      return [...names].sort();
    },
    stop: () =>
      new Promise<void>((ok) => {
        proxy.closeAllConnections();
        inner.closeAllConnections();
        proxy.close(() => ok());
      }),
  };
}
