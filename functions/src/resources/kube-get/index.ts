/** `Custom::KubeGet`: one value read from a Kubernetes object, waiting until it is there. */
export { default } from './kube-get';
