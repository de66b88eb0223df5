// Lookout notebook: the JavaScript half of the PromQL notebook.
//
// Bundled by build.sh (esbuild, ESM, one self-contained file: dist/notebook.js) from pinned npm
// packages: CodeMirror 6 + @prometheus-io/codemirror-promql 0.42.0 for the editor, uPlot 1.6.32
// for charts. The Rust side imports it through wasm-bindgen. Styles are injected into
// document.head on first use (the same CSS is in dist/notebook.css for a <link>).
//
// Every text that can come from data (series labels, history entries, error messages,
// annotation texts, metric help) is set as text (textContent / canvas fillText), never as HTML.
//
// API (all arguments are plain JS values; callbacks may be wasm-bindgen closures):
//
//   createEditor(parent: HTMLElement, opts) -> EditorHandle
//     opts.doc?: string                       initial query
//     opts.placeholder?: string
//     opts.onChange?(doc: string)             every user edit (not for setDoc)
//     opts.onRun?(doc: string)                Shift+Enter, Ctrl+Enter, Cmd+Enter
//     opts.history?: string[]                 past queries, most recent first; offered as
//                                             completions (detail "history"): all of them on
//                                             Ctrl+Space / ArrowUp in an empty editor, and
//                                             those extending the typed text while typing
//     opts.client?: {                         backs autocompletion; each method may return a
//                                             value or a Promise; missing methods / rejections
//                                             give empty results
//       metricNames(prefix: string) -> string[]
//       labelNames(metric?: string) -> string[]
//       labelValues(label: string, metric?: string, matchers?: Matcher[]) -> string[]
//       metricMetadata() -> Record<string, {type, help, unit}[]>
//       series(metric: string, matchers?: Matcher[]) -> Record<string, string>[]
//     }
//     Matcher = { name: string, type: '=' | '!=' | '=~' | '!~', value: string }
//       (value is the string literal's text without its quotes, escapes not decoded;
//        labelValues gets the other matchers of the selector, without the label being
//        completed and without empty-valued ones, as Prometheus' own client does)
//   EditorHandle:
//     getDoc() -> string
//     setDoc(text: string)                    replaces the query (does not call onChange)
//     focus()
//     setError(from: number, to: number, message: string)
//                                             marks an engine error as a lint diagnostic;
//                                             offsets are in characters (Unicode code points,
//                                             i.e. Rust `chars()`), clamped to the query;
//                                             cleared by the next edit or clearError()
//     clearError()
//     setHistory(list: string[])
//     destroy()
//
//   createTimeSeries(parent: HTMLElement, opts) -> ChartHandle          (uPlot)
//     opts.width, opts.height: number         plot size in CSS px (legend below it)
//     opts.times: Float64Array | number[]     unix SECONDS, one per point
//     opts.series: [{ label: string, values: (number|null)[] | Float64Array, color?: string }]
//                                             null / NaN / ±Inf / missing are gaps (not joined)
//     opts.format?(v: number) -> string       value formatter for y axis, legend, tooltip
//     opts.thresholds?: [{ value: number, color: string }]
//     opts.thresholdStyle?: 'off' | 'line' | 'dashed' | 'area' | 'line+area' | 'dashed+area'
//                                             Grafana's thresholdsStyle.mode, default 'off'
//                                             (not drawn); 'area' fills from each threshold up
//                                             to the next one
//     opts.draw?: 'lines' | 'points' | 'bars' default 'lines'
//     opts.stacked?: boolean                  stack series (gaps stay gaps; tooltip and legend
//                                             show each series' own value)
//     opts.fillOpacity?: number               0..100, default 0
//     opts.lineWidth?: number                 line width in CSS pixels, default 1 (Grafana's)
//     opts.onZoom?(fromMs: number, toMs: number)   after a drag selection on the plot
//     opts.annotations?: [{ timeMs: number, color?: string, text?: string }]  vertical markers
//     opts.legend?: boolean                   default true (click a label to toggle a series)
//     opts.lineBuilder?: 'lean' | 'uplot'     lines' path builder: 'lean' (default) draws
//                                             the same pixels as uPlot's linear builder with
//                                             less work per point; 'uplot' for comparison
//     opts.alertThresholds?: [{ value: number, fill?: 'above' | 'below' }]   an alert's
//                                             thresholds: a solid red line each, the firing
//                                             side shaded; the y range includes them
//   ChartHandle: setData(times, series), setSize(width, height), destroy()
//
//   createHeatmap(parent: HTMLElement, opts) -> HeatmapHandle             (canvas)
//     opts.width, opts.height: number
//     opts.times: number[]                    unix SECONDS, one per column
//     opts.bounds: number[]                   bucket edges (length = buckets + 1), or upper bounds
//                                             only (length = buckets, e.g. Prometheus `le`; the
//                                             first bucket then starts at 0, or -Inf if le<=0)
//     opts.counts: number[][]                 counts[bucket][time]; null/NaN = no data
//     opts.colors?: string[]                  colour scale stops, low -> high (CSS colours)
//     opts.scale?: 'linear' | 'sqrt' | 'log'  count -> colour mapping, default 'sqrt'
//     opts.format?(bound: number) -> string   bucket bound formatter (axis, tooltip)
//   HeatmapHandle: setData(times, bounds, counts), setSize(width, height), destroy()
//
//   createSparkline(parent: HTMLElement, opts) -> SparklineHandle        (uPlot, no axes)
//     opts.width, opts.height, opts.times, opts.values, opts.color?, opts.fillOpacity? (default 15)
//   SparklineHandle: setData(times, values), setSize(width, height), destroy()

