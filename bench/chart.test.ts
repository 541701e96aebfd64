import { describe, expect, it } from 'vitest';
import { escapeXml, logScale, logTicks, renderChart, tickLabel } from './chart.mjs';

describe('log scale', () => {
  it('maps the ends of the domain to the ends of the range, decades evenly', () => {
    const x = logScale([100, 10_000], [0, 200]);
    expect(x(100)).toBeCloseTo(0);
    expect(x(1000)).toBeCloseTo(100);
    expect(x(10_000)).toBeCloseTo(200);
    const y = logScale([0.1, 100], [300, 0]); // inverted, as a y axis
    expect(y(0.1)).toBeCloseTo(300);
    expect(y(1)).toBeCloseTo(200);
  });

  it('refuses a domain a log scale cannot have', () => {
    expect(() => logScale([0, 10], [0, 1])).toThrow(RangeError);
    expect(() => logScale([10, 10], [0, 1])).toThrow(RangeError);
  });

  it('encloses the data in whole decades, with 1-2-5 ticks', () => {
    const t = logTicks(0.6, 330);
    expect(t.lo).toBeCloseTo(0.1);
    expect(t.hi).toBe(1000);
    expect(t.ticks).toContain(0.2);
    expect(t.ticks).toContain(500);
    expect(t.ticks.at(-1)).toBe(1000);
    expect(logTicks(150, 150)).toMatchObject({ lo: 100, hi: 1000 });
  });

  it('labels ticks readably', () => {
    expect(tickLabel(0.2)).toBe('0.2');
    expect(tickLabel(5000)).toBe('5,000');
  });
});

describe('chart', () => {
  const series = [
    {
      name: 'seed <paged> & "sequential"',
      points: [
        { rows: 150, medianMs: 56_000, minMs: 55_000, maxMs: 58_000 },
        { rows: 1000, medianMs: 330_000, minMs: 330_000, maxMs: 330_000, estimate: true },
      ],
    },
    { name: 'ours', points: [{ rows: 150, medianMs: 600, minMs: 500, maxMs: 700 }] },
  ];

  it('escapes every text', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    const svg = renderChart({ title: 'T <script>', series });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('seed &lt;paged&gt; &amp; &quot;sequential&quot;');
  });

  it('labels both axes with units, has a legend entry per series and marks estimates', () => {
    const svg = renderChart({ title: 'T', series });
    expect(svg).toContain('on-call rows in the lookahead (log scale)');
    expect(svg).toContain('wall time, seconds (log scale)');
    expect(svg.match(/<path /g)).toBeNull(); // no series has two measured points to join
    expect(svg).toMatch(/<text [^>]*>ours<\/text>/);
    const two = renderChart({
      title: 'T',
      series: [
        {
          name: 'ours',
          points: [series[1]!.points[0]!, { rows: 1000, medianMs: 900, minMs: 900, maxMs: 900 }],
        },
      ],
    });
    expect(two.match(/<path /g)).toHaveLength(1);
    expect(svg).toContain('estimate, not run by default');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('keeps every point inside the plot area', () => {
    const svg = renderChart({ title: 'T', series, width: 600, height: 400 });
    for (const [, cx, cy] of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
      expect(Number(cx)).toBeGreaterThanOrEqual(0);
      expect(Number(cx)).toBeLessThanOrEqual(600);
      expect(Number(cy)).toBeGreaterThanOrEqual(0);
      expect(Number(cy)).toBeLessThanOrEqual(400);
    }
  });
});
