import request from 'supertest';
import { openDatabase } from '../../src/database/open-database';
import { ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER } from '../support/app';
import { createTestDatabase, testStore, type TestDatabase } from '../support/database';
import { DEFAULT_PASSWORD } from '../support/fixtures';
import { authorizePath, parseLoginForm } from '../support/login-form';
import { sha256Hex } from '../support/oidc';
import { compiledService, freePort, Service } from '../support/service';
import { AUDIT_BATCH_ROWS } from '../../src/audit/audit.service';

/**
 * Crash test (SPEC §8): two instances of the compiled service on one database under a load of
 * logins, code exchanges and refreshes; one of them is killed with SIGKILL mid-load, several times,
 * and started again. Afterwards every refresh token a client received in a 200 works exactly once,
 * no token family is half-written, and the counters the clients kept reconcile with the database.
 * It runs on both stores: on SQLite both processes share one file (WAL), as CLUSTER_WORKERS does.
 *
 * A request cut by the kill has no answer: the client does not know whether it happened. Such
 * requests are counted ("in doubt") and bound the difference between what the clients saw and
 * what the database holds; the figures are printed.
 */

/** Ports of the two instances, free when the suite starts (a restarted instance takes its port back). */
let PORTS: number[] = [];
const KILL_ROUNDS = 4;
const WORKERS = 6;
const CB = 'https://app.example/cb';

interface Chain {
  /** The refresh token this client holds: received in a 200, not yet spent (as far as the client knows). */
  current: string;
  /** Tokens the client spent with a 200 answer. */
  spent: string[];
  /** A refresh of `current` got no answer: whether it was rotated is not known. */
  inDoubt: boolean;
}

