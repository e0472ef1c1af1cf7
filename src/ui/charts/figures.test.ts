/**
 * Every chart's SVG as markup, numbers rounded to one decimal, against a stored snapshot: a change to a figure's
 * layout (titles, colour scale, legend places, margins) shows in review. Clipping and overlap of the text as the
 * browser lays it out is checked in e2e/figures.spec.ts.
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/runs/record';
import { RunOverlayChart } from '../runs/RunOverlayChart';
import { EntropyChart, zoomFloor } from './EntropyChart';
import { Heatmap, plotSize } from './Heatmap';
import { legendLayout, LineChart } from './LineChart';

/** The markup with every decimal number rounded to 1 place (so float noise does not change the snapshot). */
const rounded = (html: string) => html.replace(/-?\d+\.\d+/g, (n) => String(Math.round(Number(n) * 10) / 10));

describe('figure snapshots', () => {
  it('entropy chart: layer axis title below the ticks, "entropy (bits)" as the rotated y title', () => {
    const html = renderToStaticMarkup(createElement(EntropyChart, { entropyBits: [2.5, 2.9, 2.7, 2.95], maxEntropyBits: 3, layerIds: [0, 1, 2, 3] }));
    expect(html).toContain('data-testid="entropy-x-title"');
    expect(html).toContain('rotate(-90)');
    expect(html).toContain('>entropy (bits)</text>');
    expect(rounded(html)).toMatchSnapshot();
  });

  it('entropy chart zoomed: the scale starts below the lowest layer, so 5.90 and 5.95 bits look different', () => {
    const bits = [5.9, 5.95, 5.92];
    expect(zoomFloor(bits, 6)).toBeCloseTo(5.85);
    expect(zoomFloor([0.1], 1)).toBe(0);
    const heights = (zoom: boolean) =>
      [
        ...renderToStaticMarkup(createElement(EntropyChart, { entropyBits: bits, maxEntropyBits: 6, layerIds: [0, 1, 2], zoom })).matchAll(
          /height="([\d.]+)"/g,
        ),
      ].map((m) => Number(m[1]));
    const [a, b] = heights(true);
    const [c, d] = heights(false);
    // Zoomed, the 0.05-bit difference is a visible share of the bar; from 0 it is under 1%.
    expect((b - a) / b).toBeGreaterThan(0.2);
    expect((d - c) / d).toBeLessThan(0.01);
  });

  it('heatmap: a title and a colour scale with its labels inside the drawing', () => {
    const values = Float64Array.from({ length: 16 }, (_, i) => i / 15);
    const html = renderToStaticMarkup(
      createElement(Heatmap, {
        values,
        rows: 4,
        cols: 4,
        rowTitle: 'expert e',
        colTitle: 'expert f',
        format: (v: number) => v.toFixed(2),
        ariaLabel: 'Co-activation at layer 0',
        testId: 'hm',
      }),
    );
    expect(html).toContain('>Co-activation at layer 0</text>');
    const scale = html.split('data-testid="hm-scale"')[1].split('</g>')[0];
    expect(scale.match(/<rect/g)).toHaveLength(32);
    expect(scale).toContain('>0.00</text>');
    expect(scale).toContain('>1.00</text>');
    expect(rounded(html)).toMatchSnapshot();
  });

  it('heatmap: many experts get a larger plot (about 11 units a cell, 360 to 720)', () => {
    expect(plotSize(8, 8)).toBe(360);
    expect(plotSize(26, 64)).toBe(704);
    expect(plotSize(128, 128)).toBe(720);
  });

  it('line chart (reuse): the legend wraps into rows right of the y title and never past the right edge', () => {
    const names = ['same first choice', 'any of top-2 shared', 'first choice, uniform chance', 'any shared, uniform chance'];
    const { left, items, rows } = legendLayout(names, 'share of pairs');
    expect(left).toBeGreaterThanOrEqual(4 + 'share of pairs'.length * 7);
    expect(rows).toBeGreaterThan(1);
    items.forEach((it, i) => expect(left + it.x + 26 + names[i].length * 7).toBeLessThanOrEqual(640 - 14));
    const html = renderToStaticMarkup(
      createElement(LineChart, {
        series: names.map((name, i) => ({ name, values: [0.1 * i, 0.2, 0.3], className: i % 2 ? 's2' : 's1', dashed: i > 1 })),
        x: [0, 1, 2],
        xTitle: 'layer',
        yTitle: 'share of pairs',
        yDomain: [0, 1],
        ariaLabel: 'Temporal reuse per layer',
        testId: 'reuse-chart',
      }),
    );
    expect(rounded(html)).toMatchSnapshot();
  });

  it('run overlay: curves of two runs, the band only where both have values', () => {
    const run = (id: string, vals: number[]): RunRecord =>
      ({
        id,
        name: `Run ${id}`,
        epochs: vals.map((v, i) => ({ epoch: i + 1, trainLoss: 1, valLoss: 1, trainRecall: [v], valRecall: [v] })),
      }) as unknown as RunRecord;
    const html = renderToStaticMarkup(createElement(RunOverlayChart, { runs: [run('a', [0.2, 0.4, 0.5]), run('b', [0.3, 0.35])], kind: 'val', smoothing: 0 }));
    const band = html.match(/data-testid="run-band" d="([^"]*)"/)![1];
    // Two epochs where both runs have values: the band has 2 top and 2 bottom points, not 3.
    expect(band.match(/[ML]/g)).toHaveLength(4);
    expect(rounded(html)).toMatchSnapshot();
  });
});
