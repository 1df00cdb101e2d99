import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compose } from './compose.ts';
import { defineEvent } from './define-event.ts';
import { contextFor } from './middleware/test-context.ts';
import type { Middleware, MiddlewareContext } from './middleware/types.ts';

const Pinged = defineEvent({ type: 'Pinged', schema: z.object({ n: z.number() }) });

const recording = (log: string[], name: string): Middleware =>
  async function recorded(_ctx, next) {
    log.push(`${name} before`);
    await next();
    log.push(`${name} after`);
  };

describe('compose', () => {
  it('runs each middleware around the ones after it and the handler in the middle', async () => {
    const log: string[] = [];
    const run = compose([recording(log, 'a'), recording(log, 'b'), recording(log, 'c')], () => {
      log.push('handler');
      return Promise.resolve();
    });
    await run(contextFor(Pinged.create({ n: 1 })).ctx);
    expect(log).toEqual(['a before', 'b before', 'c before', 'handler', 'c after', 'b after', 'a after']);
  });

  it('calls the handler directly when there is no middleware', async () => {
    const { ctx } = contextFor(Pinged.create({ n: 1 }));
    const seen: MiddlewareContext[] = [];
    await compose([], (c) => {
      seen.push(c);
      return Promise.resolve();
    })(ctx);
    expect(seen).toEqual([ctx]);
  });

  it('hands every middleware and the handler the same context, so changes made outside are seen inside', async () => {
    const { ctx } = contextFor(Pinged.create({ n: 1 }));
    const seen: MiddlewareContext[] = [];
    const setsTries: Middleware = (c, next) => {
      seen.push(c);
      c.tries = 7;
      return next();
    };
    await compose([setsTries], (c) => {
      seen.push(c);
      expect(c.tries).toBe(7);
      return Promise.resolve();
    })(ctx);
    expect(seen).toEqual([ctx, ctx]);
  });

  it('stops the chain at a middleware that does not call next', async () => {
    const log: string[] = [];
    const stops: Middleware = (ctx) => {
      log.push('stops');
      ctx.outcome = { kind: 'duplicate' };
      return Promise.resolve();
    };
    const { ctx } = contextFor(Pinged.create({ n: 1 }));
    await compose([recording(log, 'a'), stops, recording(log, 'c')], () => {
      log.push('handler');
      return Promise.resolve();
    })(ctx);
    expect(log).toEqual(['a before', 'stops', 'a after']);
    expect(ctx.outcome).toEqual({ kind: 'duplicate' });
  });

  it('runs the inner middleware and the handler again each time a middleware calls next again', async () => {
    const log: string[] = [];
    const twice: Middleware = async (_ctx, next) => {
      await next();
      await next();
    };
    await compose([recording(log, 'a'), twice, recording(log, 'c')], () => {
      log.push('handler');
      return Promise.resolve();
    })(contextFor(Pinged.create({ n: 1 })).ctx);
    expect(log).toEqual([
      'a before',
      'c before',
      'handler',
      'c after',
      'c before',
      'handler',
      'c after',
      'a after',
    ]);
  });

  it('rejects with the handler error after passing it out through every middleware', async () => {
    const log: string[] = [];
    const observing: Middleware = async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        log.push(`saw ${(error as Error).message}`);
        throw error;
      }
    };
    const run = compose([observing, recording(log, 'b')], () => Promise.reject(new Error('boom')));
    await expect(run(contextFor(Pinged.create({ n: 1 })).ctx)).rejects.toThrow('boom');
    expect(log).toEqual(['b before', 'saw boom']);
  });

  it('lets a middleware catch an inner failure so that the run resolves', async () => {
    const swallow: Middleware = async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.outcome = { kind: 'dead-letter', reason: 'exhausted', error };
      }
    };
    const { ctx } = contextFor(Pinged.create({ n: 1 }));
    const failure = new Error('boom');
    await compose([swallow], () => Promise.reject(failure))(ctx);
    expect(ctx.outcome).toEqual({ kind: 'dead-letter', reason: 'exhausted', error: failure });
  });

  it('can run the same composed pipeline for several contexts, each on its own', async () => {
    const groups: string[] = [];
    const run = compose([recording([], 'a')], (ctx) => {
      groups.push(ctx.group);
      return Promise.resolve();
    });
    await Promise.all([
      run(contextFor(Pinged.create({ n: 1 }), { group: 'one' }).ctx),
      run(contextFor(Pinged.create({ n: 2 }), { group: 'two' }).ctx),
    ]);
    expect(groups.sort()).toEqual(['one', 'two']);
  });
});
