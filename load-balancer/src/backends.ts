// The balancer's live view of its backends: what algorithms read (`Backend`) plus the parsed
// address the proxy connects to. One object per backend for the balancer's whole life, in
// BACKENDS order, so hash rings and metric series stay stable.
import type { Backend } from './algorithms/types.ts';
import type { BackendConfig } from './config.ts';

export interface BackendState extends Backend {
  readonly hostname: string;
  readonly port: number;
  /** Path prefix of the backend URL without a trailing slash ('' for none), put before request paths. */
  readonly basePath: string;
}

export function createBackends(configs: readonly BackendConfig[]): BackendState[] {
  return configs.map((config) => {
    const url = new URL(config.url);
    return {
      id: config.id,
      url: config.url,
      // Optimistic start: in rotation until a check or a connection says otherwise, so a balancer
      // started together with its edges serves at once; the first check runs immediately.
      healthy: true,
      inFlight: 0,
      // URL keeps IPv6 literals bracketed; http.request wants them bare.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 80),
      basePath: url.pathname.replace(/\/+$/, ''),
    };
  });
}
