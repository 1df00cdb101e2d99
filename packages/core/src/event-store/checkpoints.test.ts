import { expect, it } from 'vitest';
import { isTidingsError } from '../errors.ts';
import { checkCheckpoint, memoryCheckpoints } from './checkpoints.ts';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

it('memoryCheckpoints keeps one position per name, starting from the given ones', async () => {
  const checkpoints = memoryCheckpoints({ projector: '0000000000000007' });
  expect(await checkpoints.load('projector')).toBe('0000000000000007');
  expect(await checkpoints.load('relay')).toBeUndefined();
  await checkpoints.save('relay', '0000000000000003');
  await checkpoints.save('relay', '0000000000000009');
  expect(await checkpoints.load('relay')).toBe('0000000000000009');
  expect(await checkpoints.load('projector')).toBe('0000000000000007');
});

it('a save never moves a checkpoint back; reset does, or removes it', async () => {
  const checkpoints = memoryCheckpoints();
  await checkpoints.save('relay', '0000000000000009');
  await checkpoints.save('relay', '0000000000000004');
  await checkpoints.save('relay', '0000000000000009');
  expect(await checkpoints.load('relay')).toBe('0000000000000009');
  await checkpoints.reset('relay', '0000000000000002');
  expect(await checkpoints.load('relay')).toBe('0000000000000002');
  await checkpoints.reset('relay');
  expect(await checkpoints.load('relay')).toBeUndefined();
});

it('memoryCheckpoints rejects an empty name or position, naming the call', async () => {
  const checkpoints = memoryCheckpoints();
  const noName = await rejection(checkpoints.save('', '0000000000000001'));
  expect(isTidingsError(noName, 'TIDINGS_INVALID_OPTIONS')).toBe(true);
  expect((noName as Error).message).toMatch(/checkpoints\.save.*name must be a non-empty string/);
  const noPosition = await rejection(checkpoints.save('relay', undefined as never));
  expect((noPosition as Error).message).toMatch(/position must be a position this store's append or readAll/);
});

it('checkCheckpoint lists every problem, and lets reset go without a position', () => {
  const isPosition = (position: string) => /^\d+$/.test(position);
  expect(() => checkCheckpoint('save', 7, 'x', isPosition)).toThrow(/2 problems.*name.*position/);
  expect(() => checkCheckpoint('reset', 'relay', undefined, isPosition)).not.toThrow();
  expect(() => checkCheckpoint('reset', 'relay', 'later', isPosition)).toThrow(/got "later"/);
  expect(() => checkCheckpoint('load', 'relay', undefined, isPosition)).not.toThrow();
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
