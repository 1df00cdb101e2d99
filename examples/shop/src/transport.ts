import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryTransport, type Transport } from '@tidings/core';
import { sqliteTransport } from '@tidings/sqlite';

/** The transport the shop runs on, chosen by TIDINGS_TRANSPORT (default: sqlite, embedded). */
export function shopTransport(kind = process.env.TIDINGS_TRANSPORT ?? 'sqlite'): {
  transport: Transport;
  where: string;
  cleanUp: () => void;
} {
  switch (kind) {
    case 'sqlite': {
      const file = process.env.TIDINGS_DB ?? join(tmpdir(), `tidings-shop-${process.pid}.db`);
      const keep = process.env.TIDINGS_DB !== undefined;
      return {
        transport: sqliteTransport({ file }),
        where: file,
        cleanUp: () => {
          if (!keep) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
        },
      };
    }
    case 'memory':
      return { transport: memoryTransport(), where: 'this process', cleanUp: () => undefined };
    default:
      throw new Error(`TIDINGS_TRANSPORT=${kind} is not known here; use sqlite or memory`);
  }
}
