/**
 * Exported chart files that carry the experiment link: SVG (in <title>, <desc> and <metadata>), PNG (tEXt chunks)
 * and CSV (a leading `#` comment line). Pure: text and bytes in, text and bytes out.
 */
import Papa from 'papaparse';

export const LINK_KEYWORD = 'speclab:experiment';
const NS = 'https://speclab.dev/ns/export/1';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface SvgParts {
  /** Serialized child elements of the chart (styles inlined). */
  body: string;
  viewBox: [x: number, y: number, w: number, h: number];
  /** Rendered size in CSS px. */
  width: number;
  height: number;
  title: string;
  link: string;
  background: string;
}

/** A standalone SVG document; the experiment link is in its title, description and metadata. */
export function svgDocument(p: SvgParts): string {
  const [x, y, w, h] = p.viewBox;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${p.width}" height="${p.height}" viewBox="${x} ${y} ${w} ${h}">` +
    `<title>${escapeXml(`${p.title} — ${p.link}`)}</title>` +
    `<desc>${escapeXml(`SpecLab chart. Experiment: ${p.link}`)}</desc>` +
    `<metadata><speclab:experiment xmlns:speclab="${NS}" href="${escapeXml(p.link)}">${escapeXml(p.link)}</speclab:experiment></metadata>` +
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${escapeXml(p.background)}"/>` +
    p.body +
    `</svg>`
  );
}

// ---- PNG ------------------------------------------------------------------------------------------------------

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngChunk {
  type: string;
  data: Uint8Array;
}

/** The chunks of a PNG, checking the signature and every CRC. */
export function pngChunks(png: Uint8Array): PngChunk[] {
  if (png.length < 8 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('not a PNG file (signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: PngChunk[] = [];
  let p = 8;
  while (p < png.length) {
    if (p + 12 > png.length) throw new Error(`PNG chunk at byte ${p} is truncated`);
    const len = view.getUint32(p);
    if (p + 12 + len > png.length) throw new Error(`PNG chunk at byte ${p} is truncated`);
    const typeAndData = png.subarray(p + 4, p + 8 + len);
    if (crc32(typeAndData) !== view.getUint32(p + 8 + len)) throw new Error(`PNG chunk at byte ${p} has a wrong CRC`);
    out.push({ type: String.fromCharCode(...typeAndData.subarray(0, 4)), data: typeAndData.subarray(4) });
    p += 12 + len;
  }
  return out;
}

function latin1(s: string): Uint8Array {
  // tEXt is Latin-1; a link is ASCII (percent-encoded), anything else becomes '?'.
  return Uint8Array.from(s, (c) => (c.charCodeAt(0) < 256 ? c.charCodeAt(0) : 63));
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The PNG with tEXt chunks (keyword → text) inserted right after IHDR. */
export function pngWithText(png: Uint8Array, entries: Record<string, string>): Uint8Array {
  const chunks = pngChunks(png);
  if (chunks[0]?.type !== 'IHDR') throw new Error('PNG does not start with IHDR');
  const ihdrEnd = 8 + 12 + chunks[0].data.length;
  const extra = Object.entries(entries).map(([k, v]) => chunk('tEXt', new Uint8Array([...latin1(k.slice(0, 79)), 0, ...latin1(v)])));
  const size = png.length + extra.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  out.set(png.subarray(0, ihdrEnd), 0);
  let p = ihdrEnd;
  for (const c of extra) {
    out.set(c, p);
    p += c.length;
  }
  out.set(png.subarray(ihdrEnd), p);
  return out;
}

/** keyword → text of every tEXt chunk. */
export function pngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of pngChunks(png)) {
    if (c.type !== 'tEXt') continue;
    const nul = c.data.indexOf(0);
    out[String.fromCharCode(...c.data.subarray(0, nul))] = String.fromCharCode(...c.data.subarray(nul + 1));
  }
  return out;
}

// ---- CSV ------------------------------------------------------------------------------------------------------

export interface CsvTable {
  header: string[];
  rows: (string | number | null)[][];
}

/** RFC 4180 CSV after one `# experiment: <link>` comment line (pandas: read_csv(..., comment='#')). */
export function csvText(table: CsvTable, link: string): string {
  const body = Papa.unparse({ fields: table.header, data: table.rows.map((r) => r.map((v) => (v === null ? '' : v))) }, { newline: '\n' });
  return `# experiment: ${link.replace(/[\r\n]/g, ' ')}\n${body}\n`;
}
