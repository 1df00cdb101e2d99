import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { catalogToAsyncApi, catalogToMarkdown } from './catalog-docs.ts';
import { createCatalog } from './catalog.ts';
import { defineEvent, upcaster } from './define-event.ts';

const OrderPlaced = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  description: 'A customer placed an order at checkout.',
  schema: z.object({ orderId: z.string(), total: z.number(), currency: z.string() }),
  upcasters: {
    1: upcaster(z.object({ orderId: z.string(), total: z.number() }), (v1) => ({ ...v1, currency: 'EUR' })),
  },
});
const PaymentFailed = defineEvent({
  type: 'billing.PaymentFailed',
  schema: z.object({ orderId: z.string(), reason: z.string() }),
});
const ShipOrder = defineEvent({ type: 'ShipOrder', schema: z.object({ orderId: z.string() }) });
// A schema library without JSON Schema export: only the Standard Schema validate function.
const Opaque = defineEvent({
  type: 'AuditRecorded',
  schema: { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } },
});

const catalog = createCatalog({
  title: 'Shop events',
  events: [OrderPlaced, PaymentFailed, ShipOrder, Opaque],
  producers: { orders: [OrderPlaced, ShipOrder], payments: [PaymentFailed], audit: [Opaque] },
  consumers: { payments: [OrderPlaced], orders: [PaymentFailed], shipping: [OrderPlaced, ShipOrder] },
});

/** Follows a local `$ref` ("#/a/b") through `doc`, and any `$ref` it lands on, as AsyncAPI tools do. */
function resolve(doc: unknown, ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    expect(node, `${ref}: no "${key}"`).toHaveProperty([key]);
    node = (node as Record<string, unknown>)[key];
  }
  const next = (node as { $ref?: unknown }).$ref;
  return typeof next === 'string' ? resolve(doc, next) : node;
}

