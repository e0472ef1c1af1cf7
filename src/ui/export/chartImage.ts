/**
 * A chart on the page as standalone files: its SVG with the computed styles inlined (so the file looks as the
 * chart does, theme and figure layout included) and canvases (heatmap cells) embedded as images; a PNG rendered
 * from that SVG; both carrying the experiment link (core/export/chartFiles.ts).
 */
import { escapeXml, LINK_KEYWORD, pngWithText, svgDocument } from '../../core/export/chartFiles';

const STYLE_PROPS = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-dasharray',
  'stroke-opacity',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'display',
  'visibility',
] as const;

/** The first non-transparent background at or above `el`. */
function backgroundOf(el: Element | null): string {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) return c;
  }
  return '#ffffff';
}

export interface ChartSvg {
  text: string;
  width: number;
  height: number;
}

/**
 * The element and its subtree as SVG markup with the computed styles written out. Built as text, never by
 * changing DOM nodes: the page's CSP forbids style attributes set from script, and the chart stays untouched.
 */
function serialize(el: Element, out: string[]): void {
  const cs = getComputedStyle(el);
  let style = STYLE_PROPS.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(';');
  // Parts drawn only in files (e.g. a line chart's legend, shown as HTML on screen).
  if (el.hasAttribute('data-export-only')) style += ';display:inline';
  const tag = el.localName;
  out.push(`<${tag}`);
  for (const a of el.attributes) {
    if (a.name === 'class' || a.name === 'style' || a.name.startsWith('data-') || a.name.startsWith('aria-') || a.name === 'role') continue;
    out.push(` ${a.name}="${escapeXml(a.value)}"`);
  }
  out.push(` style="${escapeXml(style)}">`);
  for (const n of el.childNodes) {
    if (n.nodeType === Node.ELEMENT_NODE) serialize(n as Element, out);
    else if (n.nodeType === Node.TEXT_NODE) out.push(escapeXml(n.textContent ?? ''));
  }
  out.push(`</${tag}>`);
}

export function chartSvg(container: HTMLElement, title: string, link: string): ChartSvg {
  const svg = container.querySelector('svg');
  if (!svg) throw new Error('this chart has nothing to export yet');
  const vb = svg.viewBox.baseVal;
  const box = svg.getBoundingClientRect();
  const viewBox: [number, number, number, number] = vb && vb.width > 0 ? [vb.x, vb.y, vb.width, vb.height] : [0, 0, box.width, box.height];
  const out: string[] = [];
  // Canvases (heatmap cells) become images at the same place, in viewBox units, under the axes.
  const scale = box.width > 0 ? viewBox[2] / box.width : 1;
  for (const canvas of container.querySelectorAll('canvas')) {
    const r = canvas.getBoundingClientRect();
    const at = (n: number) => String(Math.round(n * 100) / 100);
    out.push(
      `<image href="${canvas.toDataURL('image/png')}" x="${at(viewBox[0] + (r.left - box.left) * scale)}" y="${at(viewBox[1] + (r.top - box.top) * scale)}" ` +
        `width="${at(r.width * scale)}" height="${at(r.height * scale)}" preserveAspectRatio="none" style="image-rendering:pixelated"/>`,
    );
  }
  for (const child of svg.children) serialize(child, out);
  const width = Math.round(viewBox[2]);
  const height = Math.round(viewBox[3]);
  return { text: svgDocument({ body: out.join(''), viewBox, width, height, title, link, background: backgroundOf(container) }), width, height };
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The SVG drawn at `scale` device pixels per unit, as PNG bytes with the link (and title) in tEXt chunks. */
export async function chartPng(svg: ChartSvg, title: string, link: string, scale: number): Promise<Uint8Array> {
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${base64(new TextEncoder().encode(svg.text))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(svg.width * scale);
  canvas.height = Math.round(svg.height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser cannot draw on a canvas');
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the PNG');
  const png = new Uint8Array(await blob.arrayBuffer());
  return pngWithText(png, { [LINK_KEYWORD]: link, Title: title, Software: 'SpecLab' });
}

/** Saves bytes or text as a file through the browser's download. */
export function download(name: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([typeof data === 'string' ? data : (data.slice().buffer as ArrayBuffer)], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
