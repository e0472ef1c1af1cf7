import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Heatmap } from './Heatmap';
import { LineChart } from './LineChart';
import { tickIndices } from './ticks';

describe('tickIndices', () => {
  it('labels every index when few, about 16 when many', () => {
    expect(tickIndices(8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(tickIndices(128)).toHaveLength(16);
    expect(tickIndices(26)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
    expect(tickIndices(0)).toEqual([]);
  });
});

describe('LineChart', () => {
  it('draws one path per series, breaking lines at gaps', () => {
    const svg = renderToStaticMarkup(
      createElement(LineChart, {
        series: [
          { name: 'a', values: [0.1, 0.5, 0.9], className: 's1' },
          { name: 'b', values: [0.2, null, 0.4], className: 's2', dashed: true },
        ],
        x: [1, 2, 3],
        xTitle: 'layer',
        yTitle: 'share',
        yDomain: [0, 1],
        ariaLabel: 'test',
        testId: 'lc',
      }),
    );
    // The in-drawing legend (for exported files) comes last; the series' own paths before it.
    const [plot, legend] = svg.split('class="svg-legend"');
    expect(legend).toContain('>a</text>');
    expect(legend).toContain('>b</text>');
    const paths = [...plot.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
    expect(paths).toHaveLength(2);
    expect(paths[0].match(/M/g)).toHaveLength(1);
    expect(paths[1].match(/M/g)).toHaveLength(2); // the null splits b into two pieces
    expect(plot.match(/<circle/g)).toHaveLength(5);
    expect(svg).toContain('stroke-dasharray="5 4"');
    expect(svg).toContain('data-name="b"');
  });
});

describe('Heatmap', () => {
  it('sizes its canvas one pixel per cell and reports the scale top', () => {
    const html = renderToStaticMarkup(
      createElement(Heatmap, {
        values: new Float64Array([0, 1, 2, 3, 4, 5]),
        offset: 2,
        rows: 2,
        cols: 2,
        rowTitle: 'r',
        colTitle: 'c',
        format: String,
        ariaLabel: 'h',
        testId: 'hm',
      }),
    );
    expect(html).toContain('data-rows="2" data-cols="2" data-max="5"');
    expect(html).toContain('<canvas width="2" height="2"');
  });
});