/** Every `$ref` string anywhere in `value`. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner),
  );
}

/** The text of the Markdown section under `### heading`, up to the next heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`### ${heading}\n`);
  expect(start, `no section ${heading}`).toBeGreaterThanOrEqual(0);
  const next = markdown.indexOf('\n#', start + 4);
  return markdown.slice(start, next === -1 ? undefined : next);
}

describe('catalogToMarkdown', () => {
  const markdown = catalogToMarkdown(catalog);

  it('titles the document with the catalog title', () => {
    expect(markdown.startsWith('# Shop events\n')).toBe(true);
  });

  it('has a summary row per type with its version, producers and consumers', () => {
    expect(markdown).toContain('| Type | Version | Producers | Consumers |');
    expect(markdown).toContain('| [OrderPlaced](#orderplaced) | 2 | orders | payments, shipping |');
    expect(markdown).toContain('| [billing.PaymentFailed](#billingpaymentfailed) | 1 | payments | orders |');
    expect(markdown).toContain('| [AuditRecorded](#auditrecorded) | 1 | audit | — |');
  });

  it('describes each type with its versions, producers and consumers', () => {
    const orderPlaced = section(markdown, 'OrderPlaced');
    expect(orderPlaced).toContain('A customer placed an order at checkout.');
    expect(orderPlaced).toContain('- **Version:** 2');
    expect(orderPlaced).toContain('- **Readable versions:** 1, 2');
    expect(orderPlaced).toContain('- **Producers:** orders');
    expect(orderPlaced).toContain('- **Consumers:** payments, shipping');

    const paymentFailed = section(markdown, 'billing.PaymentFailed');
    expect(paymentFailed).toContain('- **Producers:** payments');
    expect(paymentFailed).toContain('- **Consumers:** orders');
  });

  it('includes the current JSON Schema as a fenced json block', () => {
    const orderPlaced = section(markdown, 'OrderPlaced');
    const fenced = /```json\n([\s\S]*?)\n```/.exec(orderPlaced)?.[1];
    expect(fenced).toBeDefined();
    expect(JSON.parse(fenced ?? '')).toEqual(OrderPlaced.jsonSchema());
    expect(JSON.parse(fenced ?? '')).toMatchObject({ required: ['orderId', 'total', 'currency'] });
  });

  it('says how to publish a schema when the library cannot export one', () => {
    const audit = section(markdown, 'AuditRecorded');
    expect(audit).not.toContain('```json');
    expect(audit).toContain('Pass `jsonSchema` to `defineEvent`');
  });

  it('lists the lint findings', () => {
    expect(markdown).toContain('## Lint findings');
    expect(markdown).toContain('- **past-tense** `ShipOrder`: ShipOrder reads like a command');
    expect(markdown).toContain(
      '- **no-consumer** `AuditRecorded`: AuditRecorded has no consumer in the catalog',
    );
  });

  it('says so when lint finds nothing', () => {
    const clean = createCatalog({ events: [PaymentFailed] });
    expect(catalogToMarkdown(clean)).toContain('## Lint findings\n\nNo findings.');
  });

  it('escapes pipes in table cells', () => {
    const piped = createCatalog({ events: [PaymentFailed], producers: { 'a|b': [PaymentFailed] } });
    expect(catalogToMarkdown(piped)).toContain('| a\\|b |');
  });
});

describe('catalogToAsyncApi', () => {
  const doc = catalogToAsyncApi(catalog, { version: '2.1.0' }) as {
    asyncapi: string;
    info: { title: string; version: string };
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
    operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
    components: { messages: Record<string, Record<string, unknown>> };
  };

  it('is an AsyncAPI 3.0.0 document with info', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info).toEqual({ title: 'Shop events', version: '2.1.0' });
    expect(catalogToAsyncApi(catalog, { title: 'Other' })).toMatchObject({
      info: { title: 'Other', version: '1.0.0' },
    });
  });

  it('has one channel per event type, addressed by the type', () => {
    expect(Object.keys(doc.channels)).toEqual([
      'OrderPlaced',
      'billing.PaymentFailed',
      'ShipOrder',
      'AuditRecorded',
    ]);
    expect(doc.channels['billing.PaymentFailed']?.address).toBe('billing.PaymentFailed');
  });

  it('has a send operation per producer and a receive operation per consumer', () => {
    expect(doc.operations['orders.send.OrderPlaced']).toMatchObject({
      action: 'send',
      channel: { $ref: '#/channels/OrderPlaced' },
    });
    expect(doc.operations['payments.receive.OrderPlaced']).toMatchObject({
      action: 'receive',
      channel: { $ref: '#/channels/OrderPlaced' },
    });
    expect(doc.operations['shipping.receive.OrderPlaced']?.action).toBe('receive');
    expect(doc.operations['payments.send.billing.PaymentFailed']?.action).toBe('send');
    expect(doc.operations['orders.receive.billing.PaymentFailed']?.action).toBe('receive');
    expect(Object.keys(doc.operations)).toHaveLength(8);
  });

  it('resolves every $ref to a key that exists', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(resolve(doc, ref), ref).toBeTypeOf('object');
  });

  it("lists in each operation only its channel's messages", () => {
    for (const operation of Object.values(doc.operations)) {
      for (const { $ref } of operation.messages)
        expect($ref.startsWith(`${operation.channel.$ref}/messages/`)).toBe(true);
    }
  });

  it('describes each message with the JSON Schema of the current version as payload', () => {
    const message = resolve(doc, '#/channels/OrderPlaced/messages/OrderPlaced');
    expect(message).toBe(doc.components.messages.OrderPlaced);
    expect(message).toMatchObject({
      name: 'OrderPlaced',
      title: 'OrderPlaced v2',
      summary: 'A customer placed an order at checkout.',
      payload: OrderPlaced.jsonSchema(),
      'x-tidings-versions': [1, 2],
    });
    expect(doc.components.messages.OrderPlaced?.payload).toMatchObject({
      type: 'object',
      properties: { currency: { type: 'string' } },
    });
  });

  it('leaves the payload out when no JSON Schema is available', () => {
    expect(doc.components.messages.AuditRecorded).not.toHaveProperty('payload');
    expect(doc.components.messages.AuditRecorded?.name).toBe('AuditRecorded');
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
