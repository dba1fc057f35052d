/** The repository root. */
export declare const repoRoot: string;
/** `$KUBECFN_CACHE`, else `$XDG_CACHE_HOME/kubecfn`, else `~/.cache/kubecfn`. */
export declare function cacheRoot(): string;