import { EditorState, Prec, StateEffect, StateField, Annotation } from '@codemirror/state';
import {
  EditorView,
  keymap,
  placeholder as placeholderExt,
  drawSelection,
  highlightSpecialChars,
} from '@codemirror/view';
import { history, historyKeymap, defaultKeymap } from '@codemirror/commands';
import {
  bracketMatching,
  indentOnInput,
  syntaxHighlighting,
  defaultHighlightStyle,
} from '@codemirror/language';
import {
  autocompletion,
  completionKeymap,
  closeBrackets,
  closeBracketsKeymap,
  startCompletion,
  closeCompletion,
  pickedCompletion,
} from '@codemirror/autocomplete';
import { linter, lintKeymap, forceLinting } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { EqlSingle, Neq, EqlRegex, NeqRegex } from '@prometheus-io/lezer-promql';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css';
import ownCss from './notebook.css';
import { storeOpen as openStore } from './dashboard-store.js';

// ---------------------------------------------------------------------------------------------
// shared helpers

const STYLE_ID = 'lookout-notebook-css';

function injectStyles() {
  if (typeof document === 'undefined' || document.getElementById(STYLE_ID)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = uplotCss + '\n' + ownCss;
  document.head.appendChild(style);
}

function isFn(f) {
  return typeof f === 'function';
}

// Calls a user callback; an exception in it must not break the widget.
function call(fn, ...args) {
  if (!isFn(fn)) return undefined;
  try {
    return fn(...args);
  } catch (e) {
    console.error('lookout notebook: callback failed', e);
    return undefined;
  }
}

function num(v, dflt) {
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

function toStr(v) {
  return v == null ? '' : String(v);
}

// A finite number, or null (null, undefined, NaN, ±Inf, non-numeric).
function finiteOrNull(v) {
  if (v == null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

function arrayLike(a) {
  return a != null && typeof a === 'object' && typeof a.length === 'number' ? a : [];
}

function fmtNum(v) {
  if (v == null || !Number.isFinite(v)) return toStr(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-4)) return v.toExponential(3);
  return String(parseFloat(v.toPrecision(6)));
}

function formatter(fn) {
  if (!isFn(fn)) return fmtNum;
  return (v) => {
    const s = call(fn, v);
    return s == null ? fmtNum(v) : String(s);
  };
}

const PALETTE = [
  '#3b6fd8', '#e8743b', '#19a979', '#ed4a7b', '#945ecf',
  '#13a4b4', '#d4a106', '#bf399e', '#6c8893', '#ee6868',
];

let colorCtx = null;
// Any CSS colour -> [r, g, b, a] (through a canvas, which normalises colours), or null.
function parseColor(c) {
  if (typeof c !== 'string' || c === '' || typeof document === 'undefined') return null;
  if (!colorCtx) colorCtx = document.createElement('canvas').getContext('2d');
  if (!colorCtx) return null;
  colorCtx.fillStyle = '#010203';
  colorCtx.fillStyle = c;
  const s = colorCtx.fillStyle;
  if (s === '#010203' && c.trim().toLowerCase() !== '#010203') return null; // invalid colour
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(s);
  if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16), 1];
  m = /^rgba?\(([^)]+)\)$/.exec(s);
  if (m) {
    const p = m[1].split(',').map((x) => parseFloat(x));
    return [p[0] || 0, p[1] || 0, p[2] || 0, p.length > 3 ? p[3] : 1];
  }
  return null;
}

function validColor(c, dflt) {
  return parseColor(c) ? c : dflt;
}

function withAlpha(c, alpha) {
  const p = parseColor(c) || [59, 111, 216, 1];
  return `rgba(${p[0]},${p[1]},${p[2]},${clamp(alpha * p[3], 0, 1)})`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  return e;
}

const fmtTime = uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}');
function timeText(sec) {
  return Number.isFinite(sec) ? fmtTime(new Date(sec * 1000)) : '';
}

// Times + per-series values -> sorted x array (finite times only) and value arrays of the same
// length (finite numbers or null). Missing values (short arrays) become null, extra ones are
// dropped.
function alignData(times, seriesValues) {
  const fast = alignedAlready(times, seriesValues);
  if (fast) return fast;
  const t = arrayLike(times);
  const idx = [];
  for (let i = 0; i < t.length; i++) {
    if (finiteOrNull(t[i]) != null) idx.push(i);
  }
  let sorted = true;
  for (let k = 1; k < idx.length; k++) {
    if (Number(t[idx[k]]) < Number(t[idx[k - 1]])) {
      sorted = false;
      break;
    }
  }
  if (!sorted) idx.sort((a, b) => Number(t[a]) - Number(t[b]));
  const xs = idx.map((i) => Number(t[i]));
  const ys = seriesValues.map((vals) => {
    const v = arrayLike(vals);
    return idx.map((i) => (i < v.length ? finiteOrNull(v[i]) : null));
  });
  return { xs, ys };
}

// The common case of a dense panel, without a copy: times finite and ascending, every
// series a Float64Array of the same length with finite values only. uPlot reads typed arrays
// as they are, and 1,000 series × 361 points copied into arrays of boxed numbers cost more
// than their drawing. Anything else (a gap, NaN, a short series) takes the copying path.
function alignedAlready(times, seriesValues) {
  if (!(times instanceof Float64Array)) return null;
  const n = times.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(times[i]) || (i > 0 && times[i] < times[i - 1])) return null;
  }
  for (const v of seriesValues) {
    if (!(v instanceof Float64Array) || v.length !== n) return null;
    for (let i = 0; i < n; i++) if (!Number.isFinite(v[i])) return null;
  }
  return { xs: times, ys: seriesValues };
}

// ---------------------------------------------------------------------------------------------
// editor

const MATCH_OPS = new Map([
  [EqlSingle, '='],
  [Neq, '!='],
  [EqlRegex, '=~'],
  [NeqRegex, '!~'],
]);

