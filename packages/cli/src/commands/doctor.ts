import { type DoctorFinding, formatFinding, runDoctor } from '@tidings/core';
import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';

const HELP = `
Reads the broker's own settings and says where they break a promise Tidings makes: a confirmed
publish that a restart or eviction could lose, a delivery limit below the retry budget, readers held
back by a long transaction. It changes nothing.

Exit codes: 0 no failures (warnings are printed), 1 at least one failure (or a warning with --strict),
2 usage error.

Examples:
  $ tidings doctor --transport redis://127.0.0.1:6379?prefix=shop
  $ tidings doctor --transport postgres://127.0.0.1/shop?schema=tidings --json
  $ tidings doctor --db shop.db`;

/** Adds `tidings doctor` to `program`. @internal */
export function registerDoctorCommand(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description("check the broker's settings against the promises Tidings makes")
    .option('--json', 'print the findings as JSON')
    .option('--strict', 'exit 1 on warnings too')
    .addHelpText('after', HELP)
    .action(async (options: { json?: boolean; strict?: boolean }) => {
      const transport = await context.transport();
      let findings: readonly DoctorFinding[];
      try {
        findings = await runDoctor(transport);
      } finally {
        await transport.close();
      }
      if (options.json === true) context.print(JSON.stringify(findings, null, 2));
      else {
        const { colors } = context;
        const paint = { ok: colors.green, warn: colors.yellow, fail: colors.red } as const;
        for (const finding of findings) context.print(paint[finding.level](formatFinding(finding)));
        const count = (level: DoctorFinding['level']): number =>
          findings.filter((finding) => finding.level === level).length;
        context.print(
          `${count('fail')} failed, ${count('warn')} warnings, ${count('ok')} ok (${transport.name})`,
        );
      }
      const failing = findings.some(
        (finding) => finding.level === 'fail' || (options.strict === true && finding.level === 'warn'),
      );
      if (failing) context.exitCode = 1;
    });
}
