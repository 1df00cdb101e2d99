import { invalidOptions } from '../errors.ts';
import type { SuiteRunner } from './transport-suite.ts';

/** What every conformance suite's options share. */
interface CommonSuiteOptions {
  readonly name?: unknown;
  readonly create?: unknown;
  readonly clock?: unknown;
  readonly skip?: readonly { readonly test?: unknown; readonly reason?: unknown }[] | undefined;
}

/**
 * Checks a suite's runner and the options every suite shares (name, create, clock, skips naming real
 * cases, each with a reason), and throws one `invalidOptions` listing every problem.
 */
export function checkSuiteOptions(
  where: string,
  runner: SuiteRunner,
  options: CommonSuiteOptions,
  caseNames: readonly string[],
  creates: string,
): void {
  const problems: string[] = [];
  if (typeof runner?.describe !== 'function' || typeof runner.test !== 'function') {
    problems.push('runner must be { describe, test } from your test framework');
  }
  if (typeof options?.name !== 'string' || options.name === '')
    problems.push('name must be a non-empty string');
  if (typeof options?.create !== 'function') problems.push(`create must be a function returning ${creates}`);
  if (options?.clock !== undefined && options.clock !== 'manual' && options.clock !== 'system') {
    problems.push(
      `clock must be 'manual' or 'system' (got ${JSON.stringify(options.clock) ?? typeof options.clock})`,
    );
  }
  const names = new Set(caseNames);
  for (const skip of options?.skip ?? []) {
    if (typeof skip?.test !== 'string' || !names.has(skip.test))
      problems.push(`skip names "${String(skip?.test)}", which is not a case of this suite`);
    if (typeof skip?.reason !== 'string' || skip.reason === '') {
      problems.push(`skip of "${String(skip?.test)}" needs a reason`);
    }
  }
  if (problems.length > 0) throw invalidOptions(where, problems);
}

/**
 * Registers one test per case; a case with a reason to skip is registered as skipped, the reason in its
 * name (as a passing empty test where the framework has no `test.skip`).
 */
export function registerCases<C extends { readonly name: string }>(
  runner: SuiteRunner,
  cases: readonly C[],
  skipReason: (suiteCase: C) => string | undefined,
  run: (suiteCase: C) => Promise<void>,
): void {
  for (const suiteCase of cases) {
    const reason = skipReason(suiteCase);
    if (reason === undefined) {
      runner.test(suiteCase.name, () => run(suiteCase));
      continue;
    }
    const name = `${suiteCase.name} (skipped: ${reason})`;
    if (runner.test.skip === undefined) runner.test(name, () => Promise.resolve());
    else runner.test.skip(name, () => {});
  }
}
