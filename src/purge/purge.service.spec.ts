import { Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { PurgeService } from './purge.service';

describe(PurgeService.name, () => {
  const config = (purgeIntervalSeconds: number) => Object.assign(new AppConfig(), { purgeIntervalSeconds });
  const service = (interval: number) => {
    const owner = {} as never;
    const purge = new PurgeService(config(interval), new Clock(), owner, owner, owner, owner, owner, owner, owner, owner, owner, owner);
    const run = jest.spyOn(purge, 'purgeExpired').mockResolvedValue({ refreshTokens: 0, accessTokens: 0, authorizationCodes: 0, usedJtis: 0, tokenFamilies: 0, loginThrottle: 0, clientAuthFailures: 0, browserSessions: 0, logoutNotifications: 0 });
    return { purge, run };
  };

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('purges every PURGE_INTERVAL_SECONDS until shutdown', async () => {
    const { purge, run } = service(60);
    purge.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(59_999);
    expect(run).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(120_000);
    expect(run).toHaveBeenCalledTimes(3);
    purge.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('never starts a run while the previous one is still going', async () => {
    const { purge, run } = service(1);
    run.mockReturnValue(new Promise(() => undefined));
    purge.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(run).toHaveBeenCalledTimes(1);
    purge.onApplicationShutdown();
  });

  it('schedules nothing when the interval is 0', () => {
    const { purge, run } = service(0);
    purge.onApplicationBootstrap();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(86_400_000);
    expect(run).not.toHaveBeenCalled();
  });

  it('logs a failed purge and keeps the timer running', async () => {
    const { purge, run } = service(10);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    run.mockRejectedValueOnce(new Error('database gone'));
    purge.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(warn).toHaveBeenCalledWith('Purge of expired rows failed: database gone');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(run).toHaveBeenCalledTimes(2);
    warn.mockRestore();
    purge.onApplicationShutdown();
  });
});
