import { MAX_ATTEMPTS, retryDelaySeconds } from './backchannel-logout.service';

describe('back-channel logout retries', () => {
  it('doubles from 10 seconds up to an hour', () => {
    expect([1, 2, 3, 4, 5].map(retryDelaySeconds)).toEqual([10, 20, 40, 80, 160]);
    expect(retryDelaySeconds(12)).toBe(3600);
  });

  it('gives up after about an hour and a half of attempts', () => {
    const total = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelaySeconds(i + 1)).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(3600);
    expect(total).toBeLessThan(3 * 3600);
  });
});
