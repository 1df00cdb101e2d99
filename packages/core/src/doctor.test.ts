import { describe, expect, it } from 'vitest';
import { formatFinding, hasDoctor, runDoctor } from './doctor.ts';
import { memoryTransport } from './memory-transport.ts';
import type { Transport } from './transport.ts';

describe('doctor', () => {
  it('runs the transport checks when it has them', async () => {
    const base = memoryTransport();
    const transport: Transport & { doctor(): Promise<[]> } = Object.assign(Object.create(base) as Transport, {
      doctor: () => Promise.resolve([] as []),
    });
    expect(hasDoctor(transport)).toBe(true);
    expect(await runDoctor(transport)).toEqual([]);
    await base.close();
  });

  it('says so when a transport has no checks, and refuses what is not a transport', async () => {
    const transport = memoryTransport();
    expect(hasDoctor(transport)).toBe(false);
    expect(await runDoctor(transport)).toEqual([
      { check: 'memory.doctor', level: 'warn', message: 'the memory transport has no doctor checks' },
    ]);
    await transport.close();
    await expect(runDoctor({} as Transport)).rejects.toThrow(/runDoctor needs a transport/);
  });

  it('formats a finding as one line with the fix after an arrow, except when it is ok', () => {
    expect(
      formatFinding({
        check: 'redis.eviction',
        level: 'fail',
        message: 'policy is allkeys-lru',
        fix: 'set noeviction',
      }),
    ).toBe('FAIL redis.eviction: policy is allkeys-lru → set noeviction');
    expect(formatFinding({ check: 'redis.eviction', level: 'ok', message: 'noeviction', fix: 'x' })).toBe(
      'OK   redis.eviction: noeviction',
    );
  });
});
