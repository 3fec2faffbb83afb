// Plain-text table with section rows, for the terminal and for pasting into docs/performance.md.
export type Row = string[] | { section: string };

export function formatTable(header: string[], rows: Row[]): string {
  const data = rows.filter((r): r is string[] => Array.isArray(r));
  const width = header.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  const out = [line(header), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (const r of rows)
    out.push(Array.isArray(r) ? line(r) : line([`**${r.section}**`, ...header.slice(1).map(() => '')]));
  return `${out.join('\n')}\n`;
}
