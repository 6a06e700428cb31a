import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BodyCounts, PurgeOptions } from '../store/ports.js';
import { DAY_MS, scheduleRetention } from './retention-schedule.js';

const NOW = Date.parse('2026-06-30T12:00:00.000Z');

/** A logger whose lines land in `lines`, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

/** A retention port that records each purge's cutoff; `gate` holds a purge until released. */
function fakeStore(result: BodyCounts = { attempts: 3, trials: 1, jobs: 2 }) {
  const calls: Array<{ before: string; options: PurgeOptions | undefined }> = [];
  let gate: Promise<void> | undefined;
  const store = {
    retention: {
      purgeBodies: async (before: string, options?: PurgeOptions) => {
        calls.push({ before, options });
        await gate;
        return result;
      },
    },
  };
  return { store: store as never, calls, hold: (p: Promise<void>) => (gate = p) };
}

afterEach(() => vi.useRealTimers());

describe('serve purges old bodies: at start, then daily', () => {
  it('runs at start and every day after, cutting at retainDays before now, one log line with the counts each time', async () => {
    vi.useFakeTimers({ now: NOW });
    const { store, calls } = fakeStore();
    const { lines, logger } = capture();
    const s = scheduleRetention({ store, logger, retainDays: 30 });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.before)).toEqual([new Date(NOW - 30 * DAY_MS).toISOString()]);
    await vi.advanceTimersByTimeAsync(DAY_MS - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.before)).toEqual([new Date(NOW - 30 * DAY_MS).toISOString(), new Date(NOW - 29 * DAY_MS).toISOString()]);
    const purged = lines.filter((l) => l.msg === 'retention: bodies purged');
    expect(purged).toHaveLength(2);
    expect(purged[0]).toMatchObject({ level: 30, retainDays: 30, attempts: 3, trials: 1, jobs: 2, before: calls[0]!.before });
    await s.stop();
    await vi.advanceTimersByTimeAsync(3 * DAY_MS);
    expect(calls).toHaveLength(2);
  });

  it('its timer does not keep the process alive', () => {
    vi.useFakeTimers({ now: NOW });
    const unref = vi.spyOn(globalThis, 'setInterval');
    const { store } = fakeStore();
    const s = scheduleRetention({ store, logger: capture().logger, retainDays: 30 });
    const timer = unref.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    void s.stop();
  });

  it('stop() aborts a purge in progress (it ends after its batch) and waits for it', async () => {
    const { store, calls, hold } = fakeStore();
    let release!: () => void;
    hold(new Promise<void>((r) => (release = r)));
    const { lines, logger } = capture();
    const s = scheduleRetention({ store, logger, retainDays: 7 });
    await new Promise((r) => setImmediate(r));
    const signal = calls[0]!.options!.signal!;
    expect(signal.aborted).toBe(false);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    expect(signal.aborted).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(lines.at(-1)).toMatchObject({ msg: 'retention: bodies purged', stopped: 'shutdown' });
    expect(await s.run()).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('a failed purge is logged with what to do, and the next run tries again', async () => {
    vi.useFakeTimers({ now: NOW });
    let fail = true;
    const store = {
      retention: {
        purgeBodies: async () => {
          if (fail) throw Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
          return { attempts: 0, trials: 0, jobs: 0 };
        },
      },
    };
    const { lines, logger } = capture();
    const s = scheduleRetention({ store: store as never, logger, retainDays: 30 });
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.at(-1)).toMatchObject({ level: 40, msg: 'retention: purge failed; tried again at the next run', reason: 'database is locked' });
    fail = false;
    await vi.advanceTimersByTimeAsync(DAY_MS);
    expect(lines.at(-1)).toMatchObject({ msg: 'retention: bodies purged', attempts: 0 });
    await s.stop();
  });
});
