/**
 * Doctor checks: an adapter inspects the broker's own settings and says where they break a promise
 * Tidings makes (durable publishes, the retry budget, readers not held back), with the fix.
 */
import { TidingsError } from './errors.ts';
import type { Transport } from './transport.ts';

/** How serious a finding is: `fail` breaks a promise, `warn` risks one, `ok` was checked and holds. */
export type DoctorLevel = 'ok' | 'warn' | 'fail';

/** One thing a doctor check found. */
export interface DoctorFinding {
  /** A short stable name of the check, such as `redis.persistence`. */
  readonly check: string;
  readonly level: DoctorLevel;
  /** What was found, with the values read from the broker. */
  readonly message: string;
  /** What to change, when the level is not `ok`. */
  readonly fix?: string | undefined;
}

/** A transport that can inspect its broker. */
export interface DoctorCapable {
  /** Reads the broker's settings and reports each check; never changes anything. */
  doctor(): Promise<readonly DoctorFinding[]>;
}

/** Whether a transport offers doctor checks. */
export function hasDoctor(transport: Transport): transport is Transport & DoctorCapable {
  return typeof (transport as Partial<DoctorCapable>).doctor === 'function';
}

/**
 * Runs the transport's doctor checks; a transport without any gets one `warn` finding saying so.
 *
 * @example
 * const findings = await runDoctor(transport);
 * for (const finding of findings) console.log(formatFinding(finding));
 */
export async function runDoctor(transport: Transport): Promise<readonly DoctorFinding[]> {
  if (transport === null || typeof transport !== 'object' || typeof transport.name !== 'string') {
    throw new TidingsError(
      'TIDINGS_INVALID_OPTIONS',
      'runDoctor needs a transport, such as the one you pass to createBus({ transport })',
    );
  }
  if (!hasDoctor(transport)) {
    return [
      {
        check: `${transport.name}.doctor`,
        level: 'warn',
        message: `the ${transport.name} transport has no doctor checks`,
      },
    ];
  }
  return transport.doctor();
}

/** One line per finding: level, check, message, and the fix after an arrow. */
export function formatFinding(finding: DoctorFinding): string {
  const fix = finding.fix === undefined || finding.level === 'ok' ? '' : ` → ${finding.fix}`;
  return `${finding.level.toUpperCase().padEnd(4)} ${finding.check}: ${finding.message}${fix}`;
}
