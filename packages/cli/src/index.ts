/**
 * @module
 * The `tidings` command line, callable in-process: `main(argv, io)` runs a command and resolves to its
 * exit code.
 */

// Running the CLI
export { main } from './main.ts';
export type { CliIo } from './io.ts';
export { CliError } from './errors.ts';

// Configuration
export { CONFIG_FILES, loadConfig } from './config.ts';
export type { LoadConfigOptions, TidingsConfig } from './config.ts';
