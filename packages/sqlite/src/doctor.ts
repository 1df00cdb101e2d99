import { readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type Database from 'better-sqlite3';
import type { DeadLetterStorage, DoctorFinding } from '@tidings/core';

/** The pragmas and the place of the file the doctor judges. @internal */
export interface SqliteFacts {
  /** `PRAGMA journal_mode`, lower case (`wal`, `delete`, `memory`, …). */
  readonly journalMode: string;
  /** `PRAGMA synchronous`: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  readonly synchronous: number;
  /** `PRAGMA busy_timeout`, in ms. */
  readonly busyTimeoutMs: number;
  /** The database file, or `''` / `':memory:'` for a private in-memory one. */
  readonly file: string;
  /** The file system type the file lives on (Linux only), when it could be found. */
  readonly fileSystem: string | undefined;
}

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

const inMemory = (file: string): boolean => file === '' || file === ':memory:';

/**
 * The file system type holding `file`, from /proc/mounts (the longest mount point that contains it);
 * undefined off Linux or when it cannot be read. @internal
 */
export function fileSystemOf(file: string, mounts?: string): string | undefined {
  let table = mounts;
  let path: string;
  try {
    table ??= readFileSync('/proc/mounts', 'utf8');
    // The file may not exist yet; its directory does.
    path = realpathSync(dirname(resolve(file)));
  } catch {
    return undefined;
  }
  let best: { point: string; type: string } | undefined;
  for (const line of table.split('\n')) {
    const [, rawPoint, type] = line.split(' ');
    if (rawPoint === undefined || type === undefined) continue;
    // Spaces and other specials are octal-escaped in /proc/mounts.
    const point = rawPoint.replace(/\\([0-7]{3})/g, (_, octal: string) =>
      String.fromCharCode(Number.parseInt(octal, 8)),
    );
    const inside =
      point === '/' || path === point || path.startsWith(point.endsWith(sep) ? point : point + sep);
    if (inside && (best === undefined || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/** Reads what the doctor judges from an open database. @internal */
export function readFacts(db: Database.Database): SqliteFacts {
  const file = db.memory ? ':memory:' : db.name;
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
    busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
    file,
    fileSystem: inMemory(file) ? undefined : fileSystemOf(file),
  };
}

function journal(facts: SqliteFacts): DoctorFinding {
  if (inMemory(facts.file)) {
    return {
      check: 'sqlite.journal_mode',
      level: 'warn',
      message: 'the database is in memory: every message is gone when the process ends (fine for tests)',
      fix: "pass sqliteTransport({ file: 'app.db' }) to keep messages across restarts",
    };
  }
  return facts.journalMode === 'wal'
    ? {
        check: 'sqlite.journal_mode',
        level: 'ok',
        message:
          'journal_mode is WAL: readers never block the writer, and other processes can share the file',
      }
    : {
        check: 'sqlite.journal_mode',
        level: 'warn',
        message:
          `journal_mode is ${facts.journalMode.toUpperCase()}, not WAL: every claim and ack locks the whole file ` +
          'against readers, so consumers in other processes stall and writes fail with SQLITE_BUSY under load',
        fix: "db.pragma('journal_mode = WAL') once on the file (it is stored in it), or let sqliteTransport open the file",
      };
}

function synchronous(facts: SqliteFacts): DoctorFinding {
  const name = SYNCHRONOUS[facts.synchronous] ?? String(facts.synchronous);
  const fix =
    "sqliteTransport({ file, synchronous: 'FULL' }) (or 'NORMAL' with WAL), or db.pragma('synchronous = FULL')";
  if (facts.synchronous === 0) {
    return {
      check: 'sqlite.synchronous',
      level: 'fail',
      message:
        'synchronous is OFF: SQLite never waits for the disk, so a power loss or OS crash can lose confirmed ' +
        'publishes and corrupt the file',
      fix,
    };
  }
  if (facts.synchronous === 1 && facts.journalMode !== 'wal' && !inMemory(facts.file)) {
    return {
      check: 'sqlite.synchronous',
      level: 'warn',
      message:
        'synchronous is NORMAL without WAL: a power loss at the wrong moment can corrupt the file (NORMAL is only ' +
        'safe with WAL)',
      fix,
    };
  }
  if (facts.synchronous === 1) {
    return {
      check: 'sqlite.synchronous',
      level: 'ok',
      message:
        'synchronous is NORMAL with WAL: a crash of the process loses nothing; a power loss or OS crash can roll ' +
        "back the last transactions (publishes confirmed just before it), never corrupt the file. Use 'FULL' if " +
        'those must survive too',
    };
  }
  return {
    check: 'sqlite.synchronous',
    level: 'ok',
    message: `synchronous is ${name}: every commit is on disk before a publish resolves`,
  };
}

function busyTimeout(facts: SqliteFacts): DoctorFinding {
  return facts.busyTimeoutMs > 0
    ? {
        check: 'sqlite.busy_timeout',
        level: 'ok',
        message: `busy_timeout is ${facts.busyTimeoutMs} ms: a write waits that long for another process's write`,
      }
    : {
        check: 'sqlite.busy_timeout',
        level: 'warn',
        message:
          'busy_timeout is 0: while another connection or process writes, a publish or ack fails at once with ' +
          'SQLITE_BUSY instead of waiting its turn',
        fix: "sqliteTransport({ file, busyTimeoutMs: 5000 }), or db.pragma('busy_timeout = 5000')",
      };
}

function place(facts: SqliteFacts): DoctorFinding | undefined {
  if (facts.fileSystem === undefined) return undefined;
  return facts.fileSystem === 'tmpfs' || facts.fileSystem === 'ramfs'
    ? {
        check: 'sqlite.file_system',
        level: 'warn',
        message: `${facts.file} is on ${facts.fileSystem}: it lives in memory and is gone after a reboot`,
        fix: 'put the database file on a disk (not /tmp or /dev/shm on systems that mount them as tmpfs)',
      }
    : { check: 'sqlite.file_system', level: 'ok', message: `${facts.file} is on ${facts.fileSystem}` };
}

/** What the pragmas and the file's place mean for the promises of the transport. @internal */
export function factFindings(facts: SqliteFacts): DoctorFinding[] {
  const found = [journal(facts), synchronous(facts), busyTimeout(facts)];
  const where = place(facts);
  return where === undefined ? found : [...found, where];
}

/**
 * The sqlite doctor: journal mode, synchronous, busy timeout, where the file lives, and the dead letters
 * waiting. It only reads. @internal
 */
export async function sqliteDoctor(
  db: Database.Database,
  deadLetters: DeadLetterStorage,
): Promise<readonly DoctorFinding[]> {
  const findings = factFindings(readFacts(db));
  const depth = await deadLetters.depth();
  findings.push({
    check: 'sqlite.dead_letters',
    level: 'ok',
    message:
      depth.length === 0
        ? 'no dead letters'
        : `dead letters waiting for an operator: ${depth
            .map(
              (group) => `${group.group} ${group.count} (oldest ${new Date(group.oldestAt).toISOString()})`,
            )
            .join(', ')}`,
  });
  return findings;
}
