// The local AWS of the embedded mode: moto server (started by scripts/local/aws/moto.ts, from
// .venv/moto) with kubecfn's CloudFormation engine loaded into it (scripts/local/cfn-engine, put on
// PYTHONPATH so python/sitecustomize.py installs it before moto's server starts).
//
// The engine reads a small JSON configuration file on every use, so the pieces that need each
// other's addresses (the local Lambda service needs moto's endpoint; moto's engine needs the Lambda
// service's) can start one after the other.
import { chmodSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { freePort, startMoto, type MotoServer } from './moto';

/** Where the Python side of the embedded mode lives. */
export const embeddedPythonDir = resolve(__dirname, '..', 'cfn-engine');

/** A local Kubernetes control plane as the engine needs it (one standing for every EKS cluster, for harnesses). */
export interface EmbeddedClusterInfo {
  server: string;
  /** PEM. */
  caData: string;
  token: string;
  version: string;
}

/** What the engine reads from its configuration file (see cfn-engine/kubecfn_embedded/config.py). */
export interface EmbeddedConfig {
  /** Lambda Invoke API of the local Lambda service that runs the providers. */
  lambdaEndpoint?: string;
  /**
   * The token by which that service knows CloudFormation's own Invoke of a ServiceToken (sent as
   * `X-Kubecfn-Service-Token`, see scripts/local/lambda/invoke-authorization.ts).
   */
  lambdaServiceToken?: string;
  /**
   * Where the engine exports each Lambda function a custom resource invokes (its code and layers as
   * CreateFunction took them from S3, and its configuration), for the local Lambda service to run.
   */
  functionsDir?: string;
  /**
   * The service that starts a control plane of its own for each EKS cluster the engine creates and
   * stops it when the cluster is deleted (scripts/local/cluster/control-planes.ts), with the
   * Kubernetes version those run. Takes precedence over `cluster`.
   */
  controlPlanes?: { endpoint: string; token: string; version: string };
  /** One control plane for every EKS cluster, one cluster at a time (harnesses that start their own). */
  cluster?: EmbeddedClusterInfo;
  /** The providers' KUBECFN_CLUSTER_ACCESS file, which the engine fills as EKS clusters come and go (harnesses only). */
  clusterAccessFile?: string;
  /** Where the engine keeps each EKS cluster's authentication mode and access entries, for the local EKS authenticator. */
  eksAccessFile?: string;
  /** Where the engine notes the charts Helm releases ask for (read by the local chart mirror). */
  chartWantsFile?: string;
  /** Faults the engine injects, counted in `chaos.json` beside the file (cfn-engine/kubecfn_embedded/chaos.py). */
  chaos?: { responsePut503?: boolean };
}

/** A running embedded AWS. */
export interface EmbeddedAws {
  moto: MotoServer;
  /**
   * STS's check of a presigned `GetCallerIdentity` (an EKS token), answered by the engine from
   * moto's IAM users and STS sessions: `POST {url, headers}` (see cfn-engine/kubecfn_embedded/sts_identity.py).
   */
  stsVerifyEndpoint: string;
  /** The Lambda service's AssumeRole of an execution role: `POST {roleArn, sessionName}` (sts_identity.py). */
  assumeRoleEndpoint: string;
  /**
   * IAM's judgment of a signed request to a local service (the Lambda Invoke API): `POST {method, path,
   * headers, body, action, resource}` (sts_identity.py).
   */
  authorizeEndpoint: string;
  /**
   * Credentials of the deployer, who launches stacks: with `enforceIam`, an IAM user of the local account
   * (every other key is refused, as in AWS) with `deployerPolicies`; otherwise moto's placeholder keys.
   */
  deployer: { accessKeyId: string; secretAccessKey: string };
  /** The configuration file the engine reads. */
  configPath: string;
  /** Replaces the configuration (the engine picks it up on its next read). */
  configure(config: EmbeddedConfig): void;
  stop(): Promise<void>;
}

/** Options of {@link startEmbeddedAws}. */
export interface EmbeddedAwsOptions {
  /** Directory for the configuration file (kept by the caller). */
  dir: string;
  /** First configuration. */
  config?: EmbeddedConfig;
  /** Receives moto's request log and the engine's messages. */
  onOutput?: (chunk: string) => void;
  /**
   * Every HTTP call must be signed by a known IAM principal and be allowed by its policies
   * (moto's INITIAL_NO_AUTH_ACTION_COUNT=0, see cfn-engine/kubecfn_embedded/iam_enforcement.py).
   * Default: false (moto accepts any key).
   */
  enforceIam?: boolean;
  /**
   * With `enforceIam`, the deployer's inline policies (name to policy document); without it, the deployer
   * may do everything (an administrator).
   */
  deployerPolicies?: Record<string, unknown>;
}

/**
 * Starts moto server with the embedded CloudFormation engine.
 *
 * @example
 * const aws = await startEmbeddedAws({ dir });
 * aws.configure({ lambdaEndpoint: lambda.endpoint, functionsDir });
 * // CloudFormation at aws.moto.endpoint now runs stacks, custom resources included
 * await aws.stop();
 */
export async function startEmbeddedAws(opts: EmbeddedAwsOptions): Promise<EmbeddedAws> {
  const configPath = join(opts.dir, 'embedded-config.json');
  const configure = (config: EmbeddedConfig) => {
    // Written whole and private: it holds admin tokens (a cluster's, the control-plane service's).
    writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    chmodSync(configPath, 0o600);
  };
  configure(opts.config ?? {});
  const pythonPath = [embeddedPythonDir, process.env.PYTHONPATH].filter(Boolean).join(':');
  const stsVerifyPort = await freePort();
  const deployer = opts.enforceIam
    ? {
        accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
      }
    : { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const moto = await startMoto({
    // No __pycache__ in the source tree.
    env: {
      PYTHONPATH: pythonPath,
      KUBECFN_EMBEDDED_CONFIG: configPath,
      KUBECFN_STS_VERIFY_PORT: String(stsVerifyPort),
      ...(opts.enforceIam
        ? {
            KUBECFN_ENFORCE_IAM: '1',
            INITIAL_NO_AUTH_ACTION_COUNT: '0',
            KUBECFN_DEPLOYER_ACCESS_KEY_ID: deployer.accessKeyId,
            KUBECFN_DEPLOYER_SECRET_ACCESS_KEY: deployer.secretAccessKey,
            ...(opts.deployerPolicies ? { KUBECFN_DEPLOYER_POLICIES: JSON.stringify(opts.deployerPolicies) } : {}),
          }
        : {}),
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    },
    onOutput: opts.onOutput,
    // The engine imports moto's CloudFormation models (and with them most services) at start.
    startTimeoutMs: 60_000,
  });
  return {
    moto,
    stsVerifyEndpoint: `http://127.0.0.1:${stsVerifyPort}/verify`,
    assumeRoleEndpoint: `http://127.0.0.1:${stsVerifyPort}/assume-role`,
    authorizeEndpoint: `http://127.0.0.1:${stsVerifyPort}/authorize`,
    deployer,
    configPath,
    configure,
    stop: () => moto.stop(),
  };
}
