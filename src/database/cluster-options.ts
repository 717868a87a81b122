/**
 * wsrep_sync_wait for every connection unless DATABASE_URL says otherwise: 1 (reads) + 2 (UPDATE
 * and DELETE). A read, or a conditional UPDATE that decides something, waits until this node has
 * applied every write committed anywhere in the cluster before it, so it sees a code consumed, a
 * token rotated, a user or key created a moment ago on another node. INSERTs (4) need not wait:
 * one that collides with a row not yet applied here fails certification and is run again.
 */
export const DEFAULT_WSREP_SYNC_WAIT = 3;

export interface ClusterSessionOptions {
  /** SET SESSION wsrep_sync_wait on every new connection; null leaves the server's setting. */
  wsrepSyncWait: number | null;
}

/** The session options a mysql:// DATABASE_URL asks for (its query string; see docs/operations.md). */
export function clusterSessionOptions(url: URL): ClusterSessionOptions {
  for (const name of url.searchParams.keys()) {
    if (name !== 'wsrep_sync_wait') throw new Error(`DATABASE_URL has an unknown option "${name}" (known: wsrep_sync_wait)`);
  }
  const raw = url.searchParams.get('wsrep_sync_wait');
  if (raw === null) return { wsrepSyncWait: DEFAULT_WSREP_SYNC_WAIT };
  if (raw === 'server') return { wsrepSyncWait: null };
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 15) throw new Error(`DATABASE_URL option wsrep_sync_wait must be 0-15 or "server", got "${raw}"`);
  return { wsrepSyncWait: Number(raw) };
}
