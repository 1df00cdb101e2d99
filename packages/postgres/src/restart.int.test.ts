import { afterAll, expect, test } from 'vitest';
import { eventually, runOutageCase } from '@tidings/core/testing';
import type { PostgresErrorContext } from './options.ts';
import { postgresTransport } from './transport.ts';
import { skipPrivateCluster, startPrivateCluster } from './test-support/cluster.ts';

// A server of our own, stopped (`pg_ctl stop -m fast`) and started again in the middle of the outage
// case: the shared server on 5432 serves other test files and is never stopped.
const made = await startPrivateCluster();
if (!made.ok) skipPrivateCluster('restart.int.test.ts', made.reason);

if (made.ok) {
  const { cluster } = made;
  afterAll(() => cluster.remove());

  test('survives a server restart: publishes fail fast while it is down, then everything confirmed is delivered', async () => {
    const errors: PostgresErrorContext['where'][] = [];
    const report = await runOutageCase({
      transport: postgresTransport({
        connectionString: cluster.connectionString,
        schema: 'restart',
        pollIntervalMs: 50,
        onError: (_error, context) => errors.push(context.where),
      }),
      interrupt: () => cluster.stop(),
      // Started again only once the consumer side has felt the stop: its claims and LISTEN failed.
      resume: async () => {
        await eventually(() => errors.includes('claim') && errors.includes('listen'), {
          timeoutMs: 10_000,
          what: () =>
            `the consumer loop and LISTEN to report the stop (saw ${[...new Set(errors)].join(', ')})`,
        });
        await cluster.start();
      },
      log: (line) => console.info(`[restart] ${line}`),
    });
    expect(report.failedPublishes).toBeGreaterThanOrEqual(3);
    console.info(
      `[restart] slowest failing publish ${report.slowestFailureMs} ms; publishing back ${report.recoveredAfterMs} ms after the start`,
    );
  }, 90_000);
} else {
  test.skip('survives a server restart (no private cluster here, see the warning above)', () => {});
}
