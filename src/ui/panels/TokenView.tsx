import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { useController, useNotebook } from '../../state/StoreContext';
import { datasetsKey } from '../../state/slices/analysisSlice';
import { errorText } from '../../state/errorText';
import type { TokenWindowFor } from '../../state/traceController';
import { tickIndices } from '../charts/ticks';
import { Tooltip, useTip } from '../charts/Tooltip';
import { LayerSelect } from '../controls/LayerSelect';
import { formatInt, plural } from '../format';
import { useLayer, useManifest } from '../hooks';
import { blocksFor, expertColour, layerWidth, TOKEN_BLOCK, virtualScroll, visibleRows, visibleToken } from './tokenGrid';

/** Row height and the scroll box's height, px. */
const ROW = 18;
const VIEW_H = 396;
/** Rows rendered beyond the visible ones, either side; blocks kept in memory at most. */
const OVERSCAN = 12;
const KEEP_BLOCKS = 12;
/** Gap between layers' cells, px. */
const GAP = 1;

interface Blocks {
  scope: string;
  map: Map<number, TokenWindowFor>;
}

/**
 * A sequence's tokens as text, each layer's chosen experts beside them: one row per token, one cell per layer with
 * its top-k experts as coloured stripes (first choice on the left). Follows the dataset filter; the selected layer
 * (shared with co-activation and transitions) is outlined, and clicking a cell selects its layer. Only the visible
 * rows are rendered and only their blocks are read from the trace worker, so a 100k-token set scrolls as a small one.
 */
