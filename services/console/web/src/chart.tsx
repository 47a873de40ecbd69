import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Line {
  label: string;
  values: (number | null)[];
  colour: string;
  dash?: number[];
}

/** A time chart (x in epoch seconds) drawn with uPlot; `label` names it for screen readers. */
export function TimeChart(props: { label: string; x: number[]; lines: Line[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth || 720),
        height: props.height ?? 240,
        series: [
          {},
          ...props.lines.map((l) => ({
            label: l.label,
            stroke: l.colour,
            width: 2,
            points: { show: true },
            ...(l.dash ? { dash: l.dash } : {}),
          })),
        ],
        axes: [{ stroke: '#1f2933' }, { stroke: '#1f2933' }],
        // One point alone would be spread over years: show the hour around it.
        scales: {
          x: {
            time: true,
            range: (_u, min, max) => (min === max ? [min - 1800, max + 1800] : [min, max]),
          },
        },
      },
      [props.x, ...props.lines.map((l) => l.values)],
      el,
    );
    return () => plot.destroy();
  }, [props.x, props.lines, props.height]);
  return <div ref={box} class="chart" role="img" aria-label={props.label} />;
}
