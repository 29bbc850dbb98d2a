// Token-confidence view of itc-lab (an anywidget front-end module).
//
// Every generated token is a span coloured by its probability; hovering or focusing a token
// shows its probability and the alternatives the model considered at that position.
//
// Model text is untrusted: it reaches the page only through textContent / createTextNode,
// never through innerHTML.
//
// Synced traits read here: tokens, title, model, note, text (see itc_lab/widgets.py).
//
// The helpers marked `export` are shared with the chain-of-thought viewer (trace_view.js), which
// imports them; for the notebook, itc_lab.widgets inlines this file into that module.

/** Probabilities below this are "low" (red). Keep in sync with itc_lab.widgets.LOW_BELOW. */
export const LOW_BELOW = 0.3;
/** Probabilities from this up are "high" (green). Keep in sync with itc_lab.widgets.HIGH_FROM. */
export const HIGH_FROM = 0.7;

const TRAITS = ["tokens", "title", "model", "note", "text"];
// Tooltip ids must be unique in the page, also when several copies of this module are loaded.
const MODULE_TAG = Math.random().toString(36).slice(2, 8);
let nextId = 0;

/** A fresh id for a tooltip element, unique in the page. */
export function newTipId(prefix = "itc-tv-tip") {
  nextId += 1;
  return `${prefix}-${MODULE_TAG}-${nextId}`;
}

/** The confidence band of a probability: "low", "medium", "high", or "none" without one. */
export function band(p) {
  if (typeof p !== "number" || Number.isNaN(p)) return "none";
  if (p < LOW_BELOW) return "low";
  if (p < HIGH_FROM) return "medium";
  return "high";
}

/** A probability as text: three decimals, or scientific notation when tiny. */
export function formatP(p) {
  if (typeof p !== "number" || Number.isNaN(p)) return "n/a";
  if (p !== 0 && p < 0.001) return p.toExponential(1);
  return p.toFixed(3);
}

function formatLogprob(lp) {
  if (typeof lp !== "number" || Number.isNaN(lp)) return "n/a";
  return lp.toFixed(3).replace("-", "\u2212");
}

/** Token text with its whitespace spelled out, e.g. "\" the\"" or "\"\\n\"". */
function quoted(text) {
  return JSON.stringify(String(text));
}

/** An element with a class and text content (never markup). */
export function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** Fill a token span: text nodes only, with faint marks for newlines, tabs and empty tokens. */
export function fillTokenText(span, text) {
  const s = String(text);
  if (s === "") {
    span.appendChild(node("span", "itc-tv-mark", "\u2205"));
    return;
  }
  for (const part of s.split(/(\n|\t)/)) {
    if (part === "") continue;
    if (part === "\n") {
      span.appendChild(node("span", "itc-tv-mark", "\u21b5"));
      span.appendChild(document.createTextNode("\n"));
    } else if (part === "\t") {
      span.appendChild(node("span", "itc-tv-mark", "\u21e5"));
      span.appendChild(document.createTextNode("\t"));
    } else {
      span.appendChild(document.createTextNode(part));
    }
  }
}

const LEGEND = [
  ["low", `low: p < ${LOW_BELOW}`],
  ["medium", `medium: ${LOW_BELOW} \u2264 p < ${HIGH_FROM}`],
  ["high", `high: p \u2265 ${HIGH_FROM}`],
];

/** The colour legend of the bands ("no logprob" too when some tokens have none). */
export function legend(hasMissing) {
  const box = node("div", "itc-tv-legend");
  box.setAttribute("aria-label", "Colour legend");
  const items = hasMissing ? [...LEGEND, ["none", "no logprob"]] : LEGEND;
  for (const [name, label] of items) {
    const item = node("span", "itc-tv-legend-item");
    item.appendChild(node("span", `itc-tv-swatch itc-tv-${name}`, "Aa"));
    item.appendChild(node("span", "", label));
    box.appendChild(item);
  }
  return box;
}