export function TokenView() {
  const controller = useController();
  const manifest = useManifest();
  const traceId = useNotebook((s) => s.current?.id ?? null);
  const datasets = useNotebook((s) => s.spec.datasets);
  const setLayer = useNotebook((s) => s.setLayer);
  const L = manifest?.numLayers ?? 0;
  const K = manifest?.topK ?? 0;
  const E = manifest?.numExperts ?? 0;
  const layer = useLayer(L);
  const key = datasetsKey(datasets);
  const [sequence, setSequence] = useState<number | null>(0);
  const scope = `${traceId}|${key}|${sequence}`;
  const [blocks, setBlocks] = useState<Blocks>({ scope, map: new Map() });
  const [error, setError] = useState<string | null>(null);
  const [scroll, setScroll] = useState({ top: 0, height: VIEW_H });
  const box = useRef<HTMLDivElement>(null);
  const inFlight = useRef(new Set<string>());
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  const { tip, show, hide } = useTip();

  // A new set or filter starts at its first sequence (or stays with every sequence in order).
  useEffect(() => {
    setSequence((s) => (s === null ? null : 0));
  }, [traceId, key]);
  // A new scope starts at the top with nothing read.
  useEffect(() => {
    setBlocks({ scope, map: new Map() });
    setError(null);
    box.current?.scrollTo({ top: 0 });
    setScroll((s) => ({ ...s, top: 0 }));
  }, [scope]);

  const current = blocks.scope === scope ? blocks.map : new Map<number, TokenWindowFor>();
  const any = current.values().next().value as TokenWindowFor | undefined;
  const rows = any?.rows ?? 0;
  const bodyH = Math.max(ROW, scroll.height - ROW); // the sticky header row takes one row's height
  const { space, rowTop } = virtualScroll(scroll.top, bodyH, rows, ROW);
  const { first, last } = visibleRows(rowTop, bodyH, ROW, rows);
  /** Where row r sits in the scroll space: at r·ROW, or near the scroll position when the space is scaled. */
  const yOf = (r: number) => Math.max(0, Math.min(space - ROW, scroll.top + r * ROW - rowTop));

  useEffect(() => {
    // A failed read is said once; the next scope (another sequence, filter or set) tries again.
    if (traceId === null || L === 0 || error !== null) return;
    const want = any ? blocksFor(first, last, rows, OVERSCAN) : [0];
    for (const b of want) {
      const id = `${scope}#${b}`;
      if (current.has(b) || inFlight.current.has(id)) continue;
      inFlight.current.add(id);
      controller
        .tokens(sequence, b * TOKEN_BLOCK, TOKEN_BLOCK)
        .then((w) => {
          if (scopeRef.current !== scope || w.traceId !== traceId || w.datasetsKey !== key) return;
          setBlocks((prev) => {
            const map = new Map(prev.scope === scope ? prev.map : []);
            map.set(b, w);
            // Keep the blocks nearest the one just read.
            if (map.size > KEEP_BLOCKS)
              for (const k of [...map.keys()].sort((x, y) => Math.abs(y - b) - Math.abs(x - b)).slice(0, map.size - KEEP_BLOCKS)) map.delete(k);
            return { scope, map };
          });
        })
        .catch((e: unknown) => {
          if (scopeRef.current === scope) setError(errorText(e));
        })
        .finally(() => inFlight.current.delete(id));
    }
  }, [controller, scope, sequence, traceId, key, L, first, last, rows, any, current, error]);

  const cellW = layerWidth(L, K);
  const gridW = L * (cellW + GAP);
  const layerIds = manifest?.moeLayerIds ?? [];
  const stripes = useMemo(() => (E > 0 ? Array.from({ length: E }, (_, e) => expertColour(e, E)) : []), [E]);
  if (!manifest || traceId === null) return null;

  const rowAt = (r: number): { w: TokenWindowFor; i: number } | null => {
    const w = current.get(Math.floor(r / TOKEN_BLOCK));
    if (!w) return null;
    const i = r - w.start;
    return i >= 0 && i < w.seq.length ? { w, i } : null;
  };
  const background = (w: TokenWindowFor, i: number): string => {
    const parts: string[] = [];
    for (let l = 0; l < L; l++) {
      const x0 = l * (cellW + GAP);
      for (let j = 0; j < K; j++) {
        const a = x0 + (j * cellW) / K;
        const b = x0 + ((j + 1) * cellW) / K;
        const c = stripes[w.experts[(i * L + l) * K + j]] ?? 'transparent';
        parts.push(`${c} ${a.toFixed(1)}px ${b.toFixed(1)}px`);
      }
      parts.push(`transparent ${(x0 + cellW).toFixed(1)}px ${(x0 + cellW + GAP).toFixed(1)}px`);
    }
    return `linear-gradient(to right, ${parts.join(', ')})`;
  };
  const cellOf = (ev: MouseEvent<HTMLElement>): { l: number; j: number } | null => {
    const x = ev.clientX - ev.currentTarget.getBoundingClientRect().left;
    const l = Math.floor(x / (cellW + GAP));
    if (l < 0 || l >= L || x - l * (cellW + GAP) >= cellW) return null;
    return { l, j: Math.min(K - 1, Math.floor(((x - l * (cellW + GAP)) / cellW) * K)) };
  };
  const tipLines = (r: number, l: number): string[] | null => {
    const at = rowAt(r);
    if (!at) return null;
    const { w, i } = at;
    const text = w.text ? ` “${visibleToken(w.text[i])}”` : w.tokenId && w.tokenId[i] >= 0 ? ` id ${w.tokenId[i]}` : '';
    const head = `layer ${layerIds[l] ?? l} · sequence ${w.seq[i]}, position ${w.pos[i]}${text}`;
    const lines = [head];
    for (let j = 0; j < K; j++) {
      const o = (i * L + l) * K + j;
      lines.push(`${j === 0 ? 'first' : `choice ${j + 1}`}: expert ${w.experts[o]}${w.weights ? `, weight ${w.weights[o].toFixed(4)}` : ''}`);
    }
    return lines;
  };

  const info = any?.sequence ?? null;
  const count = any?.sequences ?? 0;
  const rendered: number[] = [];
  if (rows > 0) for (let r = Math.max(0, first - OVERSCAN); r <= Math.min(rows - 1, last + OVERSCAN); r++) rendered.push(r);
  // The selected layer's expert ids as text beside the token: about 2.6 characters of 12 px digits each.
  const idsW = Math.max(56, Math.min(240, K * String(Math.max(0, E - 1)).length * 8 + K * 5));
  const textTitle = manifest.hasTokenText ? 'token' : manifest.hasTokenIds ? 'token id' : 'token (no text in this trace)';
  const labelled = tickIndices(L, Math.max(4, Math.floor(gridW / 28)));

  return (
    <section className="card" data-testid="token-view">
      <h2>Tokens and their experts</h2>
      <p className="muted small">
        One row per token{sequence === null ? ', sequence after sequence' : ' of the chosen sequence'}; one cell per MoE layer holding its top-{K} experts as
        stripes, first choice on the left, coloured by expert id. The selected layer is outlined; click a cell to select its layer, point at it for the exact
        experts{manifest.hasWeights ? ' and weights' : ''}.
      </p>
      <div className="token-controls">
        <label className="control">
          Sequence{' '}
          <input
            type="number"
            data-testid="tokens-sequence"
            min={1}
            max={Math.max(1, count)}
            value={(sequence ?? 0) + 1}
            disabled={sequence === null || count === 0}
            onChange={(e) => {
              const v = Math.round(Number(e.currentTarget.value));
              if (Number.isFinite(v)) setSequence(Math.max(0, Math.min(Math.max(0, count - 1), v - 1)));
            }}
          />{' '}
          <span className="muted" data-testid="tokens-sequence-count">
            of {formatInt(count)}
          </span>
        </label>
        <button
          type="button"
          data-testid="tokens-prev"
          disabled={sequence === null || sequence <= 0}
          onClick={() => setSequence((s) => Math.max(0, (s ?? 0) - 1))}
        >
          Previous
        </button>
        <button
          type="button"
          data-testid="tokens-next"
          disabled={sequence === null || sequence >= count - 1}
          onClick={() => setSequence((s) => Math.min(count - 1, (s ?? 0) + 1))}
        >
          Next
        </button>
        <label className="control">
          <input type="checkbox" data-testid="tokens-all" checked={sequence === null} onChange={(e) => setSequence(e.currentTarget.checked ? null : 0)} /> every
          sequence in order
        </label>
        <LayerSelect count={L} value={layer} layerIds={layerIds} label={(id) => `layer ${id}`} testId="tokens-layer" />
      </div>
      <p className="muted small" data-testid="tokens-scope">
        {info
          ? `Sequence ${formatInt(info.seq)} (${info.dataset}): ${plural(info.tokens, 'token')}.`
          : any
            ? `${plural(any.totalTokens, 'token')} in ${plural(count, 'sequence')}.`
            : count === 0 && any
              ? 'No tokens under this dataset filter.'
              : 'Reading tokens…'}
      </p>
      {error && (
        <p className="field-error" role="alert" data-testid="tokens-error">
          {error}
        </p>
      )}
      <div className="token-table" data-tip-host="" style={{ ['--token-ids-w' as string]: `${idsW}px` }}>
        <div
          ref={box}
          className="token-scroll"
          data-testid="token-scroll"
          data-rows={rows}
          data-rendered={rendered.length}
          style={{ height: `${VIEW_H}px` }}
          onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
          tabIndex={0}
          aria-label={`Tokens and the experts each layer chose: ${plural(rows, 'row')}`}
        >
          <div className="token-head" aria-hidden="true" style={{ height: `${ROW}px` }}>
            <span className="token-pos">{sequence === null ? 'seq:pos' : 'pos'}</span>
            <span className="token-text">{textTitle}</span>
            <span className="token-ids">{`layer ${layerIds[layer] ?? layer}`}</span>
            <span className="token-cells" style={{ width: `${gridW}px` }}>
              {labelled.map((l) => (
                <span key={l} className={l === layer ? 'token-layer selected' : 'token-layer'} style={{ left: `${l * (cellW + GAP)}px`, width: `${cellW}px` }}>
                  {layerIds[l] ?? l}
                </span>
              ))}
            </span>
          </div>
          <div className="token-space" style={{ height: `${space}px`, minWidth: `calc(var(--token-cells-left) + ${gridW}px)` }}>
            {rows > 0 && (
              <div
                className="token-selected"
                data-testid="token-selected-layer"
                data-layer={layer}
                style={{
                  top: `${Math.max(0, Math.min(space - bodyH, scroll.top))}px`,
                  left: `calc(var(--token-cells-left) + ${layer * (cellW + GAP)}px)`,
                  width: `${cellW}px`,
                  height: `${Math.min(space, bodyH)}px`,
                }}
              />
            )}
            {rendered.map((r) => {
              const at = rowAt(r);
              if (!at) {
                return (
                  <div key={r} className="token-row pending" style={{ top: `${yOf(r)}px`, height: `${ROW}px` }}>
                    <span className="token-pos">…</span>
                  </div>
                );
              }
              const { w, i } = at;
              const startsSeq = i > 0 ? w.seq[i - 1] !== w.seq[i] : r > 0 && w.pos[i] === 0;
              const text = w.text ? visibleToken(w.text[i]) : w.tokenId && w.tokenId[i] >= 0 ? `#${w.tokenId[i]}` : '—';
              return (
                <div
                  key={r}
                  className={startsSeq && sequence === null ? 'token-row seq-start' : 'token-row'}
                  data-testid="token-row"
                  data-row={r}
                  data-seq={w.seq[i]}
                  data-pos={w.pos[i]}
                  style={{ top: `${yOf(r)}px`, height: `${ROW}px` }}
                >
                  <span className="token-pos">{sequence === null ? `${w.seq[i]}:${w.pos[i]}` : w.pos[i]}</span>
                  <span className="token-text" data-testid="token-text">
                    {text}
                  </span>
                  <span className="token-ids" data-testid="token-ids">
                    {Array.from({ length: K }, (_, j) => w.experts[(i * L + layer) * K + j]).join(' ')}
                  </span>
                  <span
                    className="token-cells"
                    data-testid="token-cells"
                    data-first={Array.from({ length: L }, (_, l) => w.experts[(i * L + l) * K]).join(',')}
                    style={{ width: `${gridW}px`, backgroundImage: background(w, i) }}
                    onMouseMove={(ev) => {
                      const c = cellOf(ev);
                      show(ev, c ? tipLines(r, c.l) : null);
                    }}
                    onMouseLeave={hide}
                    onClick={(ev) => {
                      const c = cellOf(ev);
                      if (c) setLayer(c.l);
                    }}
                  />
                </div>
              );
            })}
          </div>
        </div>
        <Tooltip tip={tip} testId="token-tooltip" />
      </div>
      <p className="muted small">
        Colours: {E <= 10 ? 'one per expert' : `${E} experts in hues a golden angle apart, three lightness levels`}
        {E <= 16 && (
          <span className="token-legend" data-testid="token-legend">
            {stripes.map((c, e) => (
              <span key={e}>
                <i style={{ background: c }} aria-hidden="true" /> {e}
              </span>
            ))}
          </span>
        )}
      </p>
    </section>
  );
}
