// One catalogue of the errors the edge answers with itself (not relayed from upstream).

export const EDGE_ERRORS = {
  badTarget: { status: 400, code: 'bad_request_target' },
  foreignHost: { status: 400, code: 'absolute_form_foreign_host' },
  missingHost: { status: 400, code: 'missing_host' },
  badHost: { status: 400, code: 'bad_host' },
  smuggling: { status: 400, code: 'ambiguous_message_length' },
  badBody: { status: 400, code: 'bad_body' },
  unauthorized: { status: 401, code: 'unauthorized' },
  adminDisabled: { status: 404, code: 'admin_disabled' },
  internalPath: { status: 404, code: 'internal_path' },
  methodNotAllowed: { status: 405, code: 'method_not_allowed' },
  bodyTooLarge: { status: 413, code: 'body_too_large' },
  uriTooLong: { status: 414, code: 'uri_too_long' },
  headersTooLarge: { status: 431, code: 'request_header_fields_too_large' },
  upstreamFailed: { status: 502, code: 'upstream_failed' },
  upstreamDown: { status: 502, code: 'upstream_down' },
  onlyIfCached: { status: 504, code: 'only_if_cached_miss' },
  upstreamTimeout: { status: 504, code: 'upstream_timeout' },
  internal: { status: 500, code: 'internal_error' },
} as const;

export type EdgeErrorKind = keyof typeof EDGE_ERRORS;

export class EdgeError extends Error {
  readonly kind: EdgeErrorKind;
  readonly status: number;
  readonly code: string;
  constructor(kind: EdgeErrorKind, message: string) {
    super(message);
    this.name = 'EdgeError';
    this.kind = kind;
    this.status = EDGE_ERRORS[kind].status;
    this.code = EDGE_ERRORS[kind].code;
  }
}
