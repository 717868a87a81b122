import { AdmissionGate, type Admission } from './admission-gate';

describe(AdmissionGate.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function admitted(a: Admission): { release: () => void } {
    if (!a.admitted) throw new Error(`not admitted: ${a.reason}`);
    return a;
  }

  it('admits up to its permits at once, without waiting', async () => {
    const gate = new AdmissionGate(2, 10, 1000);
    const first = gate.enter();
    const second = gate.enter();
    expect(first).toMatchObject({ admitted: true });
    expect(second).toMatchObject({ admitted: true });
    expect(gate.load).toEqual({ active: 2, waiting: 0 });
  });

  it('queues the next ones and hands a released permit to the first in line', async () => {
    const gate = new AdmissionGate(1, 10, 1000);
    const holder = admitted(await gate.enter());
    const a = gate.enter();
    const b = gate.enter();
    expect(gate.load).toEqual({ active: 1, waiting: 2 });
    holder.release();
    const first = admitted(await a);
    expect(gate.load).toEqual({ active: 1, waiting: 1 });
    first.release();
    admitted(await b).release();
    expect(gate.load).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses a request that waited its timeout, and one that finds the queue full', async () => {
    const gate = new AdmissionGate(1, 1, 500);
    admitted(await gate.enter());
    const waiting = gate.enter();
    expect(await gate.enter()).toEqual({ admitted: false, reason: 'queue full' });
    jest.advanceTimersByTime(500);
    expect(await waiting).toEqual({ admitted: false, reason: 'timed out' });
    expect(gate.load).toEqual({ active: 1, waiting: 0 });
  });

  it('counts a release once, however often it is called', async () => {
    const gate = new AdmissionGate(2, 0, 500);
    const one = admitted(await gate.enter());
    admitted(await gate.enter());
    one.release();
    one.release();
    expect(gate.load).toEqual({ active: 1, waiting: 0 });
  });

  it('lets a waiting request withdraw (its client went away): it leaves the queue, takes no permit, and the next in line gets the released one', async () => {
    const gate = new AdmissionGate(1, 2, 500);
    const holder = admitted(await gate.enter());
    const gone = gate.enter();
    const next = gate.enter();
    if (!('withdraw' in gone)) throw new Error('not queued');
    gone.withdraw();
    gone.withdraw();
    expect(await gone).toEqual({ admitted: false, reason: 'withdrawn' });
    expect(gate.load).toEqual({ active: 1, waiting: 1 });
    // Its slot in the queue is free again.
    expect(gate.enter()).toBeInstanceOf(Promise);
    holder.release();
    admitted(await next);
    // Withdrawing once admitted changes nothing.
    gone.withdraw();
    expect(gate.load).toEqual({ active: 1, waiting: 1 });
  });
});
