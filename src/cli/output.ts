/** Human-readable output of the admin CLI (--json prints the admin API's bodies instead). */

const show = (value: unknown): string => {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length ? value.map(show).join(' ') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

/** A heading, then one aligned "name  value" line per field that has a value. */
export function formatRecord(heading: string, record: object): string {
  const entries = Object.entries(record).filter(([, value]) => value !== undefined && value !== null);
  const width = Math.max(0, ...entries.map(([name]) => name.length));
  return [heading, ...entries.map(([name, value]) => `  ${name.padEnd(width)}  ${show(value)}`)].join('\n') + '\n';
}

/** Rows under a header line, columns padded to their widest value; `empty` when there are no rows. */
export function formatTable(columns: [header: string, value: (row: never) => unknown][], rows: object[], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = [columns.map(([header]) => header), ...rows.map((row) => columns.map(([, value]) => show(value(row as never))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
