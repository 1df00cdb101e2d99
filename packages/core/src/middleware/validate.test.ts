import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCatalog } from '../catalog.ts';
import { defineEvent, upcaster } from '../define-event.ts';
import { isTidingsError, type TidingsErrorCode } from '../errors.ts';
import type { Event } from '../envelope.ts';
import { fromTransportMessage, toTransportMessage } from '../message.ts';
import type { TransportMessage } from '../transport.ts';
import { contextFor } from './test-context.ts';
import type { MiddlewareContext, Outcome } from './types.ts';
import { decodeMessage, validate } from './validate.ts';

const OrderPlacedV1 = z.object({ orderId: z.string(), amount: z.number() });
const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  schema: z.object({ orderId: z.string(), total: z.number(), currency: z.string() }),
  upcasters: {
    1: upcaster(OrderPlacedV1, ({ orderId, amount }) => ({ orderId, total: amount, currency: 'EUR' })),
  },
});
// What an older producer still publishes, and what producers this consumer does not know publish.
const OldOrderPlaced = defineEvent({ type: 'OrderPlaced', version: 1, schema: OrderPlacedV1 });
const FutureOrderPlaced = defineEvent({ type: 'OrderPlaced', version: 3, schema: z.object({}).loose() });
const SloppyOrderPlaced = defineEvent({ type: 'OrderPlaced', version: 2, schema: z.object({}).loose() });
const Unlisted = defineEvent({ type: 'UnlistedHappened', schema: z.object({}) });

const catalog = createCatalog({ events: [OrderPlaced] });

interface Run {
  readonly ctx: MiddlewareContext;
  readonly calls: number;
}

async function runValidate(ctx: MiddlewareContext): Promise<Run> {
  let calls = 0;
  await validate(catalog)(ctx, () => {
    calls += 1;
    return Promise.resolve();
  });
  return { ctx, calls };
}

function expectInvalid(outcome: Outcome | undefined, code: TidingsErrorCode): void {
  expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'invalid' });
  const error = outcome?.kind === 'dead-letter' ? outcome.error : undefined;
  expect(isTidingsError(error, code), `expected a ${code} error, got ${String(error)}`).toBe(true);
}

const placed = () =>
  OrderPlaced.create({ orderId: 'o-1', total: 42, currency: 'USD' }, { subject: 'o-1', source: 'urn:shop' });

const withHeaders = (message: TransportMessage, change: (headers: Record<string, string>) => void) => {
  const headers = { ...message.headers };
  change(headers);
  return { ...message, headers };
};