// codemirror-promql's Matcher objects carry a lezer token id as `type`; the ids change between
// lezer-promql versions, so they are mapped with the constants of the bundled version.
// Matchers without a known operator or a name (still being typed) are dropped.
function translateMatchers(matchers, completingLabel) {
  const out = [];
  for (const m of arrayLike(matchers)) {
    if (!m || typeof m.name !== 'string' || m.name === '') continue;
    const type = MATCH_OPS.get(m.type);
    if (!type) continue;
    const value = toStr(m.value);
    if (completingLabel !== undefined && (m.name === completingLabel || value === '')) continue;
    out.push({ name: m.name, type, value });
  }
  return out;
}

function stringList(v) {
  return Array.isArray(v) ? v.filter((s) => typeof s === 'string') : [];
}

// Wraps the page's client into codemirror-promql's PrometheusClient interface.
function promClient(client) {
  const ask = (name, args, fallback, clean) => {
    if (!client || !isFn(client[name])) return Promise.resolve(fallback);
    let p;
    try {
      p = Promise.resolve(client[name](...args));
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(
      (v) => clean(v),
      (e) => {
        console.warn(`lookout notebook: client.${name} failed`, e);
        return fallback;
      },
    );
  };
  return {
    metricNames: (prefix) => ask('metricNames', [toStr(prefix)], [], stringList),
    labelNames: (metric) => ask('labelNames', [metric || undefined], [], stringList),
    labelValues: (label, metric, matchers) =>
      ask('labelValues', [toStr(label), metric || undefined, translateMatchers(matchers, toStr(label))], [], stringList),
    metricMetadata: () =>
      ask('metricMetadata', [], {}, (v) => {
        const out = {};
        const entries = v instanceof Map ? Array.from(v.entries()) : v && typeof v === 'object' ? Object.entries(v) : [];
        for (const [name, list] of entries) {
          const items = Array.isArray(list) ? list : list ? [list] : [];
          out[name] = items
            .filter((m) => m && typeof m === 'object')
            .map((m) => ({ type: toStr(m.type) || 'unknown', help: toStr(m.help), unit: toStr(m.unit) }));
        }
        return out;
      }),
    series: (metric, matchers) =>
      ask('series', [toStr(metric), translateMatchers(matchers)], [], (v) =>
        (Array.isArray(v) ? v : [])
          .filter((s) => s && typeof s === 'object')
          .map((s) => (s instanceof Map ? s : new Map(Object.entries(s).map(([k, x]) => [k, toStr(x)])))),
      ),
    flags: () => Promise.resolve({}),
  };
}

const externalEdit = Annotation.define();
const setEngineError = StateEffect.define();
const engineErrorField = StateField.define({
  create: () => null,
  update(value, tr) {
    let set = false;
    for (const e of tr.effects) {
      if (e.is(setEngineError)) {
        value = e.value;
        set = true;
      }
    }
    if (!set && tr.docChanged) value = null;
    return value;
  },
});

function oneLine(s) {
  const t = s.replace(/\s*\n\s*/g, ' ⏎ ');
  return t.length > 140 ? t.slice(0, 139) + '…' : t;
}

function cleanHistory(list) {
  const seen = new Set();
  const out = [];
  for (const h of arrayLike(list)) {
    if (typeof h !== 'string' || h.trim() === '' || seen.has(h)) continue;
    seen.add(h);
    out.push(h);
    if (out.length >= 200) break;
  }
  return out;
}

// Unicode code point offset -> UTF-16 offset into `text` (clamped to the text).
function cpToUtf16(text, cp) {
  let units = 0;
  let n = 0;
  for (const ch of text) {
    if (n >= cp) break;
    units += ch.length;
    n++;
  }
  return units;
}

export function createEditor(parent, opts = {}) {
  injectStyles();
  opts = opts || {};
  let historyList = cleanHistory(opts.history);
  let destroyed = false;

  const historyOption = (text) => ({
    label: text,
    displayLabel: oneLine(text),
    detail: 'history',
    type: 'history',
    apply: (view, completion) => {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        selection: { anchor: text.length },
        annotations: pickedCompletion.of(completion),
        userEvent: 'input.complete',
      });
    },
  });

  // Empty editor + explicit request (Ctrl+Space, ArrowUp): every history entry. Otherwise the
  // entries that extend the text before the cursor, when only closing brackets or quotes (as
  // closeBrackets inserts them) follow the cursor; picking one replaces the whole query.
  const historySource = (ctx) => {
    if (!historyList.length) return null;
    const n = ctx.state.doc.length;
    if (n === 0) {
      if (!ctx.explicit) return null;
      return { from: 0, to: 0, options: historyList.map(historyOption), filter: false };
    }
    if (!/^[\s)\]}"'`]*$/.test(ctx.state.sliceDoc(ctx.pos, n))) return null;
    const text = ctx.state.sliceDoc(0, ctx.pos);
    const whole = ctx.state.doc.toString();
    const matches = historyList.filter((h) => h !== whole && h.startsWith(text));
    if (!matches.length) return null;
    return { from: 0, to: ctx.pos, options: matches.map(historyOption), filter: false };
  };

  // codemirror-promql gives the language, the linter and the completion strategy; the strategy
  // is called from this module's own autocompletion source list (with the history source).
  const promql = new PromQLExtension()
    .setComplete(opts.client ? { remote: promClient(opts.client) } : undefined)
    .activateCompletion(false)
    .activateLinter(true);
  const complete = promql.getComplete();
  const promqlSource = (ctx) => {
    // An explicit request in an empty editor shows the history alone.
    if (ctx.state.doc.length === 0 && ctx.explicit && historyList.length) return null;
    return complete.promQL(ctx);
  };

  const run = (view) => {
    closeCompletion(view);
    call(opts.onRun, view.state.doc.toString());
    return true;
  };

  const engineLinter = linter(
    (view) => {
      const d = view.state.field(engineErrorField, false);
      return d ? [d] : [];
    },
    {
      needsRefresh: (u) => u.startState.field(engineErrorField, false) !== u.state.field(engineErrorField, false),
    },
  );

  const extensions = [
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ override: [historySource, promqlSource], maxRenderedOptions: 200, icons: true }),
    EditorView.lineWrapping,
    Prec.highest(
      keymap.of([
        { key: 'Shift-Enter', run, preventDefault: true },
        { key: 'Mod-Enter', run, preventDefault: true },
        {
          key: 'ArrowUp',
          run: (view) => (view.state.doc.length === 0 && historyList.length ? startCompletion(view) : false),
        },
      ]),
    ),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
    promql.asExtension(),
    engineErrorField,
    engineLinter,
    EditorView.contentAttributes.of({ 'aria-label': 'PromQL query', spellcheck: 'false' }),
    EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      if (u.startState.field(engineErrorField, false) && !u.state.field(engineErrorField, false)) {
        // the edit cleared an engine error: re-lint now instead of after the linter's delay
        setTimeout(() => !destroyed && forceLinting(view), 0);
      }
      if (u.transactions.every((tr) => tr.annotation(externalEdit))) return;
      call(opts.onChange, u.state.doc.toString());
    }),
  ];
  if (opts.placeholder) extensions.push(placeholderExt(toStr(opts.placeholder)));

  const wrap = el('div', 'lk-editor');
  parent.appendChild(wrap);
  const view = new EditorView({
    state: EditorState.create({ doc: toStr(opts.doc), extensions }),
    parent: wrap,
  });

  return {
    getDoc: () => view.state.doc.toString(),
    setDoc(text) {
      text = toStr(text);
      if (destroyed || text === view.state.doc.toString()) return;
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        selection: { anchor: text.length },
        annotations: externalEdit.of(true),
      });
    },
    focus: () => !destroyed && view.focus(),
    setError(from, to, message) {
      if (destroyed) return;
      const text = view.state.doc.toString();
      const len = text.length;
      let a = cpToUtf16(text, Math.max(0, Math.floor(num(from, 0))));
      let b = cpToUtf16(text, Math.max(0, Math.floor(num(to, num(from, 0)))));
      if (b < a) [a, b] = [b, a];
      a = clamp(a, 0, len);
      b = clamp(b, 0, len);
      if (a === b) {
        if (b < len) b++;
        else if (a > 0) a--;
      }
      const diagnostic = { from: a, to: b, severity: 'error', source: 'engine', message: toStr(message) || 'error' };
      view.dispatch({ effects: setEngineError.of(diagnostic) });
      forceLinting(view);
    },
    clearError() {
      if (destroyed || !view.state.field(engineErrorField, false)) return;
      view.dispatch({ effects: setEngineError.of(null) });
      forceLinting(view);
    },
    setHistory(list) {
      historyList = cleanHistory(list);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      view.destroy();
      wrap.remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// time series chart (uPlot)

function cleanSeriesList(series) {
  return Array.from(arrayLike(series)).map((s, i) => {
    s = s && typeof s === 'object' ? s : {};
    return {
      label: toStr(s.label) || `series ${i + 1}`,
      color: validColor(s.color, PALETTE[i % PALETTE.length]),
      values: s.values,
    };
  });
}

// Stacks the shown series in order (the first one at the bottom). A gap stays a gap; a value
// stacks on the sum of the values below it at that time.
function stackValues(ys, shown) {
  const n = ys.length ? ys[0].length : 0;
  const acc = new Float64Array(n);
  const out = [];
  const bands = [];
  let below = -1;
  ys.forEach((vals, s) => {
    if (!shown[s]) {
      out.push(vals);
      return;
    }
    // (Array.from: the values may be a Float64Array, which cannot hold a gap's null.)
    out.push(Array.from(vals, (v, i) => (v == null ? null : (acc[i] += v))));
    if (below >= 0) bands.push({ series: [s + 1, below + 1] });
    below = s;
  });
  return { data: out, bands };
}

// A line series' path for the common case: linear scales, time along x left to right, no
// fill and no bands. The same points as uPlot.paths.linear() (positions rounded to device
// pixels), without its general machinery per point; a gap lifts the pen instead of clipping
// the joined line. Anything else, or a series dense enough for uPlot to thin out (≥ 4 points
// per pixel), goes to uPlot's own builder. (It is given only to series without a fill: uPlot
// turns every series' `fill` into a function, so the series cannot tell here.) For 1,000
// series × 361 points this is 361,000 points per draw: uPlot's builder spent ≈ 13 ms on them
// beyond the canvas calls.
const uplotLinear = uPlot.paths.linear();
function leanLines(u, si, i0, i1) {
  const s = u.series[si];
  const sx = u.scales.x;
  const sy = u.scales[s.scale];
  const { left, top, width, height } = u.bbox;
  if (
    u.mode !== 1 || !sx || !sy || sx.ori !== 0 || sx.dir !== 1 || sx.distr !== 1 || sy.distr !== 1 ||
    sy.dir !== 1 || (u.bands && u.bands.length) || i1 - i0 >= width * 4 ||
    !(sx.max > sx.min) || !(sy.max > sy.min)
  ) {
    return uplotLinear(u, si, i0, i1);
  }
  const xs = u.data[0];
  const ys = u.data[si];
  const kx = width / (sx.max - sx.min);
  const ky = height / (sy.max - sy.min);
  const x0 = sx.min;
  const y0 = sy.min;
  const bottom = top + height;
  const path = new Path2D();
  let pen = false;
  for (let i = i0; i <= i1; i++) {
    const v = ys[i];
    if (v == null) {
      pen = false;
      continue;
    }
    const x = Math.round(left + (xs[i] - x0) * kx);
    const y = Math.round(bottom - (v - y0) * ky);
    if (pen) path.lineTo(x, y);
    else {
      path.moveTo(x, y);
      pen = true;
    }
  }
  // flags 1: uPlot's BAND_CLIP_FILL, as its linear builder answers.
  return { stroke: path, fill: null, clip: null, band: null, gaps: null, flags: 1 };
}

function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  let longest = '';
  for (const v of values || []) if (v != null && String(v).length > longest.length) longest = String(v);
  if (longest !== '') {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  }
  return Math.ceil(size) + 2;
}

