// Where the read-only commands (backtest, tune) write their HTML report, if anywhere.
import { basename, extname, resolve } from 'node:path';

/** Where `vmon backtest|tune --report` write when given no path, relative to the working directory. */
export const DEFAULT_REPORT_DIR = 'reports';

/**
 * An HTML report's path: none unless --report was given; --report alone picks
 * reports/<command>-<input file name>.html. A read-only command never writes into the cwd unasked.
 */
export function reportPath(command: string, inputFile: string, report: string | boolean | undefined): string | null {
  if (report === undefined || report === false) return null;
  if (report === true) return resolve(DEFAULT_REPORT_DIR, `${command}-${basename(inputFile, extname(inputFile))}.html`);
  return resolve(report);
}
