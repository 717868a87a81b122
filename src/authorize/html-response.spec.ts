import type { FastifyReply } from 'fastify';
import { sendRedirect } from './html-response';

describe(sendRedirect.name, () => {
  function fakeReply() {
    const calls: string[] = [];
    const reply = {
      status: (code: number) => (calls.push(`status ${code}`), reply),
      header: (name: string, value: string) => (calls.push(`${name}: ${value}`), reply),
      send: () => (calls.push('send'), reply),
    };
    return { reply: reply as unknown as FastifyReply, calls };
  }

  it('answers a GET with 302 and a POST with 303, not cached', () => {
    const { reply, calls } = fakeReply();
    sendRedirect(reply, 'https://app.example/cb?code=x', 'POST');
    expect(calls).toEqual(['status 303', 'Location: https://app.example/cb?code=x', 'Cache-Control: no-store', 'Pragma: no-cache', 'Referrer-Policy: no-referrer', 'send']);
  });

  it('refuses a Location Node would reject only while writing (the request would hang), before touching the reply', () => {
    for (const location of ['https://app.example/cb\r\nSet-Cookie: a=b', 'https://app.example/例', 'https://app.example/c b', '']) {
      const { reply, calls } = fakeReply();
      expect(() => sendRedirect(reply, location, 'GET')).toThrow('Refusing a Location header');
      expect(calls).toEqual([]);
    }
  });
});
