// proxy-from-env 2 ships no type declarations: the one function the kube client uses.
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from the process's HTTP(S)_PROXY / ALL_PROXY, or '' when NO_PROXY excludes it or none is set. */
  export function getProxyForUrl(url: string): string;
}
