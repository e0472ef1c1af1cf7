import { describe, expect, it } from 'vitest';
import { detectFormat, importFiles } from './index';
import { expectTraceError, listReal, readReal } from './test-helpers';

const enc = (s: string) => new TextEncoder().encode(s);
const JSONL_LINE = '{"dataset": "gsm8k", "problem_id": 0, "layer": 0, "experts": [7, 0], "gating_probs": [0.8, 0.2], "token_idx": 0}';
const CSV_HEAD = 'Layer ID,Batch Number,Token,Activated Expert IDs\r\n1,0,a,"[1, 2]"\r\n';

describe('detectFormat', () => {
  it('recognises contents whatever the name', () => {
    expect(detectFormat('log.txt', JSONL_LINE + '\n')).toBe('jsonl');
    expect(detectFormat('x', enc(CSV_HEAD))).toBe('hook-csv');
    expect(detectFormat('x', '\uFEFF' + CSV_HEAD)).toBe('hook-csv');
    expect(detectFormat('whatever.json', '{\n  "format": "speclab-trace",\n  "version": 1')).toBe('trace-manifest');
    expect(detectFormat('shard-0', enc('ARROW1\0\0rest'))).toBe('arrow');
  });

  it('falls back to the extension, else null', () => {
    expect(detectFormat('a.jsonl', '')).toBe('jsonl');
    expect(detectFormat('A.CSV', 'foo,bar')).toBe('hook-csv');
    expect(detectFormat('t/manifest.json', '')).toBe('trace-manifest');
    expect(detectFormat('s.arrow', new Uint8Array(0))).toBe('arrow');
    expect(detectFormat('notes.md', '# hi')).toBeNull();
    expect(detectFormat('obj.json', '{"a": 1}')).toBeNull();
  });

  it('recognises the real traces', () => {
    expect(detectFormat('gsm8k_2_routing.jsonl', readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl').slice(0, 4096))).toBe('jsonl');
    expect(detectFormat('prompt_1_data.csv', enc(readReal('deepseek-v2-lite-chat/puffin-1-100/prompt_1_data.csv').slice(0, 4096)))).toBe('hook-csv');
  });
});

describe('importFiles', () => {
  it('imports real hook CSV bytes in natural name order', () => {
    const dir = 'deepseek-v2-lite-chat/puffin-1-100';
    const names = listReal(dir)
      .filter((n) => n.endsWith('.csv'))
      .slice(0, 12)
      .reverse();
    const r = importFiles(
      names.map((n) => ({ name: n, data: enc(readReal(`${dir}/${n}`)) })),
      'auto',
      { dataset: 'puffin' },
    );
    const m = r.set.manifest;
    expect([m.numLayers, m.topK, m.numExperts, m.datasets[0]]).toEqual([26, 6, 64, 'puffin']);
    expect((m.source as { files: string[] }).files[0]).toBe(names.slice().sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))[0]);
    expect(r.sequences).toBe(12);
  });

  it('imports real JSONL given as text', () => {
    const r = importFiles([{ name: 'g.jsonl', data: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }], 'auto');
    expect([r.tokens, r.droppedTokens, r.sequences]).toEqual([244, 3, 2]);
  });

  it('honours an explicit format', () => {
    expect(importFiles([{ name: 'weird.bin', data: JSONL_LINE.replace('[7, 0]', '[7, 1]') }], 'jsonl').tokens).toBe(1);
    expect(importFiles([{ name: 'weird.bin', data: CSV_HEAD }], 'hook-csv').tokens).toBe(1);
  });

  it('rejects trace-set files, unknown and mixed formats, bad UTF-8 and no files', () => {
    expectTraceError(() => importFiles([{ name: 'manifest.json', data: '{"format": "speclab-trace"}' }]), 'manifest.json', 'already a SpecLab trace set');
    expectTraceError(() => importFiles([{ name: 'notes.md', data: '# hi' }]), 'notes.md', 'unrecognised format');
    expectTraceError(
      () =>
        importFiles([
          { name: 'a.jsonl', data: JSONL_LINE },
          { name: 'b.csv', data: CSV_HEAD },
        ]),
      'b.csv',
      'format hook-csv differs from jsonl of a.jsonl',
    );
    expectTraceError(() => importFiles([{ name: 'bad.csv', data: new Uint8Array([0x4c, 0xff, 0xfe]) }], 'hook-csv'), 'bad.csv', 'not valid UTF-8');
    expectTraceError(() => importFiles([]), '(no files)', 'empty input');
  });
});

describe('importer text encodings', () => {
  it('names UTF-16 input', () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...Array.from(new TextEncoder().encode('{"a":1}')).flatMap((c) => [c, 0])]);
    expect(() => importFiles([{ name: 'log.jsonl', data: utf16 }])).toThrow(
      /^log\.jsonl: UTF-16 text \(byte order mark at the start\); save routing logs as UTF-8/,
    );
  });
  it('names the line and offset of invalid UTF-8', () => {
    const b = new TextEncoder().encode('{"layer": 0}\n{"layer": 1, "x": "?"}\n');
    b[b.indexOf(0x3f)] = 0xff;
    expect(() => importFiles([{ name: 'log.jsonl', data: b }], 'jsonl')).toThrow(/^log\.jsonl: not valid UTF-8 text \(byte 0xff at offset 32, line 2\)/);
  });
});