/** The header line: token count, mean p and the least likely token. */
export function stats(tokens) {
  const withP = tokens
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => typeof t.prob === "number");
  const parts = [`${tokens.length} token${tokens.length === 1 ? "" : "s"}`];
  if (withP.length) {
    const mean = withP.reduce((s, { t }) => s + t.prob, 0) / withP.length;
    let low = withP[0];
    for (const x of withP) if (x.t.prob < low.t.prob) low = x;
    parts.push(`mean p ${formatP(mean)}`);
    const lowText = quoted(low.t.text);
    const shown = lowText.length > 32 ? `${lowText.slice(0, 31)}\u2026` : lowText;
    parts.push(`lowest ${shown} p ${formatP(low.t.prob)}`);
  }
  return parts.join(" \u00b7 ");
}

/** Fill the tooltip with a token's probability and the alternatives at its position. */
export function fillTip(tip, tok, index) {
  tip.replaceChildren();
  const head = node("div", "itc-tv-tip-head");
  head.appendChild(node("code", "itc-tv-tip-text", quoted(tok.text)));
  const b = band(tok.prob);
  head.appendChild(node("span", `itc-tv-badge itc-tv-${b}`, b === "none" ? "no logprob" : b));
  tip.appendChild(head);
  tip.appendChild(
    node(
      "div",
      "itc-tv-tip-p",
      `token ${index + 1} \u00b7 p = ${formatP(tok.prob)} \u00b7 logprob ${formatLogprob(tok.logprob)}`,
    ),
  );
  const top = Array.isArray(tok.top) ? tok.top : [];
  if (!top.length) {
    tip.appendChild(
      node("div", "itc-tv-tip-empty", "No alternatives returned (ask with top_logprobs=5)."),
    );
    return;
  }
  const table = node("table", "itc-tv-alts");
  const thead = node("thead");
  const hr = node("tr");
  for (const h of ["alternative", "p", ""]) hr.appendChild(node("th", "", h));
  thead.appendChild(hr);
  table.appendChild(thead);
  const body = node("tbody");
  for (const alt of top) {
    const chosen = alt.text === tok.text;
    const tr = node("tr", chosen ? "itc-tv-alt itc-tv-chosen" : "itc-tv-alt");
    tr.appendChild(node("td", "itc-tv-alt-text", quoted(alt.text) + (chosen ? " \u2190" : "")));
    tr.appendChild(node("td", "itc-tv-alt-p", formatP(alt.prob)));
    const barCell = node("td", "itc-tv-alt-barcell");
    const bar = node("span", `itc-tv-bar itc-tv-${band(alt.prob)}`);
    const width = typeof alt.prob === "number" ? Math.max(0, Math.min(1, alt.prob)) : 0;
    bar.style.width = `${(width * 100).toFixed(1)}%`;
    barCell.appendChild(bar);
    tr.appendChild(barCell);
    body.appendChild(tr);
  }
  table.appendChild(body);
  tip.appendChild(table);
}

function draw(model, root) {
  root.replaceChildren();
  const tokens = Array.isArray(model.get("tokens")) ? model.get("tokens") : [];
  const title = model.get("title") || "Token confidence";
  const modelName = model.get("model") || "";
  const note = model.get("note") || "";

  const header = node("div", "itc-tv-header");
  header.appendChild(node("span", "itc-tv-title", title));
  if (modelName) header.appendChild(node("span", "itc-tv-model", modelName));
  if (tokens.length) header.appendChild(node("span", "itc-tv-stats", stats(tokens)));
  root.appendChild(header);

  if (note) {
    const n = node("div", "itc-tv-note", note);
    n.setAttribute("role", "note");
    root.appendChild(n);
  }

  if (!tokens.length) {
    // No logprobs: the plain text, uncoloured.
    root.appendChild(node("div", "itc-tv-plain", model.get("text") || ""));
    return;
  }

  const hasMissing = tokens.some((t) => typeof t.prob !== "number");
  root.appendChild(legend(hasMissing));

  const tipId = newTipId();
  const text = node("div", "itc-tv-text");
  text.setAttribute("role", "group");
  text.setAttribute(
    "aria-label",
    "Generated tokens. Arrow keys move between tokens; Escape hides the details.",
  );
  const spans = tokens.map((tok, i) => {
    const span = tokenSpan(tok, i, tipId);
    text.appendChild(span);
    return span;
  });
  root.appendChild(text);
  attachTips(root, text, tokens, spans, tipId);
}