export function createTimeSeries(parent, opts = {}) {
  injectStyles();
  opts = opts || {};
  const fmt = formatter(opts.format);
  const draw = ['lines', 'points', 'bars'].includes(opts.draw) ? opts.draw : 'lines';
  const stacked = !!opts.stacked;
  const fillAlpha = clamp(num(opts.fillOpacity, 0), 0, 100) / 100;
  // Grafana's lineWidth (CSS pixels), default 1.
  const lineWidth = clamp(num(opts.lineWidth, 1), 0.5, 10);
  const thresholds = Array.from(arrayLike(opts.thresholds))
    .filter((t) => t && finiteOrNull(t.value) != null)
    .map((t) => ({ value: Number(t.value), color: validColor(t.color, '#d44a3a') }))
    .sort((a, b) => a.value - b.value);
  const thresholdStyle = toStr(opts.thresholdStyle) || 'off';
  const thresholdLines = ['line', 'dashed', 'line+area', 'dashed+area'].includes(thresholdStyle);
  const thresholdDashed = thresholdStyle.startsWith('dashed');
  const thresholdAreas = ['area', 'line+area', 'dashed+area'].includes(thresholdStyle);
  const annotations = Array.from(arrayLike(opts.annotations))
    .filter((a) => a && finiteOrNull(a.timeMs) != null)
    .map((a) => ({ t: Number(a.timeMs) / 1000, color: validColor(a.color, '#8a63d2'), text: toStr(a.text) }));
  const alertThresholds = Array.from(arrayLike(opts.alertThresholds))
    .filter((t) => t && finiteOrNull(t.value) != null)
    .map((t) => ({ value: Number(t.value), fill: t.fill === 'above' || t.fill === 'below' ? t.fill : null }));
  let width = Math.max(50, num(opts.width, 600));
  let height = Math.max(30, num(opts.height, 300));

  const root = el('div', 'lk-chart lk-ts');
  if (alertThresholds.length) root.dataset.alertThresholds = alertThresholds.map((t) => t.value).join(',');
  // The thresholds actually drawn (none with thresholdStyle 'off'), for tests and tools.
  root.dataset.thresholdsDrawn = thresholdLines || thresholdAreas ? thresholds.map((t) => t.value).join(',') : '';
  root.dataset.annotations = String(annotations.length);
  parent.appendChild(root);
  const tip = el('div', 'lk-tip');
  tip.hidden = true;

  let labels = [];
  let raw = { xs: [], ys: [] };
  let shown = [];
  let u = null;
  let destroyed = false;

  function plotData() {
    if (!stacked) return [raw.xs, ...raw.ys];
    return [raw.xs, ...stackValues(raw.ys, shown).data];
  }

  function annotationsNear(u, left) {
    if (!annotations.length || left == null || left < 0) return [];
    return annotations.filter((a) => Math.abs(u.valToPos(a.t, 'x') - left) <= 4);
  }

  function updateTip(u) {
    const idx = u.cursor.idx;
    const left = u.cursor.left;
    if (idx == null || left == null || left < 0 || !raw.xs.length) {
      tip.hidden = true;
      return;
    }
    const rows = [];
    raw.ys.forEach((vals, s) => {
      if (!u.series[s + 1].show) return;
      const v = vals[idx];
      if (v != null) rows.push({ s, v });
    });
    const anns = annotationsNear(u, left);
    tip.replaceChildren();
    tip.appendChild(el('div', 'lk-tip-time', timeText(raw.xs[idx])));
    if (stacked) rows.reverse();
    else rows.sort((a, b) => b.v - a.v);
    const MAX = 15;
    for (const r of rows.slice(0, MAX)) {
      const row = el('div', 'lk-tip-row');
      const sw = el('span', 'lk-tip-sw');
      sw.style.background = labels[r.s].color;
      row.append(sw, el('span', 'lk-tip-label', labels[r.s].label), el('span', 'lk-tip-val', fmt(r.v)));
      tip.appendChild(row);
    }
    if (rows.length > MAX) tip.appendChild(el('div', 'lk-tip-more', `+${rows.length - MAX} more`));
    if (!rows.length) tip.appendChild(el('div', 'lk-tip-more', 'no value'));
    for (const a of anns) {
      const d = el('div', 'lk-tip-ann', a.text || 'annotation');
      d.style.borderLeft = `3px solid ${a.color}`;
      d.style.paddingLeft = '4px';
      tip.appendChild(d);
    }
    tip.hidden = false;
    const over = u.over.getBoundingClientRect();
    const box = root.getBoundingClientRect();
    const ox = over.left - box.left;
    const oy = over.top - box.top;
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    let x = ox + left + 14;
    if (x + tw > ox + over.width) x = Math.max(0, ox + left - tw - 14);
    let y = oy + (u.cursor.top ?? 0) + 14;
    if (y + th > oy + over.height) y = Math.max(0, oy + over.height - th);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  }

  function drawThresholdAreas(u) {
    if (!thresholds.length || !thresholdAreas) return;
    const { ctx, bbox } = u;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    thresholds.forEach((t, i) => {
      const y0 = u.valToPos(t.value, 'y', true);
      const y1 = i + 1 < thresholds.length ? u.valToPos(thresholds[i + 1].value, 'y', true) : bbox.top;
      if (!Number.isFinite(y0) || !Number.isFinite(y1)) return;
      ctx.fillStyle = withAlpha(t.color, 0.12);
      ctx.fillRect(bbox.left, Math.min(y0, y1), bbox.width, Math.abs(y0 - y1));
    });
    ctx.restore();
  }

  function drawOverlays(u) {
    const { ctx, bbox } = u;
    const dpr = (typeof window !== 'undefined' && window.devicePixelRatio) || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    if (thresholdLines) {
      for (const t of thresholds) {
        const y = Math.round(u.valToPos(t.value, 'y', true)) + 0.5;
        if (!Number.isFinite(y)) continue;
        ctx.strokeStyle = t.color;
        ctx.lineWidth = dpr;
        ctx.setLineDash(thresholdDashed ? [6 * dpr, 4 * dpr] : []);
        ctx.beginPath();
        ctx.moveTo(bbox.left, y);
        ctx.lineTo(bbox.left + bbox.width, y);
        ctx.stroke();
      }
    }
    for (const t of alertThresholds) {
      const y = Math.round(u.valToPos(t.value, 'y', true)) + 0.5;
      if (!Number.isFinite(y)) continue;
      if (t.fill) {
        const top = t.fill === 'above' ? bbox.top : y;
        const bottom = t.fill === 'above' ? y : bbox.top + bbox.height;
        ctx.fillStyle = 'rgba(214, 50, 50, 0.12)';
        ctx.fillRect(bbox.left, Math.min(top, bottom), bbox.width, Math.abs(bottom - top));
      }
      ctx.strokeStyle = 'rgba(214, 50, 50, 0.9)';
      ctx.lineWidth = 1.5 * dpr;
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
    }
    ctx.setLineDash([3 * dpr, 3 * dpr]);
    for (const a of annotations) {
      const x = Math.round(u.valToPos(a.t, 'x', true)) + 0.5;
      if (!Number.isFinite(x) || x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.strokeStyle = a.color;
      ctx.fillStyle = a.color;
      ctx.lineWidth = dpr;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x - 4 * dpr, bbox.top);
      ctx.lineTo(x + 4 * dpr, bbox.top);
      ctx.lineTo(x, bbox.top + 6 * dpr);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }

  function build() {
    const seriesOpts = [{ label: 'Time', value: (u, v, si, i) => (i == null ? '--' : timeText(v)) }];
    labels.forEach((s, i) => {
      const so = {
        label: s.label,
        stroke: s.color,
        width: draw === 'points' ? 0 : lineWidth,
        spanGaps: false,
        show: shown[i],
        value: (u, v, si, idx) => {
          if (idx == null) return '--';
          const r = raw.ys[si - 1] ? raw.ys[si - 1][idx] : null;
          return r == null ? '—' : fmt(r);
        },
        points: draw === 'points' ? { show: true, size: 5, fill: s.color } : { fill: s.color },
      };
      if (fillAlpha > 0 || (stacked && draw === 'bars')) so.fill = withAlpha(s.color, draw === 'bars' ? Math.max(fillAlpha, 0.6) : fillAlpha);
      if (draw === 'bars') so.paths = uPlot.paths.bars({ size: [0.6, 64], align: 0 });
      if (draw === 'points') so.paths = () => null;
      if (draw === 'lines' && !so.fill && !stacked && opts.lineBuilder !== 'uplot') so.paths = leanLines;
      seriesOpts.push(so);
    });
    const yAxis = { size: axisSize, stroke: '#5a6372', grid: { stroke: 'rgba(0,0,0,0.07)' } };
    if (isFn(opts.format)) yAxis.values = (u, splits) => splits.map((v) => (v == null ? '' : fmt(v)));
    const yScale = {};
    if (stacked || draw === 'bars') {
      yScale.range = (u, min, max) => {
        const lo = Math.min(0, num(min, 0));
        const hi = Math.max(0, num(max, 1));
        return uPlot.rangeNum(lo, hi === lo ? lo + 1 : hi, 0.1, true);
      };
    } else if (alertThresholds.length) {
      yScale.range = (u, min, max) => {
        let lo = Number.isFinite(min) ? min : alertThresholds[0].value;
        let hi = Number.isFinite(max) ? max : alertThresholds[0].value;
        for (const t of alertThresholds) { lo = Math.min(lo, t.value); hi = Math.max(hi, t.value); }
        return uPlot.rangeNum(lo, hi === lo ? lo + 1 : hi, 0.1, true);
      };
    }
    const uopts = {
      width,
      height,
      series: seriesOpts,
      scales: { x: { time: true }, y: yScale },
      axes: [{ stroke: '#5a6372', grid: { stroke: 'rgba(0,0,0,0.07)' } }, yAxis],
      legend: { show: opts.legend !== false, live: true },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        focus: { prox: 16 },
        dataIdx: (u, seriesIdx, closestIdx) => closestIdx,
      },
      focus: { alpha: 0.4 },
      bands: stacked ? stackValues(raw.ys, shown).bands : [],
      hooks: {
        drawClear: [drawThresholdAreas],
        draw: [drawOverlays],
        setCursor: [updateTip],
        setSelect: [
          (u) => {
            const { left, width: w } = u.select;
            if (w < 2 || !isFn(opts.onZoom)) return;
            const from = u.posToVal(left, 'x');
            const to = u.posToVal(left + w, 'x');
            if (Number.isFinite(from) && Number.isFinite(to)) call(opts.onZoom, from * 1000, to * 1000);
          },
        ],
        setSeries: [
          (u, si) => {
            if (si == null) return;
            const now = labels.map((_, i) => u.series[i + 1].show);
            if (now.every((v, i) => v === shown[i])) return;
            shown = now;
            if (!stacked) return;
            const st = stackValues(raw.ys, shown);
            const xMin = u.scales.x.min;
            const xMax = u.scales.x.max;
            u.delBand(null);
            st.bands.forEach((b) => u.addBand(b));
            u.setData([raw.xs, ...st.data]);
            if (Number.isFinite(xMin) && Number.isFinite(xMax)) u.setScale('x', { min: xMin, max: xMax });
          },
        ],
      },
    };
    u = new uPlot(uopts, plotData(), root);
    u.over.addEventListener('mouseleave', () => (tip.hidden = true));
    root.appendChild(tip);
  }

  function setData(times, series, forceRebuild) {
    if (destroyed) return;
    const next = cleanSeriesList(series);
    const same =
      !forceRebuild &&
      u != null &&
      next.length === labels.length &&
      next.every((s, i) => s.label === labels[i].label && s.color === labels[i].color);
    raw = alignData(times, next.map((s) => s.values));
    if (same) {
      if (stacked) {
        const st = stackValues(raw.ys, shown);
        u.delBand(null);
        st.bands.forEach((b) => u.addBand(b));
        u.setData([raw.xs, ...st.data]);
      } else {
        u.setData(plotData());
      }
      return;
    }
    labels = next.map(({ label, color }) => ({ label, color }));
    shown = labels.map(() => true);
    if (u) u.destroy();
    tip.hidden = true;
    build();
  }

  setData(opts.times, opts.series, true);

  return {
    setData: (times, series) => setData(times, series, false),
    setSize(w, h) {
      if (destroyed) return;
      width = Math.max(50, num(w, width));
      height = Math.max(30, num(h, height));
      u.setSize({ width, height });
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      u.destroy();
      root.remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// sparkline (uPlot without axes)

export function createSparkline(parent, opts = {}) {
  injectStyles();
  opts = opts || {};
  const color = validColor(opts.color, PALETTE[0]);
  const alpha = clamp(num(opts.fillOpacity, 15), 0, 100) / 100;
  let width = Math.max(10, num(opts.width, 120));
  let height = Math.max(8, num(opts.height, 32));
  const root = el('div', 'lk-spark');
  parent.appendChild(root);
  const data = (times, values) => {
    const { xs, ys } = alignData(times, [values]);
    return [xs, ys[0]];
  };
  const u = new uPlot(
    {
      width,
      height,
      pxAlign: false,
      padding: [2, 1, 2, 1],
      legend: { show: false },
      cursor: { show: false },
      select: { show: false },
      scales: { x: { time: false } },
      axes: [{ show: false }, { show: false }],
      series: [
        {},
        Object.assign(
          { stroke: color, width: 1.5, spanGaps: false, points: { show: false } },
          alpha > 0 ? { fill: withAlpha(color, alpha) } : {},
        ),
      ],
    },
    data(opts.times, opts.values),
    root,
  );
  let destroyed = false;
  return {
    setData: (times, values) => !destroyed && u.setData(data(times, values)),
    setSize(w, h) {
      if (destroyed) return;
      width = Math.max(10, num(w, width));
      height = Math.max(8, num(h, height));
      u.setSize({ width, height });
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      u.destroy();
      root.remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// heatmap (canvas)

const TICKS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
const HEAT_COLORS = ['#deebf7', '#9ecae1', '#4292c6', '#08519c', '#08306b'];

function niceTime(sec, spanSec) {
  const d = new Date(sec * 1000);
  const p = (n) => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (spanSec < 120) return `${hm}:${p(d.getSeconds())}`;
  if (spanSec <= 86400) return hm;
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${hm}`;
}

function bucketRanges(bounds, nb) {
  const b = Array.from(arrayLike(bounds)).map((v) => (v == null ? NaN : Number(v)));
  const out = [];
  if (b.length === nb + 1) {
    for (let i = 0; i < nb; i++) out.push([b[i], b[i + 1]]);
  } else {
    for (let i = 0; i < nb; i++) {
      const hi = i < b.length ? b[i] : NaN;
      const lo = i > 0 ? (i - 1 < b.length ? b[i - 1] : NaN) : hi > 0 ? 0 : -Infinity;
      out.push([lo, hi]);
    }
  }
  return out;
}

export function createHeatmap(parent, opts = {}) {
  injectStyles();
  opts = opts || {};
  const fmtBound = (v) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? '?' : formatter(opts.format)(v));
  const scaleKind = ['linear', 'sqrt', 'log'].includes(opts.scale) ? opts.scale : 'sqrt';
  let stops = Array.from(arrayLike(opts.colors)).map(parseColor).filter(Boolean);
  if (stops.length < 2) stops = HEAT_COLORS.map(parseColor).filter(Boolean);
  if (stops.length < 2) stops = [[222, 235, 247, 1], [8, 48, 107, 1]];
  let width = Math.max(60, num(opts.width, 600));
  let height = Math.max(40, num(opts.height, 240));

  const root = el('div', 'lk-chart lk-heatmap');
  const canvas = document.createElement('canvas');
  const tip = el('div', 'lk-tip');
  tip.hidden = true;
  root.append(canvas, tip);
  parent.appendChild(root);
  const ctx = canvas.getContext('2d');

  let xs = [];
  let ranges = [];
  let grid = []; // grid[bucket][col] = count | null
  let maxCount = 0;
  let layout = null;
  let hover = null;
  let destroyed = false;

  function setData(times, bounds, counts) {
    const rows = Array.from(arrayLike(counts));
    const { xs: x, ys } = alignData(times, rows);
    xs = x;
    grid = ys;
    ranges = bucketRanges(bounds, grid.length);
    maxCount = 0;
    for (const r of grid) for (const v of r) if (v != null && v > maxCount) maxCount = v;
    hover = null;
    tip.hidden = true;
    render();
  }

  function colorFor(v) {
    if (maxCount <= 0) return null;
    let f;
    if (scaleKind === 'log') f = Math.log1p(Math.max(0, v)) / Math.log1p(maxCount);
    else if (scaleKind === 'sqrt') f = Math.sqrt(Math.max(0, v) / maxCount);
    else f = Math.max(0, v) / maxCount;
    f = clamp(f, 0, 1) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(f));
    const t = f - i;
    const a = stops[i];
    const b = stops[i + 1];
    const m = (k) => a[k] + (b[k] - a[k]) * t;
    return `rgba(${Math.round(m(0))},${Math.round(m(1))},${Math.round(m(2))},${m(3)})`;
  }

  function render() {
    if (destroyed || !ctx) return;
    const dpr = (typeof window !== 'undefined' && window.devicePixelRatio) || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    const nb = grid.length;
    const nt = xs.length;
    // y labels: bucket edges
    const edgeLabels = [];
    for (let i = 0; i < nb; i++) {
      if (i === 0) edgeLabels.push(fmtBound(ranges[i][0]));
      edgeLabels.push(fmtBound(ranges[i][1]));
    }
    let labelW = 0;
    for (const l of edgeLabels) labelW = Math.max(labelW, ctx.measureText(l).width);
    const left = Math.ceil(labelW) + 8;
    const top = 6;
    const bottom = 20;
    const pw = Math.max(1, width - left - 6);
    const ph = Math.max(1, height - top - bottom);
    layout = { left, top, pw, ph, nb, nt };
    ctx.fillStyle = '#f6f7f9';
    ctx.fillRect(left, top, pw, ph);
    if (!nb || !nt) {
      ctx.fillStyle = '#8a94a6';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('no data', left + pw / 2, top + ph / 2);
      return;
    }
    const cw = pw / nt;
    const rh = ph / nb;
    for (let b = 0; b < nb; b++) {
      const y = top + ph - (b + 1) * rh;
      for (let t = 0; t < nt; t++) {
        const v = grid[b][t];
        if (v == null || v <= 0) continue;
        const c = colorFor(v);
        if (!c) continue;
        ctx.fillStyle = c;
        ctx.fillRect(left + t * cw, y, Math.ceil(cw), Math.ceil(rh));
      }
    }
    if (hover) {
      ctx.strokeStyle = '#1d2330';
      ctx.lineWidth = 1;
      ctx.strokeRect(left + hover.t * cw + 0.5, top + ph - (hover.b + 1) * rh + 0.5, Math.max(1, cw - 1), Math.max(1, rh - 1));
    }
    // y axis labels (skip some if rows are too thin)
    ctx.fillStyle = '#5a6372';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const every = Math.max(1, Math.ceil(14 / rh));
    for (let i = 0; i <= nb; i += every) ctx.fillText(edgeLabels[i], left - 4, top + ph - i * rh);
    // x axis labels at round times (columns are taken as evenly spaced)
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const span = xs[nt - 1] - xs[0];
    const dt = nt > 1 ? span / (nt - 1) : 60;
    const t0 = xs[0] - dt / 2;
    const secPerPx = (dt * nt) / pw;
    const labelPx = ctx.measureText(niceTime(xs[0], span)).width + 20;
    const tick = TICKS.find((s) => s >= labelPx * secPerPx) || TICKS[TICKS.length - 1];
    const tz = new Date(xs[0] * 1000).getTimezoneOffset() * 60; // round in local time
    for (let t = Math.ceil((t0 - tz) / tick) * tick + tz; t <= t0 + dt * nt; t += tick) {
      const x = left + ((t - t0) / (dt * nt)) * pw;
      if (x < left + 12 || x > left + pw - 12) continue;
      ctx.fillText(niceTime(t, span), x, top + ph + 4);
    }
  }

  function onMove(e) {
    if (!layout || !layout.nb || !layout.nt) return;
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left - layout.left;
    const y = e.clientY - r.top - layout.top;
    if (x < 0 || y < 0 || x >= layout.pw || y >= layout.ph) {
      onLeave();
      return;
    }
    const t = Math.min(layout.nt - 1, Math.floor(x / (layout.pw / layout.nt)));
    const b = Math.min(layout.nb - 1, layout.nb - 1 - Math.floor(y / (layout.ph / layout.nb)));
    if (!hover || hover.t !== t || hover.b !== b) {
      hover = { t, b };
      render();
    }
    const [lo, hi] = ranges[b];
    const v = grid[b][t];
    tip.replaceChildren(
      el('div', 'lk-tip-time', timeText(xs[t])),
      el('div', 'lk-tip-row', `bucket (${fmtBound(lo)}, ${fmtBound(hi)}]`),
      el('div', 'lk-tip-row', `count ${v == null ? 'no data' : fmtNum(v)}`),
    );
    tip.hidden = false;
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    let tx = e.clientX - r.left + 12;
    if (tx + tw > width) tx = Math.max(0, e.clientX - r.left - tw - 12);
    let ty = e.clientY - r.top + 12;
    if (ty + th > height) ty = Math.max(0, height - th);
    tip.style.left = `${tx}px`;
    tip.style.top = `${ty}px`;
  }

  function onLeave() {
    tip.hidden = true;
    if (hover) {
      hover = null;
      render();
    }
  }

  canvas.addEventListener('mousemove', onMove);
  canvas.addEventListener('mouseleave', onLeave);
  setData(opts.times, opts.bounds, opts.counts);

  return {
    setData: (times, bounds, counts) => !destroyed && setData(times, bounds, counts),
    setSize(w, h) {
      if (destroyed) return;
      width = Math.max(60, num(w, width));
      height = Math.max(40, num(h, height));
      render();
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      canvas.removeEventListener('mousemove', onMove);
      canvas.removeEventListener('mouseleave', onLeave);
      root.remove();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dashboards: browser storage (IndexedDB) and the tabs' channel, see dashboard-store.js

export {
  storeList, storeGet, storeSave, storeMark, storeDelete, storeVersions, channelPost, channelListen,
} from './dashboard-store.js';

/** Opens the dashboards' database (and adds the notebook's styles to the page). */
export function storeOpen() {
  injectStyles();
  return openStore();
}
