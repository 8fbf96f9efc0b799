declare module 'proxy-from-env' {
  /** The proxy URL for a request URL by HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY, or ''. */
  export function getProxyForUrl(url: string | URL): string;
}