describe('Crash test: SIGKILL of one of two instances under load loses and double-spends nothing', () => {
  let outDir: string;
  let db: TestDatabase;
  const services: (Service | undefined)[] = [undefined, undefined];

  beforeAll(async () => {
    outDir = await compiledService();
    db = await createTestDatabase();
    PORTS = [await freePort(), await freePort()];
  }, 180_000);
  afterAll(async () => {
    for (const s of services) await s?.stop();
    await db.drop();
  });

  async function start(i: number, attempt = 0): Promise<void> {
    const service = new Service(outDir, {
      PORT: String(PORTS[i]),
      ISSUER,
      DATABASE_URL: db.url,
      BOOTSTRAP_ADMIN_CLIENT_ID: ADMIN_CLIENT_ID,
      BOOTSTRAP_ADMIN_CLIENT_SECRET: ADMIN_CLIENT_SECRET,
      PURGE_INTERVAL_SECONDS: '0',
      LOGIN_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
    });
    services[i] = service;
    // Listening is logged at info: poll liveness instead.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await request(`http://127.0.0.1:${PORTS[i]}`).get('/health/ready').timeout(5_000).catch(() => undefined);
      if (res?.status === 200) return;
      if (!service.running) {
        // The port can be held for a moment by an outgoing connection of another process (it lies
        // in the ephemeral range): try again.
        if (attempt < 5 && service.output.includes('already in use')) {
          await new Promise((r) => setTimeout(r, 500));
          return start(i, attempt + 1);
        }
        throw new Error(`instance ${i} exited:\n${service.output}`);
      }
      if (Date.now() > deadline) throw new Error(`instance ${i} did not start:\n${service.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('every refresh token received in a 200 works exactly once; no half-written family; the counters reconcile', async () => {
    await start(0);
    await start(1);
    const up = [true, true];
    const base = (i: number) => `http://127.0.0.1:${PORTS[i]}`;
    const http0 = request(base(0));
    const admin = (await http0.post('/oauth2/token').auth(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET).type('form').send({ grant_type: 'client_credentials' })).body.access_token as string;
    // No grace period (the default): a second use of a refresh token is always refused.
    expect((await http0.get('/admin/policy').auth(admin, { type: 'bearer' })).body.refresh_token_grace_seconds).toBe(0);
    const app = await http0
      .post('/admin/clients')
      .auth(admin, { type: 'bearer' })
      .send({ grant_types: ['password', 'authorization_code', 'refresh_token'], redirect_uris: [CB], scope: 'openid offline_access' });
    expect(app.status).toBe(201);
    const clientId = app.body.client_id as string;
    const secret = app.body.client_secret as string;
    const usernames: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await http0.post('/admin/users').auth(admin, { type: 'bearer' }).send({ username: `crash-${i}`, password: DEFAULT_PASSWORD });
      expect(res.status).toBe(201);
      usernames.push(`crash-${i}`);
    }

    const counts = { logins: 0, codeExchanges: 0, refreshes: 0, inDoubt: 0, connectionErrors: 0, fiveHundreds: 0, other: 0 };
    const chains: Chain[] = [];
    const received = new Set<string>();
    let stopping = false;
    let next = 0;
    const pick = () => {
      for (let k = 0; k < 2; k++) {
        const i = next++ % 2;
        if (up[i]) return i;
      }
      return undefined;
    };
    /** One request to a live instance; undefined when it got no answer (the instance died under it, or was down). */
    const call = async (send: (http: request.Agent | ReturnType<typeof request>) => request.Test): Promise<request.Response | undefined> => {
      const i = pick();
      if (i === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      }
      try {
        const res = await send(request(base(i))).timeout(30_000);
        if (res.status >= 500) counts.fiveHundreds++;
        return res;
      } catch (error) {
        const response = (error as { response?: request.Response }).response;
        if (response) return response;
        counts.connectionErrors++;
        return undefined;
      }
    };
    const receive = (token: string): Chain => {
      received.add(token);
      const chain = { current: token, spent: [], inDoubt: false };
      chains.push(chain);
      return chain;
    };

    const worker = async (w: number): Promise<void> => {
      for (let round = 0; !stopping; round++) {
        // Only this worker refreshes the chain it started: two clients never share a token.
        let chain: Chain | undefined;
        const username = usernames[(w + round) % usernames.length];
        if (round % 3 === 2) {
          // A code exchange through the login page, on whichever instances answer each step.
          const page = await call((h) => h.get(authorizePath({ response_type: 'code', client_id: clientId, redirect_uri: CB, scope: 'openid offline_access', state: 's' })));
          if (page?.status !== 200) continue;
          const form = parseLoginForm(page);
          const login = await call((h) => h.post(form.action).type('form').set('Cookie', form.cookie).send({ ...form.hidden, action: 'login', username, password: DEFAULT_PASSWORD }));
          if (login?.status !== 303) continue;
          const code = new URL(login.headers.location).searchParams.get('code')!;
          const res = await call((h) => h.post('/oauth2/token').auth(clientId, secret).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: CB }));
          if (res?.status === 200) {
            counts.codeExchanges++;
            chain = receive(res.body.refresh_token);
          } else if (!res) counts.inDoubt++;
        } else {
          const res = await call((h) => h.post('/oauth2/token').auth(clientId, secret).type('form').send({ grant_type: 'password', username, password: DEFAULT_PASSWORD, scope: 'openid offline_access' }));
          if (res?.status === 200) {
            counts.logins++;
            chain = receive(res.body.refresh_token);
          } else if (!res) counts.inDoubt++;
        }
        // A few refreshes of the chain just started.
        for (let r = 0; chain && r < 3 && !stopping; r++) {
          const token = chain.current;
          const res = await call((h) => h.post('/oauth2/token').auth(clientId, secret).type('form').send({ grant_type: 'refresh_token', refresh_token: token }));
          if (res === undefined) {
            chain.inDoubt = true;
            counts.inDoubt++;
            break;
          }
          if (res.status !== 200) {
            counts.other++;
            break;
          }
          counts.refreshes++;
          chain.spent.push(chain.current);
          chain.current = res.body.refresh_token;
          received.add(chain.current);
        }
      }
    };

    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const startedAt = Date.now();
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      const victim = round % 2;
      up[victim] = false;
      services[victim]!.kill();
      await services[victim]!.exited;
      await start(victim);
      up[victim] = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
    stopping = true;
    await load;
    const loadMs = Date.now() - startedAt;

    // Nothing got a 5xx, and no token was refused under load (no reuse detection from a crash).
    expect({ fiveHundreds: counts.fiveHundreds, other: counts.other }).toEqual({ fiveHundreds: 0, other: 0 });

    // The database: no family half-written.
    const dataSource = await openDatabase(db.url, { migrationsRun: false });
    try {
      const q = async (sql: string) => Number((await dataSource.query(sql, [clientId]))[0].n);
      const orphans = await q('SELECT COUNT(*) AS n FROM refresh_tokens r LEFT JOIN token_families f ON f.id = r.family_id WHERE r.client_id = ? AND f.id IS NULL');
      const familiesWithoutToken = await q('SELECT COUNT(*) AS n FROM token_families f WHERE f.client_id = ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id)');
      const twoLive = await q(
        'SELECT COUNT(*) AS n FROM (SELECT family_id FROM refresh_tokens WHERE client_id = ? AND rotated_at IS NULL GROUP BY family_id HAVING COUNT(*) > 1) x',
      );
      const rotatedWithoutSuccessor = await q(
        'SELECT COUNT(*) AS n FROM token_families f WHERE f.client_id = ? AND f.revoked_at IS NULL AND (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = f.id) <> (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = f.id AND r.rotated_at IS NOT NULL) + 1',
      );
      const reuseDetections = await q("SELECT COUNT(*) AS n FROM token_families WHERE client_id = ? AND revoked_at IS NOT NULL");
      const rowsIssued = await q('SELECT COUNT(*) AS n FROM refresh_tokens WHERE client_id = ?');
      const rowsRotated = await q('SELECT COUNT(*) AS n FROM refresh_tokens WHERE client_id = ? AND rotated_at IS NOT NULL');
      const auditIssued = await q("SELECT COUNT(*) AS n FROM audit_events WHERE client_id = ? AND type = 'token.issued'");
      // Printed before the assertions, so that a failing run still reports what it saw.
      process.stdout.write(
        `[crash ${testStore()}] database after ${KILL_ROUNDS} kill -9 rounds: ${rowsIssued} refresh tokens issued, ${rowsRotated} rotated, ${auditIssued} token.issued events (batched: those a kill cut off are lost); ` +
          `orphaned tokens ${orphans}, families without a token ${familiesWithoutToken}, families with two live tokens ${twoLive}, ` +
          `families with a rotated token and no successor (half-written) ${rotatedWithoutSuccessor}, reuse detections ${reuseDetections}; ${counts.inDoubt} requests without an answer\n`,
      );
      // A rotation cut after marking the token spent and before writing its successor shows here
      // as a rotated token without a successor (the family is then stuck until the client logs in again).
      expect({ orphans, familiesWithoutToken, twoLive, rotatedWithoutSuccessor, reuseDetections }).toEqual({ orphans: 0, familiesWithoutToken: 0, twoLive: 0, rotatedWithoutSuccessor: 0, reuseDetections: 0 });

      // The counters: what the clients received is in the database; the database holds at most
      // what the requests without an answer may have written on top.
      const issued = counts.logins + counts.codeExchanges + counts.refreshes;
      expect(received.size).toBe(issued);
      const hashes = new Set<string>((await dataSource.query('SELECT token_hash FROM refresh_tokens WHERE client_id = ?', [clientId])).map((r: { token_hash: string }) => r.token_hash));
      expect([...received].filter((token) => !hashes.has(sha256Hex(token)))).toEqual([]);
      expect(rowsIssued - issued).toBeGreaterThanOrEqual(0);
      expect(rowsIssued - issued).toBeLessThanOrEqual(counts.inDoubt);
      expect(rowsRotated - counts.refreshes).toBeGreaterThanOrEqual(0);
      expect(rowsRotated - counts.refreshes).toBeLessThanOrEqual(counts.inDoubt);
      // token.issued audit events are written in batches (docs/operations.md): a kill -9 loses at
      // most the batch the killed process held, never more than AUDIT_BATCH_ROWS per kill.
      expect(issued - auditIssued).toBeLessThanOrEqual(KILL_ROUNDS * AUDIT_BATCH_ROWS);
      expect(auditIssued - issued).toBeLessThanOrEqual(counts.inDoubt);

      // Every token received in a 200 and not spent works exactly once; a spent one never again.
      const http = request(base(0));
      const refresh = (token: string) => http.post('/oauth2/token').auth(clientId, secret).type('form').send({ grant_type: 'refresh_token', refresh_token: token });
      const clean = chains.filter((c) => !c.inDoubt);
      const outcomes = { worked: 0, secondUseRefused: 0, spentRefused: 0 };
      for (const chain of clean) {
        const first = await refresh(chain.current);
        expect({ token: chain.current.slice(0, 8), status: first.status }).toEqual({ token: chain.current.slice(0, 8), status: 200 });
        outcomes.worked++;
        const second = await refresh(chain.current);
        expect({ status: second.status, error: second.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
        outcomes.secondUseRefused++;
        if (chain.spent.length) {
          const again = await refresh(chain.spent[0]);
          expect(again.status).toBe(400);
          outcomes.spentRefused++;
        }
      }
      // A chain whose refresh got no answer: the client retries its token once (figures only; a
      // rotation the crash cut after its commit makes this a reuse).
      const doubtful = { retried: 0, worked: 0, refused: 0 };
      for (const chain of chains.filter((c) => c.inDoubt)) {
        const res = await refresh(chain.current);
        doubtful.retried++;
        if (res.status === 200) doubtful.worked++;
        else doubtful.refused++;
        expect(res.status).toBeLessThan(500);
      }
      process.stdout.write(
        `[crash ${testStore()}] ${KILL_ROUNDS} kill -9 rounds in ${loadMs} ms: ${counts.logins} logins, ${counts.codeExchanges} code exchanges, ${counts.refreshes} refreshes ` +
          `(${issued} refresh tokens received; database ${rowsIssued} issued, ${rowsRotated} rotated, ${auditIssued} token.issued events); ` +
          `${counts.inDoubt} requests without an answer; 5xx ${counts.fiveHundreds}; clean chains ${clean.length}: worked once ${outcomes.worked}, second use refused ${outcomes.secondUseRefused}, ` +
          `spent refused ${outcomes.spentRefused}; lost 0, double-spent 0; in-doubt chains retried ${doubtful.retried}: worked ${doubtful.worked}, refused ${doubtful.refused}\n`,
      );
    } finally {
      await dataSource.destroy();
    }
  }, 300_000);
});
