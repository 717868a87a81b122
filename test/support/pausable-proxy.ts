import { createServer, Socket, type Server } from 'node:net';

/**
 * A TCP proxy to the database server that can be paused: it stops forwarding bytes, in both
 * directions, without closing anything, as a frozen server (SIGSTOP) or a dropped network path
 * looks to a client. New connections are accepted and held too, and a side that closes while
 * paused is closed on the other side only on resume (the frozen server notices nothing until then).
 */
export class PausableProxy {
  private server?: Server;
  private paused = false;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private deferred: (() => void)[] = [];

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on `port` (127.0.0.1). */
  async start(port: number): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      const pair = { client, upstream };
      this.pairs.add(pair);
      upstream.connect(this.targetPort, this.host);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        from.on('error', () => from.destroy());
        from.on('close', () => {
          this.pairs.delete(pair);
          if (this.paused) this.deferred.push(() => to.destroy());
          else to.destroy();
        });
        // No pipe(): its backpressure handling could resume a side this proxy paused.
        from.on('data', (chunk) => to.write(chunk));
      }
      if (this.paused) {
        client.pause();
        upstream.pause();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
  }

  /** Stops forwarding: whatever either side sends stays in the socket buffers. */
  pause(): void {
    this.paused = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again, what was held first; closes what closed meanwhile. */
  resume(): void {
    this.paused = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
    const deferred = this.deferred;
    this.deferred = [];
    for (const close of deferred) close();
  }

  async stop(): Promise<void> {
    this.resume();
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
