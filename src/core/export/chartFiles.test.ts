import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { crc32, csvText, pngChunks, pngText, pngWithText, svgDocument } from './chartFiles';

const LINK = 'http://localhost:4173/#v=2&z=Gz4-AQA';

/** A 2×1 RGB PNG built by hand: signature, IHDR, IDAT, IEND. */
function tinyPng(): Uint8Array {
  const chunk = (type: string, data: number[]) => {
    const td = new Uint8Array([...Buffer.from(type, 'latin1'), ...data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.set(td, 4);
    out.writeUInt32BE(crc32(td), 8 + data.length);
    return [...out];
  };
  const ihdr = [0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0];
  const idat = [...zlibSync(new Uint8Array([0, 255, 0, 0, 0, 0, 255]))];
  return new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', ihdr), ...chunk('IDAT', idat), ...chunk('IEND', [])]);
}

describe('crc32', () => {
  it('matches the PNG specification check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('PNG text', () => {
  it('inserts tEXt chunks after IHDR with valid CRCs, leaving the image chunks as they were', () => {
    const png = tinyPng();
    const out = pngWithText(png, { 'speclab:experiment': LINK, Title: 'recall@k' });
    const chunks = pngChunks(out);
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'tEXt', 'IDAT', 'IEND']);
    expect(pngText(out)).toEqual({ 'speclab:experiment': LINK, Title: 'recall@k' });
    expect(chunks[3].data).toEqual(pngChunks(png)[1].data);
  });
  it('works on a PNG from elsewhere in the repository', () => {
    const png = new Uint8Array(readFileSync(new URL('../../../public/favicon.png', import.meta.url)));
    expect(pngText(pngWithText(png, { 'speclab:experiment': LINK }))['speclab:experiment']).toBe(LINK);
  });
  it('refuses what is not a PNG or is damaged', () => {
    expect(() => pngChunks(new TextEncoder().encode('GIF89a...'))).toThrow(/signature/);
    const bad = tinyPng();
    bad[20] ^= 1;
    expect(() => pngChunks(bad)).toThrow(/CRC/);
    expect(() => pngChunks(tinyPng().subarray(0, 30))).toThrow(/truncated/);
  });
});

describe('SVG document', () => {
  it('carries the link in title, description and metadata, escaped', () => {
    const svg = svgDocument({
      body: '<path d="M0 0"/>',
      viewBox: [0, 0, 640, 240],
      width: 640,
      height: 240,
      title: 'a <b> & "c"',
      link: `${LINK}&x=<y>`,
      background: '#fff',
    });
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot; — http://localhost:4173/#v=2&amp;z=Gz4-AQA&amp;x=&lt;y&gt;</title>');
    expect(svg).toContain('<metadata><speclab:experiment');
    expect(svg).toContain('href="http://localhost:4173/#v=2&amp;z=Gz4-AQA&amp;x=&lt;y&gt;"');
    expect(svg.endsWith('<path d="M0 0"/></svg>')).toBe(true);
  });
});

describe('CSV', () => {
  it('starts with the link as a comment line and quotes what needs it', () => {
    const text = csvText(
      {
        header: ['layer', 'name, with comma', 'value'],
        rows: [
          [0, 'a "q"', 0.5],
          [1, 'b', null],
        ],
      },
      LINK,
    );
    const [first, ...rest] = text.split('\n');
    expect(first).toBe(`# experiment: ${LINK}`);
    const parsed = Papa.parse<string[]>(rest.join('\n').trim()).data;
    expect(parsed).toEqual([
      ['layer', 'name, with comma', 'value'],
      ['0', 'a "q"', '0.5'],
      ['1', 'b', ''],
    ]);
  });
});
