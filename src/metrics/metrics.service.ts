import cluster from 'node:cluster';
import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { clusterMetrics, registerWorkerRegistry } from './cluster-metrics';

/**
 * Prometheus metrics: Node.js defaults plus HTTP requests by route and status. Under CLUSTER_WORKERS
 * every scrape reports all workers (each series labelled `worker`), whichever worker answers it.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly abandoned = new Counter({
    name: 'gatehouse_requests_abandoned_total',
    help: 'Requests not run because their client went away while they waited for their turn at the database',
    registers: [this.registry],
  });

  private admissionLoad: () => { active: number; waiting: number } = () => ({ active: 0, waiting: 0 });

  constructor() {
    const load = () => this.admissionLoad();
    new Gauge({
      name: 'gatehouse_admission_active',
      help: 'Requests doing database work now (at most DATABASE_POOL_SIZE)',
      registers: [this.registry],
      collect() {
        this.set(load().active);
      },
    });
    new Gauge({
      name: 'gatehouse_admission_waiting',
      help: 'Requests waiting for their turn at the database (at most REQUEST_QUEUE_LIMIT)',
      registers: [this.registry],
      collect() {
        this.set(load().waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry });
    if (cluster.isWorker) registerWorkerRegistry(this.registry);
  }

  /** `route` is the matched route pattern (never the raw URL, which would carry ids and grow without bound). */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.duration.observe({ method, route }, seconds);
  }

  /** Where the admission gauges read the load of the queue in front of the database (app.factory.ts). */
  watchAdmission(load: () => { active: number; waiting: number }): void {
    this.admissionLoad = load;
  }

  /** A request whose client went away while it waited in the admission queue: it was not run. */
  abandon(): void {
    this.abandoned.inc();
  }

  /** The text exposition of this process, or of every worker when running under node:cluster. */
  async scrape(): Promise<string> {
    if (!cluster.isWorker) return this.registry.metrics();
    try {
      return await clusterMetrics();
    } catch (error) {
      // A partial answer beats none: this worker's own series, still labelled with its id.
      this.logger.warn(`Cluster metrics unavailable, answering with this worker's only: ${(error as Error).message}`);
      return this.registry.metrics();
    }
  }
}
