import assert from 'node:assert/strict';
import { toBinaryCloudEvent, toCloudEvent } from '@tidings/core';
import { catalog, OrderPlaced } from './events-define.ts';

const event = OrderPlaced.create({ orderId: 'o-2', total: 9.5, currency: 'EUR' }, { subject: 'o-2' });

// Structured mode: the whole event as one JSON document (Content-Type: application/cloudevents+json).
const structured = JSON.stringify(toCloudEvent(event));
assert.deepEqual(catalog.decode(structured), event);

// Binary mode: attributes as ce-* headers, the data as the body.
const { headers, body } = toBinaryCloudEvent(event);
assert.equal(headers['ce-dataversion'], '2');
assert.deepEqual(catalog.decode({ headers, body }), event);
