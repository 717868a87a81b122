import { startApp, type TestApp } from '../support/app';
import { createClient, tokenRequest, type CreatedClient } from '../support/fixtures';

/**
 * `token.issued` audit events are written in batches after the response (AUDIT_TOKEN_EVENTS):
 * they reach GET /admin/audit-events shortly after, nothing queued is lost on a graceful close,
 * and AUDIT_TOKEN_EVENTS=false writes none. Security events are still written before the response.
 */
describe('Batched token.issued audit events', () => {
  async function issuedEvents(t: TestApp, client: CreatedClient): Promise<Array<{ details: { jti: string } }>> {
    const res = await t.http
      .get('/admin/audit-events')
      .query({ client: client.client_id, type: 'token.issued', limit: 500 })
      .auth(await t.adminToken(), { type: 'bearer' });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function issue(t: TestApp, client: CreatedClient, count: number): Promise<number> {
    for (let i = 0; i < count; i++) {
      const res = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! });
      expect(res.status).toBe(200);
    }
    return count;
  }

  it('appear in the audit log shortly after the responses', async () => {
    const t = await startApp();
    try {
      const client = await createClient(t);
      await issue(t, client, 5);
      // Polled, not timed: the batch is written within AUDIT_BATCH_DELAY_MS on an idle machine.
      let events: unknown[] = [];
      for (let attempt = 0; attempt < 300 && events.length < 5; attempt++) {
        events = await issuedEvents(t, client);
        if (events.length < 5) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(events).toHaveLength(5);
    } finally {
      await t.close();
    }
  });

  it('are all written by a graceful close, however recent', async () => {
    const first = await startApp();
    const client = await createClient(first);
    const issued = await issue(first, client, 20);
    // Closed at once: whatever the batch still holds is written during the shutdown.
    await first.close({ keepDatabase: true });
    const second = await startApp({ database: first.database });
    try {
      const events = await issuedEvents(second, client);
      expect(events).toHaveLength(issued);
      expect(new Set(events.map((e) => e.details.jti)).size).toBe(issued);
    } finally {
      await second.close();
    }
  });

  it('are not written with AUDIT_TOKEN_EVENTS=false; security events still are, before the response', async () => {
    const t = await startApp({ env: { AUDIT_TOKEN_EVENTS: 'false' } });
    try {
      const client = await createClient(t);
      await issue(t, client, 3);
      const wrong = await tokenRequest(t, { grant_type: 'client_credentials' }, { id: client.client_id, secret: 'wrong' });
      expect(wrong.status).toBe(401);
      // The admin change that created the client is a security event: it is there without waiting.
      const created = await t.http
        .get('/admin/audit-events')
        .query({ client: client.client_id, type: 'admin.client.created' })
        .auth(await t.adminToken(), { type: 'bearer' });
      expect(created.body).toHaveLength(1);
      // Whatever a batch would have held is written by close at the latest: close, reopen, look.
      await t.close({ keepDatabase: true });
      const again = await startApp({ database: t.database });
      try {
        expect(await issuedEvents(again, client)).toEqual([]);
      } finally {
        await again.close();
      }
    } catch (error) {
      await t.close().catch(() => undefined);
      throw error;
    }
  });
});
