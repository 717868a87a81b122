import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'gatehouse:cluster-metrics-request';
const RESPONSE = 'gatehouse:cluster-metrics-response';
/** prom-client's primary gives up on a silent worker after 5 s; the asking worker waits a little longer. */
const WORKER_TIMEOUT_MS = 6000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: string;
}

interface MetricsResponse {
  type: typeof RESPONSE;
  id: string;
  text?: string;
  error?: string;
}

/**
 * Primary side of CLUSTER_WORKERS: a worker asked for /metrics gets the metrics of every worker, each
 * series labelled with its `worker`, collected by prom-client's AggregatorRegistry. Without this a
 * scrape would see whichever worker took the connection, and counters would jump between workers.
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsRequest | undefined) => {
    if (message?.type !== REQUEST) return;
    const reply = (body: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: RESPONSE, id: message.id, ...body } satisfies MetricsResponse);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: Error) => reply({ error: error.message }),
    );
  });
}

/** Worker side: lets the primary read `registry`, labelling every series with this worker's id. */
export function registerWorkerRegistry(registry: Registry): void {
  registry.setDefaultLabels({ worker: String(cluster.worker!.id) });
  // Constructing one installs prom-client's listener that answers the primary's collection requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** Worker side: the metrics of every worker, through the primary. */
export function clusterMetrics(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('The primary did not answer in time')), WORKER_TIMEOUT_MS);
    const onMessage = (message: MetricsResponse | undefined) => {
      if (message?.type !== RESPONSE || message.id !== id) return;
      finish(message.error !== undefined ? new Error(message.error) : undefined, message.text ?? '');
    };
    function finish(error?: Error, text?: string) {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (error) reject(error);
      else resolve(text!);
    }
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
