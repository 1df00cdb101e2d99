import { describe, expect, it } from 'vitest';
import { formatAge, parseSince } from './time.ts';

const NOW = Date.parse('2025-11-26T12:00:00Z');

describe('parseSince', () => {
  it('reads a duration as that long before now', () => {
    expect(parseSince('90s', NOW)).toBe(NOW - 90_000);
    expect(parseSince('15m', NOW)).toBe(NOW - 15 * 60_000);
    expect(parseSince('1h', NOW)).toBe(NOW - 3_600_000);
    expect(parseSince('1.5d', NOW)).toBe(NOW - 36 * 3_600_000);
    expect(parseSince('1w', NOW)).toBe(NOW - 7 * 86_400_000);
  });

  it('reads an ISO 8601 date or time', () => {
    expect(parseSince('2025-11-26T10:00:00Z', NOW)).toBe(Date.parse('2025-11-26T10:00:00Z'));
    expect(parseSince('2025-11-26T10:00:00+01:00', NOW)).toBe(Date.parse('2025-11-26T09:00:00Z'));
    expect(parseSince('2025-11-26', NOW)).toBe(Date.parse('2025-11-26'));
  });

  it('refuses what is neither, rather than guessing', () => {
    for (const text of ['yesterday', '1 hour', '10', 'h', '2025-13-45', 'Nov 26 2025']) {
      expect(() => parseSince(text, NOW), text).toThrow('Pass a duration back from now');
    }
  });
});

describe('formatAge', () => {
  it('prints the largest unit that fits', () => {
    expect(
      [0, 999, 42_000, 90_000, 3_599_000, 7_200_000, 47 * 3_600_000, 3 * 86_400_000].map(formatAge),
    ).toEqual(['0s', '0s', '42s', '1m', '59m', '2h', '47h', '3d']);
  });

  it('prints 0s for a time in the future (clocks of two machines disagree)', () => {
    expect(formatAge(-5000)).toBe('0s');
  });
});
