// nginx as the lab's front door (the Docker stack's alternative to the lab's own balancer): a
// pure function from the topology's balancer algorithm and the edges' addresses to nginx.conf.
// The file is complete (not a conf.d snippet) so it runs in the unprivileged nginx image:
// pid and temp files under /tmp, listening on an unprivileged port.
import type { BalancerAlgorithm } from '../topology.ts';

/** How each lab algorithm is said in an nginx `upstream` block; null where nginx has none. */
export const NGINX_ALGORITHM_DIRECTIVES: Record<BalancerAlgorithm, string | null> = {
  'round-robin': '', // nginx's default: no directive
  'least-connections': 'least_conn;',
  'power-of-two': 'random two least_conn;',
  'consistent-hash': 'hash $request_uri consistent;',
  // Consistent hashing with bounded loads (Mirrokni et al.) has no nginx equivalent.
  'bounded-load': null,
};

export function nginxSupports(algorithm: BalancerAlgorithm): boolean {
  return NGINX_ALGORITHM_DIRECTIVES[algorithm] !== null;
}

export interface NginxBackend {
  /** Service id (edge-0): kept in a comment and in the access log's upstream field. */
  id: string;
  /** Host name or address nginx connects to. */
  host: string;
  port: number;
}

export interface NginxConfigInput {
  algorithm: BalancerAlgorithm;
  backends: NginxBackend[];
  listenPort: number;
  /** Idle keep-alive connections nginx keeps to each worker's upstreams. */
  upstreamKeepalive?: number;
  /** Where nginx writes its pid and temp files (must be writable by the nginx user). */
  runDir?: string;
  /** Access log file; the nginx images link the default to the container's stdout. */
  accessLog?: string;
}

/** nginx's answer for a reserved path: the same error the edges and the lab's balancer give. */
const INTERNAL_PATH_BODY = '{"error":"internal_path","message":"this path is reserved for the services own use and is not forwarded"}';

/** Renders nginx.conf; throws a TypeError naming the problem for inputs nginx cannot express. */
export function renderNginxConfig(input: NginxConfigInput): string {
  const directive = NGINX_ALGORITHM_DIRECTIVES[input.algorithm];
  if (directive === null || directive === undefined) {
    const usable = Object.entries(NGINX_ALGORITHM_DIRECTIVES)
      .filter(([, d]) => d !== null)
      .map(([name]) => name);
    throw new TypeError(`nginx has no "${input.algorithm}" balancing; with nginx use one of: ${usable.join(', ')}`);
  }
  if (input.backends.length === 0) throw new TypeError('nginx needs at least one backend');
  if (!Number.isInteger(input.listenPort) || input.listenPort < 1 || input.listenPort > 65535) {
    throw new TypeError(`listen port must be 1-65535, got ${input.listenPort}`);
  }
  for (const backend of input.backends) {
    if (!/^[A-Za-z0-9.-]+$/.test(backend.host)) throw new TypeError(`backend ${backend.id}: host "${backend.host}" is not a host name or IPv4 address`);
    if (!Number.isInteger(backend.port) || backend.port < 1 || backend.port > 65535) throw new TypeError(`backend ${backend.id}: port must be 1-65535, got ${backend.port}`);
  }
  const runDir = input.runDir ?? '/tmp';
  const keepalive = input.upstreamKeepalive ?? 64;
  const servers = input.backends.map((b) => `    server ${b.host}:${b.port} max_fails=1 fail_timeout=5s; # ${b.id}`);
  const lines = [
    `# Rendered by infra/src/render/nginx.ts (algorithm: ${input.algorithm}). Do not edit by hand.`,
    'worker_processes auto;',
    `pid ${runDir}/nginx.pid;`,
    'error_log stderr warn;',
    '',
    'events {',
    '  worker_connections 4096;',
    '}',
    '',
    'http {',
    `  client_body_temp_path ${runDir}/client_temp;`,
    `  proxy_temp_path ${runDir}/proxy_temp;`,
    `  fastcgi_temp_path ${runDir}/fastcgi_temp;`,
    `  uwsgi_temp_path ${runDir}/uwsgi_temp;`,
    `  scgi_temp_path ${runDir}/scgi_temp;`,
    '',
    '  # One JSON line per request, like the lab services (shipped to Loki by Alloy).',
    "  log_format lab_json escape=json '{\"time\":\"$time_iso8601\",\"service\":\"nginx\",\"method\":\"$request_method\",'",
    "    '\"path\":\"$uri\",\"status\":$status,\"bytes\":$body_bytes_sent,\"upstream\":\"$upstream_addr\",'",
    "    '\"upstream_status\":\"$upstream_status\",\"duration_s\":$request_time}';",
    `  access_log ${input.accessLog ?? '/var/log/nginx/access.log'} lab_json;`,
    '  server_tokens off;',
    '',
    '  upstream edges {',
    ...(directive ? [`    ${directive}`] : []),
    ...servers,
    `    keepalive ${keepalive};`,
    '  }',
    '',
    '  server {',
    `    listen ${input.listenPort};`,
    '',
    '    location = /healthz {',
    '      access_log off;',
    '      default_type application/json;',
    '      return 200 \'{"status":"ok"}\';',
    '    }',
    '',
    "    # The services' own routes (metrics, health, admin: /metrics, /healthz, /_*) are not for",
    '    # clients. nginx matches the decoded, merged, dot-resolved URI; the edges refuse other spellings.',
    '    location ~* ^/(_|(metrics|healthz)(/|$)) {',
    '      default_type application/json;',
    `      return 404 '${INTERNAL_PATH_BODY}';`,
    '    }',
    '',
    '    location / {',
    '      proxy_pass http://edges;',
    '      # HTTP/1.1 with an empty Connection header keeps upstream connections alive.',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '      proxy_next_upstream error timeout http_502 http_503;',
    '      proxy_connect_timeout 2s;',
    '      proxy_read_timeout 15s;',
    '      add_header X-Upstream $upstream_addr always;',
    '    }',
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}