/**
 * A token as a span coloured by its band. `index` is its position among the view's tokens (the
 * first one is the single Tab stop); `tipId` is the tooltip that describes it.
 */
export function tokenSpan(tok, index, tipId) {
  const b = band(tok.prob);
  const span = node("span", `itc-tv-tok itc-tv-${b}`);
  span.dataset.index = String(index);
  span.dataset.band = b;
  span.tabIndex = index === 0 ? 0 : -1;
  span.setAttribute("aria-describedby", tipId);
  fillTokenText(span, tok.text);
  return span;
}

/**
 * Show a token's details on hover or keyboard focus. `spans[i]` (made by tokenSpan) shows
 * `tokens[i]`; all of them are inside `container`. The tooltip (id `tipId`) is appended to `root`,
 * which must be positioned (class itc-tv). Arrow keys, Home and End move between the tokens;
 * Escape hides the details.
 */
export function attachTips(root, container, tokens, spans, tipId) {
  const tip = node("div", "itc-tv-tip");
  tip.id = tipId;
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  root.appendChild(tip);

  let hovered = null;
  let focused = null;

  // The tooltip stays inside the view's own box, so an output area that scrolls or clips its
  // content never cuts it: below the token if it fits, else above it, else the view grows by
  // the missing height while the tooltip shows.
  function place(span) {
    root.style.paddingBottom = "";
    const rects = span.getClientRects();
    const r = rects.length ? rects[0] : span.getBoundingClientRect();
    const rootBox = root.getBoundingClientRect();
    const maxLeft = Math.max(0, root.clientWidth - tip.offsetWidth - 4);
    const left = Math.min(Math.max(0, r.left - rootBox.left), maxLeft);
    const below = r.bottom - rootBox.top + 4;
    const above = r.top - rootBox.top - 4 - tip.offsetHeight;
    let top = below;
    if (below + tip.offsetHeight > root.clientHeight) {
      if (above >= 0) top = above;
      else {
        const pad = parseFloat(getComputedStyle(root).paddingBottom) || 0;
        root.style.paddingBottom = `${pad + below + tip.offsetHeight - root.clientHeight + 4}px`;
      }
    }
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  function show(span) {
    const i = Number(span.dataset.index);
    for (const s of spans) s.classList.toggle("itc-tv-active", s === span);
    fillTip(tip, tokens[i], i);
    tip.hidden = false;
    place(span);
  }

  function hide() {
    tip.hidden = true;
    root.style.paddingBottom = "";
    for (const s of spans) s.classList.remove("itc-tv-active");
  }

  function refresh() {
    const target = hovered || focused;
    if (target) show(target);
    else hide();
  }

  const tokenOf = (e) => (e.target instanceof Element ? e.target.closest(".itc-tv-tok") : null);

  container.addEventListener("mouseover", (e) => {
    const span = tokenOf(e);
    if (span && span !== hovered) {
      hovered = span;
      refresh();
    }
  });
  container.addEventListener("mouseleave", () => {
    hovered = null;
    refresh();
  });
  container.addEventListener("focusin", (e) => {
    const span = tokenOf(e);
    if (!span) return;
    focused = span;
    for (const s of spans) s.tabIndex = s === span ? 0 : -1;
    refresh();
  });
  container.addEventListener("focusout", () => {
    focused = null;
    refresh();
  });
  container.addEventListener("keydown", (e) => {
    const span = tokenOf(e);
    if (!span) return;
    const i = Number(span.dataset.index);
    let j = null;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") j = Math.min(i + 1, spans.length - 1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") j = Math.max(i - 1, 0);
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = spans.length - 1;
    else if (e.key === "Escape") {
      hovered = null;
      hide();
      e.preventDefault();
      return;
    }
    if (j === null) return;
    e.preventDefault();
    spans[j].focus();
  });
  return tip;
}

function render({ model, el }) {
  const root = node("div", "itc-tv");
  el.appendChild(root);
  const redraw = () => draw(model, root);
  redraw();
  for (const name of TRAITS) model.on(`change:${name}`, redraw);
  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, redraw);
    root.remove();
  };
}

export default { render };
