// Active and passive health checking. Every HEALTH_INTERVAL_MS each backend gets `GET HEALTH_PATH`
// on a fresh connection (so a check exercises accept, not a pooled socket) with HEALTH_TIMEOUT_MS;
// a 2xx answer is a success. After HEALTH_UNHEALTHY_THRESHOLD consecutive failures a backend is
// taken out of rotation; one success puts it back. A backend that says it is draining (the
// service-kit DRAINING_FIELD on its answer, /healthz 503 during a graceful shutdown) is taken out
// at the first such answer. The proxy marks a backend down at once when a connection to it fails
// or it answers draining (passive check), or asks for a probe now (`confirm`) when the failure
// may be a keep-alive race; only an active check brings a backend back.
import http from 'node:http';
import { DRAINING_FIELD, type Logger } from '@cdn-lab/service-kit';
import type { BackendState } from './backends.ts';
import type { BackendErrorReason, BalancerMetrics } from './metrics.ts';

export interface HealthCheckerOptions {
  backends: readonly BackendState[];
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  metrics: BalancerMetrics;
  logger: Logger;
}

export class HealthChecker {
  private readonly options: HealthCheckerOptions;
  private readonly failures = new Map<BackendState, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> | undefined;
  /** Backends with a `confirm` probe in flight (one at a time each). */
  private readonly confirming = new Set<BackendState>();

  constructor(options: HealthCheckerOptions) {
    this.options = options;
  }

  /** Checks every backend now, then every intervalMs after each round ends (rounds never overlap). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      await this.checkNow();
      if (!this.running) return;
      this.timer = setTimeout(loop, this.options.intervalMs);
      // Checks alone must not keep a process alive (the server does that).
      this.timer.unref();
    };
    void loop();
  }

  /** Stops scheduling and waits for a round in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.round;
  }

  /**
   * One fresh round over all backends, in parallel (after any round in progress, so its result
   * reflects the backends as they are now); resolves when every check has settled.
   */
  async checkNow(): Promise<void> {
    while (this.round) await this.round;
    const round = Promise.all(this.options.backends.map((backend) => this.checkOne(backend))).then(() => undefined);
    this.round = round;
    try {
      await round;
    } finally {
      this.round = undefined;
    }
  }

  /** Passive check: the proxy could not talk to `backend` (or it is draining); out of rotation until a check passes. */
  markDown(backend: BackendState, reason: BackendErrorReason | 'draining', detail?: string): void {
    this.failures.set(backend, this.options.unhealthyThreshold);
    this.setHealthy(backend, false, reason, detail);
  }

  /**
   * A failure that may be harmless (a reset on a reused keep-alive socket): probe `backend` on a
   * fresh connection now, and take it out if the probe fails. Concurrent calls share one probe.
   */
  confirm(backend: BackendState, reason: BackendErrorReason, detail?: string): void {
    if (!backend.healthy || this.confirming.has(backend)) return;
    this.confirming.add(backend);
    void this.probe(backend).then((result) => {
      this.confirming.delete(backend);
      if (result.failure !== undefined) this.markDown(backend, result.draining ? 'draining' : reason, `${detail ?? reason}; probe: ${result.failure}`);
    });
  }

  private async checkOne(backend: BackendState): Promise<void> {
    const { failure, draining } = await this.probe(backend);
    if (failure === undefined) {
      this.failures.set(backend, 0);
      this.setHealthy(backend, true);
      return;
    }
    if (draining) {
      this.markDown(backend, 'draining', failure);
      return;
    }
    this.options.metrics.backendError(backend.id, 'health_check');
    const count = (this.failures.get(backend) ?? 0) + 1;
    this.failures.set(backend, count);
    if (count >= this.options.unhealthyThreshold) this.setHealthy(backend, false, 'health_check', failure);
  }

  /** `failure` undefined when healthy, else a short description of what went wrong; `draining` when the backend said so. */
  private probe(backend: BackendState): Promise<{ failure: string | undefined; draining: boolean }> {
    const { path, timeoutMs } = this.options;
    return new Promise((resolve) => {
      const request = http.get(
        {
          host: backend.hostname,
          port: backend.port,
          path: backend.basePath + path,
          agent: false,
          timeout: timeoutMs,
          headers: { 'user-agent': 'cdn-lab-load-balancer/health', connection: 'close' },
        },
        (response) => {
          response.resume();
          const status = response.statusCode ?? 0;
          const draining = response.headers[DRAINING_FIELD] !== undefined;
          if (status >= 200 && status < 300 && !draining) resolve({ failure: undefined, draining });
          else resolve({ failure: draining ? `status ${status}, draining` : `status ${status}`, draining });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (error: NodeJS.ErrnoException) => resolve({ failure: error.code ?? error.message, draining: false }));
    });
  }

  private setHealthy(backend: BackendState, healthy: boolean, reason?: string, detail?: string): void {
    if (backend.healthy === healthy) return;
    backend.healthy = healthy;
    if (healthy) this.options.logger.info({ backend: backend.id }, 'backend up');
    else this.options.logger.warn({ backend: backend.id, reason, detail }, 'backend down');
  }
}
