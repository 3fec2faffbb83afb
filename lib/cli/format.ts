// Plain-text output helpers shared by the commands: aligned tables and compact numbers.
import { escapeForDisplay } from '../core/display-text.js';

/**
 * Columns padded to their widest cell, two spaces apart; the last column is not padded. Cells are
 * escaped for display, so an invisible character or a line break in an id cannot shift a column.
 */
export function table(columns: string[], rows: (string | number)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => escapeForDisplay(String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A number for people: up to 4 significant decimals, no trailing zeros. */
export function num(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

export const iso = (ms: number) => new Date(ms).toISOString();

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
