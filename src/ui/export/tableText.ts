/**
 * A results table as a file a paper or a notebook takes: CSV (first line the experiment link, as chart CSVs),
 * Markdown (a pipe table) and LaTeX (a booktabs tabular). Cells are text as shown (percentages), "—" for none.
 */
import { csvText } from '../../core/export/chartFiles';

export type TableFormat = 'csv' | 'md' | 'tex';

export interface TextTable {
  header: string[];
  rows: string[][];
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const TEX: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};
const texCell = (s: string) =>
  s
    .replace(/[\\&%$#_{}~^]/g, (c) => TEX[c])
    .replace(/—/g, '---')
    .replace(/→/g, '$\\to$')
    .replace(/−/g, '$-$')
    .replace(/±/g, '$\\pm$');

export function tableText(t: TextTable, format: TableFormat, link: string): string {
  if (format === 'csv') return csvText({ header: t.header, rows: t.rows }, link);
  if (format === 'md') {
    const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
    return [
      `<!-- experiment: ${link} -->`,
      line(t.header),
      `|${t.header.map((_, i) => (i === 0 ? ' :--- ' : ' ---: ')).join('|')}|`,
      ...t.rows.map(line),
      '',
    ].join('\n');
  }
  const cols = `l${'r'.repeat(Math.max(0, t.header.length - 1))}`;
  const line = (cells: string[]) => `${cells.map(texCell).join(' & ')} \\\\`;
  return [
    `% experiment: ${link}`,
    `\\begin{tabular}{${cols}}`,
    '\\toprule',
    line(t.header),
    '\\midrule',
    ...t.rows.map(line),
    '\\bottomrule',
    '\\end{tabular}',
    '',
  ].join('\n');
}

/** The text of a rendered <table>: one header row (group titles joined to the column titles below them) and its body rows. */
export function tableOfElement(table: HTMLTableElement): TextTable {
  const text = (c: Element) => (c as HTMLElement).innerText.replace(/\s+/g, ' ').trim();
  const head = [...table.tHead!.rows];
  // Expand colspans of the first header row, then join with the second row's titles under each group.
  const top: string[] = [];
  for (const c of head[0].cells) for (let i = 0; i < c.colSpan; i++) top.push(c.rowSpan > 1 ? `\u0000${text(c)}` : text(c));
  const sub = head[1] ? [...head[1].cells].map(text) : [];
  let k = 0;
  const header = top.map((t) => (t.startsWith('\u0000') ? t.slice(1) : `${t} ${sub[k++] ?? ''}`.trim()));
  const rows = [...table.tBodies[0].rows].map((r) => [...r.cells].map(text));
  return { header, rows };
}
