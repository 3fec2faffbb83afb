// Where a command writes: injected so tests run commands in process and read what they printed.
import { SingleBar } from 'cli-progress';
import { escapeForDisplay } from '../core/display-text.js';

export interface Output {
  write(text: string): unknown;
}

export interface CliIO {
  stdout: Output;
  stderr: Output & { isTTY?: boolean };
}

export const processIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr });

/** Writes a line for a person: whatever it quotes (ids, reasons, bodies) cannot hide or reorder text. */
export const println = (out: Output, text = '') => out.write(`${escapeForDisplay(text, { keepLineBreaks: true })}\n`);

/** A progress bar on stderr when it is a terminal and the output is not JSON; otherwise nothing. */
export interface Progress {
  update(value: number): void;
  setTotal(total: number): void;
  stop(): void;
}

export function progressBar(io: CliIO, enabled: boolean, label: string, total: number, unit: string): Progress {
  if (!enabled || !io.stderr.isTTY) return { update() {}, setTotal() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
    stream: io.stderr as NodeJS.WritableStream,
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0);
  return { update: (v) => bar.update(v), setTotal: (t) => bar.setTotal(t), stop: () => bar.stop() };
}
