import { describe, expect, it } from 'vitest';
import { isTidingsError } from '../errors.ts';
import { createManualClock } from './manual-clock.ts';

describe('createManualClock', () => {
  it('starts at 2026-01-01T00:00:00Z, or at the time given, and stands still', async () => {
    expect(createManualClock().now()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    const clock = createManualClock(1_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.now()).toBe(1_000);
  });

  it('wakes a sleeper only once time reaches its deadline', async () => {
    const clock = createManualClock(0);
    let woke = false;
    void clock.sleep(100).then(() => {
      woke = true;
    });
    await clock.advance(99);
    expect(woke).toBe(false);
    expect(clock.pending).toBe(1);
    await clock.advance(1);
    expect(woke).toBe(true);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(100);
  });

  it('wakes sleepers in deadline order, ties in the order they slept, each at its own time', async () => {
    const clock = createManualClock(0);
    const woken: string[] = [];
    for (const [name, ms] of [
      ['c', 30],
      ['a', 10],
      ['b1', 20],
      ['b2', 20],
    ] as const) {
      void clock.sleep(ms).then(() => woken.push(`${name}@${clock.now()}`));
    }
    await clock.advance(50);
    expect(woken).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.now()).toBe(50);
  });

  it('fires timers set by woken code when they fall inside the same advance', async () => {
    const clock = createManualClock(0);
    const ticks: number[] = [];
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 5; i += 1) {
        await clock.sleep(10);
        // A hop through the macrotask queue between timers, as real code often has.
        await new Promise((resolve) => setImmediate(resolve));
        ticks.push(clock.now());
      }
    };
    void loop();
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    await clock.advance(100);
    expect(ticks).toEqual([10, 20, 30, 40, 50]);
  });

  it('resolves sleep(0) at once, without an advance', async () => {
    const clock = createManualClock(0);
    await expect(clock.sleep(0)).resolves.toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it("rejects a sleeper with its signal's reason when aborted, and forgets it", async () => {
    const clock = createManualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(100, controller.signal);
    expect(clock.pending).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
    await expect(clock.sleep(100, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });

  it('runs every timer, chained ones too, with runAll', async () => {
    const clock = createManualClock(0);
    const ticks: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i += 1) {
        await clock.sleep(1_000);
        ticks.push(clock.now());
      }
    })();
    await clock.runAll();
    expect(ticks).toEqual([1_000, 2_000, 3_000]);
    expect(clock.pending).toBe(0);
  });

  it('stops runAll on a timer that reschedules itself forever', async () => {
    const clock = createManualClock(0);
    const controller = new AbortController();
    void (async () => {
      for (;;) await clock.sleep(1, controller.signal);
    })().catch(() => undefined);
    const error: unknown = await clock.runAll({ limit: 50 }).catch((e: unknown) => e);
    expect(isTidingsError(error, 'TIDINGS_TIMEOUT')).toBe(true);
    controller.abort();
  });

  it('runs concurrent advances one after the other', async () => {
    const clock = createManualClock(0);
    await Promise.all([clock.advance(10), clock.advance(10)]);
    expect(clock.now()).toBe(20);
  });

  it('refuses to move backwards or by nothing measurable', async () => {
    const clock = createManualClock(0);
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error: unknown = await clock.advance(ms).catch((e: unknown) => e);
      expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
    }
    expect(clock.now()).toBe(0);
  });
});
