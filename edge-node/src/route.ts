// Where a request goes upstream, and with which fields: the owning peer in a sharded fleet, else
// the origins or the parent; the hop header between peers; the request fields forwarded (§7.6.1).
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { secretCheck } from '@cdn-lab/service-kit';
import { appendVia, connectionTokens, first, HOP_BY_HOP } from './http/headers.ts';
import type { Upstream } from './upstream.ts';

/**
 * Set on requests an edge forwards to the owning peer, so the owner never forwards them again (and
 * adds no simulated client delay). Its value is the fleet's FLEET_SECRET: a hop header without it
 * is ignored, so a client cannot make a non-owner keep its own copy by sending one.
 */
export const HOP_HEADER = 'x-cdn-lab-hop';

/** Request fields the edge handles itself on a cache fill (it fetches the full, unconditional response). */
const FILL_DROPS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'content-length', 'expect']);
/**
 * Not copied from the client: rewritten by the edge (host, via, x-forwarded-for, the hop marker),
 * or unkeyed inputs an origin might reflect into a response that is then cached for everyone under
 * a key that does not contain them (cache poisoning): the edge never forwards them.
 */
const ALWAYS_DROPS = new Set([
  'host',
  'via',
  'x-forwarded-for',
  HOP_HEADER,
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-scheme',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-host',
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** Where a miss goes: the origins/parent (and store), or the owning peer (and do not store here). */
export interface Route {
  upstream: Upstream;
  url?: string | undefined;
  store: boolean;
  peer: boolean;
}

export interface PeerRouting {
  upstream: Upstream;
  /** The ring node name that owns a key (peer id). */
  ownerOf(key: string): string | undefined;
  selfId: string;
  urlOf: ReadonlyMap<string, string>;
}

/** What an upstream fetch needs from the client request (kept past the response, for background work). */
export interface ClientInfo {
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
}

export function clientOf(req: IncomingMessage): ClientInfo {
  return { headers: req.headers, remoteAddress: req.socket?.remoteAddress };
}

export class Routing {
  /** Origins (round robin) or the parent edge. */
  readonly upstream: Upstream;
  private readonly peers: PeerRouting | undefined;
  private readonly edgeId: string;
  private readonly fleetSecret: string | undefined;
  /** Whether a hop header value is the fleet's secret (always false without one). */
  private readonly isFleetSecret: (value: string | undefined) => boolean;

  constructor(deps: { upstream: Upstream; peers: PeerRouting | undefined; edgeId: string; fleetSecret: string | undefined }) {
    this.upstream = deps.upstream;
    this.peers = deps.peers;
    this.edgeId = deps.edgeId;
    this.fleetSecret = deps.fleetSecret;
    this.isFleetSecret = deps.fleetSecret === undefined ? () => false : secretCheck(deps.fleetSecret);
  }

  /** A request a peer edge forwarded (its hop header carries the fleet secret), not a client's. */
  fromPeer(headers: IncomingHttpHeaders): boolean {
    const hop = headers[HOP_HEADER];
    return hop !== undefined && this.isFleetSecret(first(hop));
  }

  /** Where a miss for `primary` goes: the owning peer (not kept here), or this edge's own upstream. */
  routeFor(primary: string, req: IncomingMessage): Route {
    const peers = this.peers;
    if (peers && !this.fromPeer(req.headers)) {
      const owner = peers.ownerOf(primary);
      if (owner !== undefined && owner !== peers.selfId) return { upstream: peers.upstream, url: peers.urlOf.get(owner), store: false, peer: true };
    }
    return { upstream: this.upstream, store: true, peer: false };
  }

  /** Request fields to send upstream: end-to-end ones only (§7.6.1), plus Via and X-Forwarded-For. */
  forwardHeaders(client: ClientInfo, fill: boolean, toPeer: boolean): OutgoingHttpHeaders {
    const source: IncomingHttpHeaders = client.headers;
    const listed = connectionTokens(source.connection);
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || ALWAYS_DROPS.has(name)) continue;
      if (fill && FILL_DROPS.has(name)) continue;
      out[name] = value;
    }
    out.via = appendVia(source.via, this.edgeId);
    const address = client.remoteAddress;
    const forwardedFor = first(source['x-forwarded-for']);
    if (address !== undefined) out['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${address}` : address;
    else if (forwardedFor !== undefined) out['x-forwarded-for'] = forwardedFor;
    if (toPeer) out[HOP_HEADER] = this.fleetSecret ?? this.edgeId;
    return out;
  }
}
