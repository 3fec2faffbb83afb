// Exit codes and the one error type every vmon command throws for an expected failure.

/** vmon's exit codes (documented in docs/cli.md and in `vmon --help`). */
export const EXIT = {
  ok: 0,
  /** The command ran and failed: an AWS call failed, events could not be delivered. */
  failure: 1,
  /** Bad usage or bad input: unknown command (also with --help) or option, missing file, a bad line, an invalid policy. */
  usage: 2,
  /** The target cannot be reached: no local stack running, no credentials, stack not found. */
  unreachable: 3,
  /** The thing asked for does not exist: no state for that camera, no such message or policy. */
  notFound: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
