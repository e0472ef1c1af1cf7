/** The Collect form's dataset lines, `[LABEL=]SOURCE[:BUDGET]` as on the collector's command line. */
export interface DatasetEntry {
  source: string;
  budget?: string;
  label?: string;
}

const LINE = /^(?:([A-Za-z0-9][A-Za-z0-9._-]{0,63})=)?(.+?)(?::(\d+(?:\.\d+)?[kKmMgG]?))?$/;

/** One entry per non-empty line, or the first bad line's error ("line 2: …"). */
export function parseDatasetLines(text: string): { ok: true; entries: DatasetEntry[] } | { ok: false; message: string } {
  const entries: DatasetEntry[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m || !m[2].trim() || m[2].endsWith('=')) return { ok: false, message: `line ${i + 1}: expected [LABEL=]SOURCE[:BUDGET], e.g. wikitext-2:200k` };
    entries.push({ source: m[2].trim(), ...(m[3] ? { budget: m[3] } : {}), ...(m[1] ? { label: m[1] } : {}) });
  }
  if (entries.length === 0) return { ok: false, message: 'give at least one dataset: a name such as wikitext-2:200k or an absolute file path' };
  if (entries.length > 64) return { ok: false, message: `at most 64 datasets, got ${entries.length}` };
  return { ok: true, entries };
}
