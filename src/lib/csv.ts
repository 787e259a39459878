/**
 * CSV as RFC 4180 writes it (CRLF rows; a cell with a comma, quote, CR or LF quoted, quotes
 * doubled), made safe to open in a spreadsheet: a text cell that starts like a formula
 * (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`, so `=HYPERLINK(...)` typed into a display
 * name by someone is shown, not evaluated. Pure.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(cells: readonly (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
