import { describe, expect, it } from 'vitest';
import { parseDatasetLines } from './datasetLines';

describe('parseDatasetLines', () => {
  it('reads [LABEL=]SOURCE[:BUDGET] lines as the collector does', () => {
    expect(parseDatasetLines('wikitext-2:200k\n\n  imdb \nnotes=/data/notes.jsonl:50k\n/data/a:b.txt:1.5M')).toEqual({
      ok: true,
      entries: [
        { source: 'wikitext-2', budget: '200k' },
        { source: 'imdb' },
        { source: '/data/notes.jsonl', budget: '50k', label: 'notes' },
        { source: '/data/a:b.txt', budget: '1.5M' },
      ],
    });
  });

  it('names what is wrong', () => {
    expect(parseDatasetLines(' \n ')).toMatchObject({ ok: false, message: expect.stringMatching(/at least one dataset/) });
    expect(parseDatasetLines('imdb\nx=')).toMatchObject({ ok: false, message: expect.stringMatching(/^line 2: expected \[LABEL=\]SOURCE/) });
    expect(parseDatasetLines(Array.from({ length: 65 }, (_, i) => `d${i}`).join('\n'))).toMatchObject({ ok: false, message: 'at most 64 datasets, got 65' });
  });
});
