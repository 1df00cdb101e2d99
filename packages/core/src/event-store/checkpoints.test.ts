import { expect, it } from 'vitest';
import { isTidingsError } from '../errors.ts';
import { memoryCheckpoints } from './checkpoints.ts';

it('memoryCheckpoints keeps one position per name, starting from the given ones', async () => {
  const checkpoints = memoryCheckpoints({ projector: '0000000000000007' });
  expect(await checkpoints.load('projector')).toBe('0000000000000007');
  expect(await checkpoints.load('relay')).toBeUndefined();
  await checkpoints.save('relay', '0000000000000003');
  await checkpoints.save('relay', '0000000000000009');
  expect(await checkpoints.load('relay')).toBe('0000000000000009');
  expect(await checkpoints.load('projector')).toBe('0000000000000007');
});

it('memoryCheckpoints rejects initial positions that are not an object', () => {
  let error: unknown;
  try {
    memoryCheckpoints(null as never);
  } catch (caught) {
    error = caught;
  }
  expect(isTidingsError(error, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
});
