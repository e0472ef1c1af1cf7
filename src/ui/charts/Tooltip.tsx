import { useCallback, useState, type MouseEvent } from 'react';

/** A tooltip's place (px from the top left of the element it is shown in) and its lines. */
export interface Tip {
  x: number;
  y: number;
  lines: string[];
  /** The container's width, so a tip near the right edge opens to the left of the cursor. */
  width: number;
}

/** Where the cursor is inside `el`, as a tip of `lines`. */
export function tipAt(ev: { clientX: number; clientY: number }, el: Element, lines: string[]): Tip {
  const box = el.getBoundingClientRect();
  return { x: ev.clientX - box.left, y: ev.clientY - box.top, lines, width: box.width };
}

/**
 * The tooltip state of a chart: `show(ev, lines)` puts the lines at the cursor (null or no lines hides it), `hide()`
 * on leaving. The tip is placed relative to the element the handler is attached to's positioned container.
 */
export function useTip(): { tip: Tip | null; show: (ev: MouseEvent<Element>, lines: string[] | null) => void; hide: () => void } {
  const [tip, setTip] = useState<Tip | null>(null);
  const show = useCallback((ev: MouseEvent<Element>, lines: string[] | null) => {
    const host = (ev.currentTarget as Element).closest('[data-tip-host]') ?? ev.currentTarget;
    setTip(lines && lines.length ? tipAt(ev, host, lines) : null);
  }, []);
  const hide = useCallback(() => setTip(null), []);
  return { tip, show, hide };
}

/** Exact values at the cursor; on the page only (exported figures carry none). Its host needs `position: relative`. */
export function Tooltip({ tip, testId }: { tip: Tip | null; testId: string }) {
  if (!tip) return null;
  const flip = tip.x > tip.width * 0.6;
  return (
    <div
      className="chart-tooltip"
      role="tooltip"
      data-testid={testId}
      style={{ left: `${tip.x}px`, top: `${tip.y}px`, transform: `translate(${flip ? 'calc(-100% - 12px)' : '12px'}, 12px)` }}
    >
      {tip.lines.map((l, i) => (
        <div key={i} className={i === 0 ? 'tip-head' : undefined}>
          {l}
        </div>
      ))}
    </div>
  );
}
