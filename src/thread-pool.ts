import { availableParallelism } from 'node:os';

/** libuv's own default, and the most this sizing ever asks for. */
const LIBUV_DEFAULT = 4;

/**
 * The size of the libuv thread pool of a process: what UV_THREADPOOL_SIZE says when it is set (the
 * operator's choice is kept), otherwise one thread per core, and never more than libuv's default of 4.
 *
 * The pool runs the argon2id hashes and verifications (19 MiB of native memory each while they run)
 * and the RS256 signatures: as many threads as cores is all the CPU there is, and it bounds the
 * argon2 memory of a process to threads × 19 MiB whatever the load. The work waits in libuv's own
 * queue, so a thread that finishes one verification starts the next at once, without waiting for
 * the event loop (a queue in JavaScript costs that round trip per verification).
 */
export function threadPoolSize(env: NodeJS.ProcessEnv, cores: number): number {
  const configured = Number(env.UV_THREADPOOL_SIZE);
  if (env.UV_THREADPOOL_SIZE !== undefined && Number.isInteger(configured) && configured > 0) return configured;
  return Math.max(1, Math.min(cores, LIBUV_DEFAULT));
}

/**
 * Sets UV_THREADPOOL_SIZE for this process and the processes it starts (cluster workers). libuv reads
 * it when the pool starts, at the first asynchronous file, DNS or crypto operation, so this runs
 * first in main.ts, before any module that could start one.
 */
export function sizeThreadPool(env: NodeJS.ProcessEnv = process.env): number {
  const size = threadPoolSize(env, availableParallelism());
  env.UV_THREADPOOL_SIZE = String(size);
  return size;
}

sizeThreadPool();
