/** `Custom::KubeManifest`: Kubernetes objects applied, awaited, pruned and deleted from a template. */
export { default } from './kube-manifest';