describe('validate', () => {
  it('decodes a valid message into ctx.event and calls next once', async () => {
    const event = placed();
    const { ctx, calls } = await runValidate(contextFor(event).ctx);
    expect(calls).toBe(1);
    expect(ctx.outcome).toBeUndefined();
    expect(ctx.event).toEqual(event);
    expect(Object.isFrozen(ctx.event)).toBe(true);
  });

  it('upcasts a version 1 message to the latest version before next sees it', async () => {
    const old = OldOrderPlaced.create({ orderId: 'o-7', amount: 12 }, { subject: 'o-7' });
    let seen: unknown;
    const { ctx } = contextFor(old);
    await validate(catalog)(ctx, () => {
      seen = ctx.event;
      return Promise.resolve();
    });
    expect(seen).toMatchObject({
      id: old.id,
      type: 'OrderPlaced',
      version: 2,
      subject: 'o-7',
      correlationId: old.correlationId,
      data: { orderId: 'o-7', total: 12, currency: 'EUR' },
    });
  });

  it('dead-letters a message whose headers are not an event as invalid (TIDINGS_MALFORMED), without calling next', async () => {
    const message = withHeaders(toTransportMessage(placed()), (headers) => {
      delete headers['ce-id'];
    });
    const { ctx, calls } = await runValidate(contextFor(placed(), { message }).ctx);
    expect(calls).toBe(0);
    expect(ctx.event).toBeUndefined();
    expectInvalid(ctx.outcome, 'TIDINGS_MALFORMED');
  });

  it('dead-letters a message with a wrong specversion header as malformed', async () => {
    const message = withHeaders(toTransportMessage(placed()), (headers) => {
      headers['ce-specversion'] = '0.3';
    });
    const { ctx, calls } = await runValidate(contextFor(placed(), { message }).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_MALFORMED');
  });

  it('dead-letters a message whose body is not JSON as malformed', async () => {
    const message = { ...toTransportMessage(placed()), body: new TextEncoder().encode('{"orderId":') };
    const { ctx, calls } = await runValidate(contextFor(placed(), { message }).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_MALFORMED');
  });

  it('dead-letters an event type the catalog does not know as TIDINGS_UNKNOWN_TYPE', async () => {
    const { ctx, calls } = await runValidate(contextFor(Unlisted.create({})).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_UNKNOWN_TYPE');
  });

  it('dead-letters data that fails the schema as TIDINGS_SCHEMA_INVALID, naming the field', async () => {
    const bad = SloppyOrderPlaced.create({ orderId: 'o-1', total: 'lots', currency: 'EUR' });
    const { ctx, calls } = await runValidate(contextFor(bad).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_SCHEMA_INVALID');
    expect(ctx.outcome).toMatchObject({ error: { issues: [{ path: 'total' }] } });
  });

  it('dead-letters version 1 data that fails the version 1 schema before upcasting it', async () => {
    const bad = FutureOrderPlaced.create({ orderId: 'o-1' });
    const message = withHeaders(toTransportMessage(bad), (headers) => {
      headers['ce-dataversion'] = '1';
    });
    const { ctx, calls } = await runValidate(contextFor(bad, { message }).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_SCHEMA_INVALID');
    expect(ctx.outcome).toMatchObject({ error: { eventVersion: 1 } });
  });

  it('dead-letters a version newer than the catalog knows as TIDINGS_VERSION_UNSUPPORTED', async () => {
    const { ctx, calls } = await runValidate(contextFor(FutureOrderPlaced.create({ orderId: 'o-1' })).ctx);
    expect(calls).toBe(0);
    expectInvalid(ctx.outcome, 'TIDINGS_VERSION_UNSUPPORTED');
  });

  it('leaves an event already set on the context alone and calls next', async () => {
    const event = placed();
    // The message says something else entirely: it is not read again.
    const message = { ...toTransportMessage(event), body: new TextEncoder().encode('not json') };
    const { ctx } = contextFor(event, { decoded: true, message });
    const { calls } = await runValidate(ctx);
    expect(calls).toBe(1);
    expect(ctx.event).toBe(event);
    expect(ctx.outcome).toBeUndefined();
  });

  it('lets an error from next through untouched', async () => {
    const { ctx } = contextFor(placed());
    const failure = new Error('handler failed');
    await expect(validate(catalog)(ctx, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(ctx.outcome).toBeUndefined();
  });

  it('dead-letters as invalid an event whose upcaster throws: decoding it again cannot succeed', async () => {
    const Broken = defineEvent({
      type: 'OrderPlaced',
      version: 2,
      schema: z.object({}).loose(),
      upcasters: {
        1: upcaster(z.object({}).loose(), () => {
          throw new TypeError('upcaster bug');
        }),
      },
    });
    let calls = 0;
    const { ctx } = contextFor(OldOrderPlaced.create({ orderId: 'o-1', amount: 1 }));
    await validate(createCatalog({ events: [Broken] }))(ctx, () => {
      calls += 1;
      return Promise.resolve();
    });
    expect(calls).toBe(0);
    expect(ctx.outcome).toMatchObject({
      kind: 'dead-letter',
      reason: 'invalid',
      error: { message: 'upcaster bug' },
    });
  });
});

describe('decodeMessage (the one-pass decode of the bus)', () => {
  const decodeBoth = (message: TransportMessage) => {
    const outcome = (run: () => unknown) => {
      try {
        return { event: run() };
      } catch (error) {
        return { error: { name: (error as Error).name, message: (error as Error).message } };
      }
    };
    return [
      outcome(() => decodeMessage(catalog, message)),
      outcome(() => catalog.upgrade(fromTransportMessage(message))),
    ] as const;
  };

  it.each<[string, TransportMessage]>([
    ['a current event', toTransportMessage(placed())],
    ['a version 1 event, upcast', toTransportMessage(OldOrderPlaced.create({ orderId: 'o-1', amount: 3 }))],
    [
      'an event with extensions and a unicode subject',
      toTransportMessage(
        OrderPlaced.create(
          { orderId: 'o-1', total: 1, currency: 'EUR' },
          { subject: 'ö 1', causationId: 'c-1', extensions: { traceparent: '00-ab-cd-01' } },
        ),
      ),
    ],
    [
      'headers in mixed case',
      {
        ...toTransportMessage(placed()),
        headers: Object.fromEntries(
          Object.entries(toTransportMessage(placed()).headers).map(([name, value]) => [
            name.toUpperCase(),
            value,
          ]),
        ),
      },
    ],
    ['an unknown type', toTransportMessage(Unlisted.create({}))],
    ['data failing the schema', toTransportMessage(SloppyOrderPlaced.create({ orderId: 'o-1' }))],
    ['a newer version', toTransportMessage(FutureOrderPlaced.create({}))],
    [
      'a missing id',
      withHeaders(toTransportMessage(placed()), (headers) => {
        delete headers['ce-id'];
      }),
    ],
  ])('reads %s as catalog.upgrade(fromTransportMessage()) does', (_name, message) => {
    const [fused, reference] = decodeBoth(message);
    expect(fused).toEqual(reference);
  });

  it('returns a deeply frozen event, data included', () => {
    const event = decodeMessage(
      catalog,
      toTransportMessage(OldOrderPlaced.create({ orderId: 'o-1', amount: 3 })),
    );
    expect(Object.isFrozen(event)).toBe(true);
    expect(Object.isFrozen(event.data)).toBe(true);
  });

  it('lets a catalog not made by createCatalog upgrade a frozen event itself', () => {
    const seen: unknown[] = [];
    const custom = {
      ...catalog,
      upgrade: (event: Event) => {
        seen.push(Object.isFrozen(event));
        return catalog.upgrade(event);
      },
    };
    const event = decodeMessage(custom, toTransportMessage(placed()));
    expect(seen).toEqual([true]);
    expect(event.type).toBe('OrderPlaced');
  });
});
