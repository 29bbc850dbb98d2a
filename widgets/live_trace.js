// Live trace view of itc-lab (an anywidget front-end module): tokens stream into each sample's
// box as the model writes them, coloured by their probability.
//
// Synced traits read here: title, samples, meter, stoppable (see itc_lab/live/views.py,
// LiveTraceView). Tokens are model text: they reach the page only through text nodes
// (fillTokenText) and the title attribute, never through innerHTML. New tokens are appended;
// a box is redrawn only when its tokens were replaced (a finished sample's final tokens).

import { band, fillTokenText, formatP, legend, node } from "./token_view.js";
import { meterBar } from "./live_meter.js";

/** A token's tooltip: its probability and the alternatives at its position. */
export function tokenTitle(tok) {
  let t = `p = ${formatP(tok.prob)}`;
  const top = Array.isArray(tok.top) ? tok.top.slice(0, 5) : [];
  if (top.length) {
    t += " \u00b7 top: " + top.map((a) => `${JSON.stringify(String(a.text))} ${formatP(a.prob)}`).join(", ");
  }
  return t;
}

function tokenSpan(tok) {
  const span = node("span", `itc-tv-tok itc-tv-${band(tok.prob)}`);
  fillTokenText(span, tok.text);
  span.title = tokenTitle(tok);
  return span;
}

function sameStart(shown, tokens) {
  if (shown.length > tokens.length) return false;
  for (let i = 0; i < shown.length; i++) {
    if (shown[i].text !== tokens[i].text || shown[i].prob !== tokens[i].prob) return false;
  }
  return true;
}

function render({ model, el: host }) {
  const root = node("div", "itc-tv itc-live itc-live-trace");
  const title = node("div", "itc-live-title");
  const meter = meterBar(model);
  const key = node("div", "itc-live-legend");
  const list = node("div", "itc-live-samples");
  root.append(title, meter.root, key, list);
  host.appendChild(root);
  const boxes = [];
  let legendShown = false;
  const draw = () => {
    title.textContent = model.get("title") || "Tokens as they arrive";
    const samples = model.get("samples") || [];
    if (!legendShown && samples.some((s) => (s.tokens || []).some((t) => typeof t.prob === "number"))) {
      key.replaceChildren(legend(false));
      legendShown = true;
    }
    while (boxes.length > samples.length) boxes.pop().root.remove();
    samples.forEach((s, i) => {
      let b = boxes[i];
      if (!b || b.seed !== s.seed) {
        if (b) b.root.remove();
        b = { seed: s.seed, shown: [], root: node("div", "itc-live-sample") };
        b.head = node("div", "itc-live-sample-head");
        b.text = node("div", "itc-live-sample-text");
        b.more = node("span", "itc-live-more");
        b.root.append(b.head, b.text);
        if (i < boxes.length) list.replaceChild(b.root, boxes[i].root);
        else list.appendChild(b.root);
        boxes[i] = b;
      }
      const tokens = s.tokens || [];
      if (!sameStart(b.shown, tokens)) {
        b.text.replaceChildren();
        b.shown = [];
      }
      for (const tok of tokens.slice(b.shown.length)) b.text.appendChild(tokenSpan(tok));
      b.shown = tokens.slice();
      if (s.more) {
        b.more.textContent = ` \u2026 (${s.more.toLocaleString("en-US")} more tokens)`;
        b.text.appendChild(b.more);
      }
      b.text.dataset.done = s.done ? "yes" : "no";
      const state = (model.get("meter") || {}).state;
      const status = s.done ? "" : state === "stopped" || state === "failed" ? " (cut short)" : " (writing\u2026)";
      b.head.textContent = `sample seed ${s.seed} \u00b7 ${tokens.length + (s.more || 0)} tokens${status}`;
    });
    if (!samples.length && !list.firstChild) list.appendChild(node("div", "itc-live-empty", "Waiting for the first token\u2026"));
    else if (samples.length) for (const e of list.querySelectorAll(".itc-live-empty")) e.remove();
  };
  model.on("change:samples", draw);
  model.on("change:title", draw);
  model.on("change:meter", draw);
  draw();
  return () => {
    model.off("change:samples", draw);
    model.off("change:title", draw);
    model.off("change:meter", draw);
    meter.dispose();
    root.remove();
  };
}

export default { render };
