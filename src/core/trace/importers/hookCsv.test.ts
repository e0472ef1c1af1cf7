import { describe, expect, it } from 'vitest';
import { importHookCsv, naturalCompare, parseIdList } from './hookCsv';
import { expectTraceError, listReal, readReal } from './test-helpers';

const DIR = 'deepseek-v2-lite-chat/puffin-1-100';

/** Minimal RFC 4180 reader written independently of papaparse, to cross-check the importer. */
function naiveCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let quoted = false;
  const endField = () => {
    row.push(f);
    f = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch !== '"') f += ch;
      else if (text[i + 1] === '"') {
        f += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n') {
      if (f.endsWith('\r')) f = f.slice(0, -1);
      endField();
      rows.push(row);
      row = [];
    } else f += ch;
  }
  if (f !== '' || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}

describe('importHookCsv on the real DeepSeek-V2-Lite puffin-1-100 traces', () => {
  const names = listReal(DIR)
    .filter((n) => n.endsWith('.csv'))
    .sort(naturalCompare);
  const files = names.map((n) => ({ name: `puffin-1-100/${n}`, text: readReal(`${DIR}/${n}`) }));
  const res = importHookCsv(files, { model: 'DeepSeek-V2-Lite-Chat' });
  const m = res.set.manifest;
  const c = res.set.chunks[0];

  // Independent view: per file, rows per layer (text and expert list as written).
  const indep = files.map((f) => {
    const rows = naiveCsv(f.text);
    const byLayer = new Map<number, { text: string; experts: number[] }[]>();
    for (const r of rows.slice(1)) {
      const l = Number(r[0]);
      if (!byLayer.has(l)) byLayer.set(l, []);
      byLayer.get(l)!.push({ text: r[2], experts: JSON.parse(r[3]) as number[] });
    }
    return { rows: rows.length - 1, byLayer, tokens: Math.min(...[...byLayer.values()].map((v) => v.length)) };
  });

  it('sorts file names naturally', () => {
    expect(names.slice(0, 3)).toEqual(['prompt_1_data.csv', 'prompt_2_data.csv', 'prompt_3_data.csv']);
    expect(names.at(-1)).toBe('prompt_100_data.csv');
  });

  it('has the shape of DeepSeek-V2-Lite: L=26 (layers 1..26), K=6, E=64', () => {
    expect(m.numLayers).toBe(26);
    expect(m.moeLayerIds).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    expect(m.topK).toBe(6);
    expect(m.numExperts).toBe(64);
    expect(m.datasets).toEqual(['puffin-1-100']);
    expect([m.hasWeights, m.hasTokenText, m.hasLogits, m.hasTokenIds]).toEqual([false, true, false, false]);
    expect(c.weights).toBeUndefined();
    expect(m.shards).toEqual([]);
  });

  it('counts tokens per file as the independent parse does', () => {
    expect(res.records).toBe(indep.reduce((a, f) => a + f.rows, 0));
    expect(res.tokens).toBe(indep.reduce((a, f) => a + f.tokens, 0));
    expect([res.tokens, res.droppedTokens, res.sequences]).toEqual([6610, 0, 100]);
    const perSeq = new Array<number>(files.length).fill(0);
    for (let t = 0; t < c.tokens; t++) perSeq[c.seq[t]]++;
    expect(perSeq).toEqual(indep.map((f) => f.tokens));
    for (let t = 0; t < c.tokens; t++) if (t === 0 || c.seq[t] !== c.seq[t - 1]) expect(c.pos[t]).toBe(0);
  });

  it('matches every token’s text and experts with the independent parse', () => {
    const L = 26;
    const K = 6;
    const mismatches: string[] = [];
    for (let t = 0; t < c.tokens; t++) {
      const f = indep[c.seq[t]];
      if (c.tokenText![t] !== f.byLayer.get(1)![c.pos[t]].text) mismatches.push(`text seq ${c.seq[t]} pos ${c.pos[t]}`);
      for (let l = 0; l < L; l++) {
        const want = f.byLayer.get(l + 1)![c.pos[t]].experts;
        for (let j = 0; j < K; j++) if (c.experts[(t * L + l) * K + j] !== want[j]) mismatches.push(`seq ${c.seq[t]} pos ${c.pos[t]} layer ${l + 1}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('spot-checks prompt 1 and token texts with commas, quotes, newline tokens and non-ASCII', () => {
    // prompt_1_data.csv line 2: 1,0,<｜begin▁of▁sentence｜>,"[8, 26, 56, 57, 60, 43]"
    expect(c.tokenText![0]).toBe('<｜begin▁of▁sentence｜>');
    expect([...c.experts.subarray(0, 6)]).toEqual([8, 26, 56, 57, 60, 43]);
    expect([...c.experts.subarray(6, 12)]).toEqual([3, 35, 38, 62, 63, 60]); // layer 2, same token
    expect(c.tokenText!.slice(1, 4)).toEqual(['How', 'Ġdo', 'ĠI']);
    const texts = c.tokenText!;
    expect(texts.filter((s) => s === ',').length).toBeGreaterThan(10); // a bare comma, quoted in the CSV
    expect(texts.some((s) => s.includes('"'))).toBe(true); // doubled quotes inside a quoted field
    expect(texts.filter((s) => s === 'Ċ').length).toBeGreaterThan(10); // byte-level "\n" token
    // Every token text agrees with its row in the file at the right position (checked fully above);
    // here: the first comma token is followed by the token the raw file lists next.
    const t = texts.indexOf(',');
    const f = indep[c.seq[t]].byLayer.get(1)!;
    expect(f[c.pos[t]].text).toBe(',');
    expect(texts[t + 1]).toBe(f[c.pos[t] + 1].text);
  });
});

const HDR = 'Layer ID,Batch Number,Token,Activated Expert IDs';
const csv = (...rows: string[]) => [HDR, ...rows].join('\n') + '\n';
const one = (text: string, opts = {}) => importHookCsv([{ name: 'p.csv', text }], opts);

describe('naturalCompare and parseIdList', () => {
  it('orders digit runs by value', () => {
    const names = ['prompt_10_data.csv', 'prompt_2_data.csv', 'prompt_1_data.csv', 'prompt_100_data.csv', 'b', 'a10', 'a9'];
    expect([...names].sort(naturalCompare)).toEqual(['a9', 'a10', 'b', 'prompt_1_data.csv', 'prompt_2_data.csv', 'prompt_10_data.csv', 'prompt_100_data.csv']);
    expect(naturalCompare('x01', 'x1')).not.toBe(0); // total order: ties broken by text
    expect(naturalCompare('x1', 'x1')).toBe(0);
    expect(naturalCompare('n99999999999999999999', 'n100000000000000000000')).toBeLessThan(0);
  });

  it('parses bracketed id lists and rejects malformed ones', () => {
    const out: number[] = [];
    expect(parseIdList('[8, 26, 56]', out)).toBe(true);
    expect(out).toEqual([8, 26, 56]);
    expect(parseIdList(' [ 1 ,2 ] \r', out)).toBe(true);
    expect(out).toEqual([1, 2]);
    expect(parseIdList('[]', out)).toBe(true);
    expect(out).toEqual([]);
    expect(parseIdList('[-1, 2.5]', out)).toBe(true); // numbers, left for the range check to reject
    expect(out).toEqual([-1, 2.5]);
    for (const bad of ['[1, 2', '[a, 3]', '1, 2', '[1,, 2]', '[1 2]', '[1, 2]x', '[1,]', '', '[0x1]']) expect(parseIdList(bad, out), bad).toBe(false);
  });
});

describe('importHookCsv on small inputs', () => {
  it('keeps quoted commas, quotes and newlines in token text, with CRLF line ends', () => {
    const text = [HDR, '1,0,"a,b","[0, 1]"', '1,0,"say ""hi""\r\nthere","[1, 2]"', '2,0,"a,b","[2, 3]"', '2,0,x,"[3, 0]"', ''].join('\r\n');
    const r = one(text);
    const c = r.set.chunks[0];
    expect(c.tokenText).toEqual(['a,b', 'say "hi"\r\nthere']);
    expect([...c.experts]).toEqual([0, 1, 2, 3, 1, 2, 3, 0]);
    expect([...c.pos]).toEqual([0, 1]);
    expect(r.set.manifest.numExperts).toBe(4);
  });

  it('drops tokens a layer lacks, and all of a file that lacks a layer; absent layer ids are no layers', () => {
    const a = csv('1,0,t0,"[0, 1]"', '1,0,t1,"[0, 1]"', '1,0,t2,"[0, 1]"', '4,0,t0,"[2, 3]"', '4,0,t1,"[2, 3]"');
    const b = csv('1,0,u0,"[0, 1]"', '1,0,u1,"[0, 1]"'); // no layer 4
    const d = csv('4,0,v0,"[2, 3]"', '1,0,v0,"[0, 1]"'); // layers out of order: text still from layer 1
    const r = importHookCsv(
      [
        { name: 'x/a.csv', text: a },
        { name: 'x/b.csv', text: b },
        { name: 'y/d.csv', text: d },
      ],
      { allowLayerGaps: true },
    );
    const c = r.set.chunks[0];
    expect(r.set.manifest.moeLayerIds).toEqual([1, 4]);
    expect([r.tokens, r.droppedTokens, r.sequences, r.records]).toEqual([3, 3, 2, 9]);
    expect([...c.seq]).toEqual([0, 0, 2]);
    expect(c.tokenText).toEqual(['t0', 't1', 'v0']);
    expect(r.set.manifest.datasets).toEqual(['x', 'y']);
    expect([...c.dataset]).toEqual([0, 0, 1]);
    expect(importHookCsv([{ name: 'x/a.csv', text: a }], { dataset: 'chat', allowLayerGaps: true }).set.manifest.datasets).toEqual(['chat']);
    expect(one(a, { allowLayerGaps: true }).set.manifest.datasets).toEqual(['default']);
    // Without the option, a hole in the layer ids is a layer missing everywhere: an error, not a renumbering.
    expectTraceError(() => one(a), 'p.csv', 'layer 2 is missing in every record', 'allowLayerGaps');
  });

  it('accepts a BOM, blank lines and columns in another order', () => {
    const text = '\uFEFFToken,Activated Expert IDs,Layer ID,Batch Number\n\nx,"[5, 1]",3,0\n';
    const r = one(text);
    expect(r.set.manifest.moeLayerIds).toEqual([3]);
    expect([...r.set.chunks[0].experts]).toEqual([5, 1]);
    expect(r.set.chunks[0].tokenText).toEqual(['x']);
  });
});

describe('importHookCsv errors', () => {
  it('CSV header missing or wrong', () => {
    expectTraceError(() => one(''), 'p.csv:1', 'CSV header missing', 'Layer ID');
    expectTraceError(() => one('Layer,Batch,Token,Experts\n1,0,a,"[1, 2]"\n'), 'p.csv:1', 'CSV header', 'missing "Layer ID"');
    expectTraceError(() => one('1,0,a,"[1, 2]"\n'), 'p.csv:1', 'CSV header', 'missing');
  });

  it('Batch Number other than 0 names the file and line', () => {
    expectTraceError(() => one(csv('1,0,a,"[1, 2]"', '1,1,b,"[1, 2]"')), 'p.csv:3', '"Batch Number"', 'expected 0', '"1"');
  });

  it('record line numbers count the lines of quoted multi-line tokens', () => {
    const text = csv('1,0,"multi\nline\ntoken","[1, 2]"', '1,2,b,"[1, 2]"');
    expectTraceError(() => one(text), 'p.csv:5', '"Batch Number"');
    const crlf = [HDR, '1,0,"x\r\ny","[1, 2]"', '1,0,z,"[1, 2"', ''].join('\r\n');
    expectTraceError(() => one(crlf), 'p.csv:4', '"Activated Expert IDs"');
  });

  it('malformed expert lists', () => {
    expectTraceError(() => one(csv('1,0,a,"[1, 2"')), 'p.csv:2', '"Activated Expert IDs"', 'expected a list of integer expert ids', '"[1, 2"');
    expectTraceError(() => one(csv('1,0,a,"[0, 1]"', '2,0,a,"[a, 3]"')), 'p.csv:3', '"Activated Expert IDs"', '"[a, 3]"');
  });

  it('expert ids out of range or not integers', () => {
    expectTraceError(() => one(csv('1,0,a,"[-1, 2]"')), 'p.csv:2', '"Activated Expert IDs"', 'expert id -1 out of range');
    expectTraceError(() => one(csv('1,0,a,"[1, 64]"'), { numExperts: 64 }), 'p.csv:2', '"Activated Expert IDs"', 'expert id 64', '0..63');
    expectTraceError(() => one(csv('1,0,a,"[1, 2.5]"')), 'p.csv:2', '"Activated Expert IDs"', 'must be integers', '2.5');
    expectTraceError(() => one(csv('1,0,a,"[1, 99999]"')), 'p.csv:2', 'out of range', '0..32767');
  });

  it('duplicate experts within a row', () => {
    expectTraceError(() => one(csv('1,0,a,"[4, 4]"')), 'p.csv:2', '"Activated Expert IDs"', 'expert 4 listed twice');
  });

  it('varying top-k, also across files', () => {
    expectTraceError(() => one(csv('1,0,a,"[1, 2]"', '1,0,b,"[1, 2, 3]"')), 'p.csv:3', '"Activated Expert IDs"', 'expected 2 expert ids', 'p.csv:2', 'got 3');
    expectTraceError(
      () =>
        importHookCsv([
          { name: 'a.csv', text: csv('1,0,a,"[1, 2]"') },
          { name: 'b.csv', text: csv('1,0,a,"[1]"') },
        ]),
      'b.csv:2',
      'top-k set by a.csv:2',
    );
    expectTraceError(() => one(csv('1,0,a,"[]"')), 'p.csv:2', 'empty list');
  });

  it('bad Layer ID, wrong field count, broken quoting', () => {
    expectTraceError(() => one(csv('x,0,a,"[1, 2]"')), 'p.csv:2', '"Layer ID"', 'expected an integer layer id', '"x"');
    expectTraceError(() => one(csv('1,0,a,"[1, 2]"', '1,0,a,b,"[1, 2]"')), 'p.csv:3', 'expected 4 fields', 'got 5');
    expectTraceError(() => one(csv('1,0,a,"[1, 2]"', '1,0,"open,"[1, 2]"')), 'p.csv:3', 'malformed CSV');
  });

  it('empty input', () => {
    expectTraceError(() => importHookCsv([]), '(no files)', 'empty input');
    expectTraceError(() => one(csv()), 'p.csv', 'empty input', 'CSV data rows');
  });
});
