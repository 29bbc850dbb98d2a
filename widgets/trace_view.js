// Chain-of-thought trace viewer of itc-lab (an anywidget front-end module).
//
// TraceView: a completion cut into numbered reasoning steps; every token is coloured by its
// probability exactly as in TokenView (same bands, legend and hover/focus details, imported from
// token_view.js), the final answer's last occurrence is boxed, and a badge says whether it is
// correct. TraceList: several traces (e.g. the k samples of self-consistency), one line each,
// expandable to the full trace; the expanded one is synced back to Python as `selected`.
//
// Model text is untrusted: it reaches the page only through textContent / createTextNode,
// never through innerHTML.
//
// Synced traits read here (see itc_lab/widgets.py):
//   TraceView: steps, answer, gold, correct, title, model, note
//   TraceList: traces (a list of TraceView payloads), title, selected (written here too)
//
// In the notebook, itc_lab.widgets replaces the import below with an inlined copy of
// token_view.js (an anywidget module is loaded from a blob: URL, so it cannot import a sibling).

import {
  attachTips,
  band,
  fillTokenText,
  formatP,
  legend,
  newTipId,
  node,
  stats,
  tokenSpan,
} from "./token_view.js";

const TRACE_TRAITS = ["steps", "answer", "gold", "correct", "title", "model", "note"];
const LIST_TRAITS = ["traces", "title"];

/** "correct", "wrong", "no answer" or "not graded" (an answer, but `correct` is unknown). */
export function verdict(answer, correct) {
  if (typeof answer !== "string" || answer === "") return "no answer";
  if (correct === true) return "correct";
  if (correct === false) return "wrong";
  return "not graded";
}

const VERDICT_CLASS = {
  correct: "itc-trace-correct",
  wrong: "itc-trace-wrong",
  "no answer": "itc-trace-none",
  "not graded": "itc-trace-ungraded",
};
const VERDICT_MARK = { correct: "\u2713", wrong: "\u2717", "no answer": "\u2013", "not graded": "?" };

/** [start, end) of the last occurrence of `answer` in `text` (UTF-16 offsets), or null. */
export function answerRange(text, answer) {
  if (typeof answer !== "string" || answer === "") return null;
  const at = String(text).lastIndexOf(answer);
  return at < 0 ? null : [at, at + answer.length];
}

function plainFill(parent, text) {
  parent.appendChild(document.createTextNode(text));
}

/**
 * Append `text`, which starts at offset `start` of the whole trace, to `parent` with `fill`; the
 * part inside `range` (the answer) goes into a <mark> box. Returns true when it marked something.
 */
function fillMarked(parent, text, start, range, fill) {
  const end = start + text.length;
  if (!range || text === "" || range[1] <= start || range[0] >= end) {
    fill(parent, text);
    return false;
  }
  const a = Math.max(range[0], start) - start;
  const b = Math.min(range[1], end) - start;
  if (a > 0) fill(parent, text.slice(0, a));
  const mark = node("mark", "itc-trace-answer");
  // An answer spread over several tokens is boxed in pieces: open on the first, close on the last.
  if (range[0] >= start) mark.classList.add("itc-trace-answer-start");
  if (range[1] <= end) mark.classList.add("itc-trace-answer-end");
  mark.title = "final answer";
  fill(mark, text.slice(a, b));
  parent.appendChild(mark);
  if (b < text.length) fill(parent, text.slice(b));
  return true;
}

/** Drop the line break that ends a step: each step is its own block already. */
function trimTrailingBreak(block) {
  const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
  let last = null;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) last = n;
  if (last) last.data = last.data.replace(/[\r\n]+$/, "");
}

function stepsOf(t) {
  return Array.isArray(t.steps) ? t.steps : [];
}

function tokensOf(step) {
  return Array.isArray(step.tokens) ? step.tokens : [];
}

function meanP(tokens) {
  const ps = tokens.map((tok) => tok.prob).filter((p) => typeof p === "number");
  return ps.length ? ps.reduce((s, p) => s + p, 0) / ps.length : null;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function verdictLine(t, found) {
  const v = verdict(t.answer, t.correct);
  const line = node("div", "itc-trace-verdict");
  const badge = node("span", `itc-trace-badge ${VERDICT_CLASS[v]}`, v);
  badge.setAttribute("role", "status");
  line.appendChild(badge);
  if (v !== "no answer") {
    line.appendChild(node("span", "itc-trace-label", "answer"));
    line.appendChild(node("code", "itc-trace-value itc-trace-given", t.answer));
    if (!found) line.appendChild(node("span", "itc-trace-muted", "(not found in the text)"));
  }
  const gold = typeof t.gold === "string" ? t.gold : null;
  if (gold !== null && v !== "correct") {
    line.appendChild(node("span", "itc-trace-label", "gold"));
    line.appendChild(node("code", "itc-trace-value itc-trace-gold", gold));
  }
  return line;
}

/** Draw one trace (a TraceView payload) into `root`, an element of class "itc-tv itc-trace". */
export function drawTrace(root, t) {
  root.replaceChildren();
  const steps = stepsOf(t);
  const tokens = steps.flatMap(tokensOf);
  const whole = steps.map((s) => String(s.text ?? "")).join("");
  const range = answerRange(whole, t.answer);

  const header = node("div", "itc-tv-header");
  header.appendChild(node("span", "itc-tv-title", t.title || "Reasoning trace"));
  if (t.model) header.appendChild(node("span", "itc-tv-model", t.model));
  const counts = tokens.length ? stats(tokens) : "no token probabilities";
  header.appendChild(node("span", "itc-tv-stats", `${plural(steps.length, "step")} \u00b7 ${counts}`));
  root.appendChild(header);
  root.appendChild(verdictLine(t, range !== null));

  if (t.note) {
    const n = node("div", "itc-tv-note", t.note);
    n.setAttribute("role", "note");
    root.appendChild(n);
  }
  if (!steps.length) {
    root.appendChild(node("div", "itc-trace-empty", "(empty completion: no steps)"));
    return;
  }
  if (tokens.length) root.appendChild(legend(tokens.some((tok) => typeof tok.prob !== "number")));

  const tipId = newTipId("itc-trace-tip");
  const list = node("ol", "itc-trace-steps");
  list.setAttribute(
    "aria-label",
    "Reasoning steps. Arrow keys move between tokens; Escape hides the details.",
  );
  const spans = [];
  let offset = 0;
  steps.forEach((step, k) => {
    const number = Number.isInteger(step.index) ? step.index : k + 1;
    const item = node("li", "itc-trace-step");
    item.dataset.step = String(number);
    const gutter = node("div", "itc-trace-gutter");
    gutter.appendChild(node("span", "itc-trace-num", String(number)));
    const stepTokens = tokensOf(step);
    const mean = typeof step.mean_prob === "number" ? step.mean_prob : meanP(stepTokens);
    if (mean !== null) {
      const chip = node("span", `itc-trace-chip itc-tv-${band(mean)}`, formatP(mean));
      chip.title = `mean p of step ${number}`;
      gutter.appendChild(chip);
    }
    item.appendChild(gutter);

    const block = node("div", "itc-trace-text");
    let marked = false;
    if (stepTokens.length) {
      for (const tok of stepTokens) {
        const text = String(tok.text ?? "");
        const span = tokenSpan(tok, spans.length, tipId);
        if (range && text && range[0] < offset + text.length && range[1] > offset) {
          span.replaceChildren();
          marked = fillMarked(span, text, offset, range, fillTokenText) || marked;
        }
        block.appendChild(span);
        spans.push(span);
        offset += text.length;
      }
    } else {
      const text = String(step.text ?? "");
      marked = fillMarked(block, text, offset, range, plainFill);
      offset += text.length;
    }
    trimTrailingBreak(block);
    if (marked) item.classList.add("itc-trace-step-final");
    item.appendChild(block);
    list.appendChild(item);
  });
  root.appendChild(list);
  if (spans.length) attachTips(root, list, tokens, spans, tipId);
}

function traitsOf(model) {
  const t = {};
  for (const name of TRACE_TRAITS) t[name] = model.get(name);
  return t;
}

/** How many traces gave each answer, most frequent first, as [answer or null, count] pairs. */
export function tally(traces) {
  const counts = new Map();
  for (const t of traces) {
    const key = typeof t.answer === "string" && t.answer !== "" ? t.answer : null;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const order = [...counts.keys()];
  return [...counts.entries()].sort(
    (x, y) => y[1] - x[1] || order.indexOf(x[0]) - order.indexOf(y[0]),
  );
}

function listSummary(traces) {
  const verdicts = traces.map((t) => verdict(t.answer, t.correct));
  const parts = [plural(traces.length, "trace")];
  for (const v of ["correct", "wrong", "no answer", "not graded"]) {
    const n = verdicts.filter((x) => x === v).length;
    if (n) parts.push(`${n} ${v}`);
  }
  return parts.join(" \u00b7 ");
}

function rowMeta(t) {
  const steps = stepsOf(t);
  const mean = meanP(steps.flatMap(tokensOf));
  const parts = [plural(steps.length, "step")];
  if (mean !== null) parts.push(`mean p ${formatP(mean)}`);
  return parts.join(" \u00b7 ");
}

let nextListId = 0;

function drawList(model, root) {
  root.replaceChildren();
  const traces = Array.isArray(model.get("traces")) ? model.get("traces") : [];
  const golds = new Set(traces.map((t) => (typeof t.gold === "string" ? t.gold : null)));
  const sharedGold = golds.size === 1 ? [...golds][0] : null;

  const header = node("div", "itc-tv-header");
  header.appendChild(node("span", "itc-tv-title", model.get("title") || "Reasoning traces"));
  header.appendChild(node("span", "itc-tv-stats", listSummary(traces)));
  root.appendChild(header);

  if (traces.length) {
    const answers = node("div", "itc-trace-tally");
    answers.appendChild(node("span", "itc-trace-label", "answers"));
    for (const [answer, n] of tally(traces)) {
      const item = node("span", "itc-trace-tally-item");
      item.appendChild(
        node("code", answer === null ? "itc-trace-muted" : "itc-trace-value", answer ?? "none"),
      );
      item.appendChild(node("span", "itc-trace-count", `\u00d7${n}`));
      answers.appendChild(item);
    }
    if (sharedGold !== null) {
      answers.appendChild(node("span", "itc-trace-label", "gold"));
      answers.appendChild(node("code", "itc-trace-value itc-trace-gold", sharedGold));
    }
    root.appendChild(answers);
  }

  const listId = `itc-trace-list-${++nextListId}`;
  const rows = node("ul", "itc-trace-rows");
  const parts = traces.map((t, i) => {
    const v = verdict(t.answer, t.correct);
    const row = node("li", `itc-trace-row ${VERDICT_CLASS[v]}`);
    row.dataset.index = String(i);
    const head = node("button", "itc-trace-row-head");
    head.type = "button";
    head.setAttribute("aria-expanded", "false");
    head.setAttribute("aria-controls", `${listId}-${i}`);
    head.appendChild(node("span", "itc-trace-caret", "\u25b8"));
    head.appendChild(node("span", "itc-trace-row-num", `#${i + 1}`));
    const mark = node("span", `itc-trace-mark ${VERDICT_CLASS[v]}`, VERDICT_MARK[v]);
    mark.title = v;
    mark.setAttribute("aria-hidden", "true");
    head.appendChild(mark);
    head.appendChild(node("span", "itc-trace-sr", v));
    if (v === "no answer") {
      head.appendChild(node("span", "itc-trace-muted", "no answer"));
    } else {
      head.appendChild(node("code", "itc-trace-value itc-trace-given", t.answer));
    }
    if (typeof t.gold === "string" && v !== "correct" && sharedGold === null) {
      head.appendChild(node("span", "itc-trace-label", "gold"));
      head.appendChild(node("code", "itc-trace-value itc-trace-gold", t.gold));
    }
    head.appendChild(node("span", "itc-trace-row-meta", rowMeta(t)));
    row.appendChild(head);
    const detail = node("div", "itc-trace-detail");
    detail.id = `${listId}-${i}`;
    detail.hidden = true;
    row.appendChild(detail);
    rows.appendChild(row);
    return { row, head, detail, drawn: false };
  });
  root.appendChild(rows);
  if (!traces.length) root.appendChild(node("div", "itc-trace-empty", "(no traces)"));

  function expand(selected) {
    parts.forEach((p, i) => {
      const open = i === selected;
      if (open && !p.drawn) {
        const inner = node("div", "itc-tv itc-trace");
        p.detail.appendChild(inner);
        drawTrace(inner, { ...traces[i], title: traces[i].title || `Trace #${i + 1}` });
        p.drawn = true;
      }
      p.detail.hidden = !open;
      p.head.setAttribute("aria-expanded", String(open));
      p.row.classList.toggle("itc-trace-open", open);
      p.head.querySelector(".itc-trace-caret").textContent = open ? "\u25be" : "\u25b8";
    });
  }

  parts.forEach((p, i) => {
    p.head.addEventListener("click", () => {
      const next = model.get("selected") === i ? -1 : i;
      model.set("selected", next);
      model.save_changes();
      expand(next);
    });
  });
  expand(model.get("selected"));
  return expand;
}

function render({ model, el }) {
  const isList = Array.isArray(model.get("traces"));
  const root = node("div", isList ? "itc-tv itc-trace-list" : "itc-tv itc-trace");
  el.appendChild(root);
  const handlers = [];
  const on = (name, cb) => {
    model.on(`change:${name}`, cb);
    handlers.push([name, cb]);
  };
  if (isList) {
    let expand = drawList(model, root);
    const redraw = () => {
      expand = drawList(model, root);
    };
    for (const name of LIST_TRAITS) on(name, redraw);
    on("selected", () => expand(model.get("selected")));
  } else {
    const redraw = () => drawTrace(root, traitsOf(model));
    redraw();
    for (const name of TRACE_TRAITS) on(name, redraw);
  }
  return () => {
    for (const [name, cb] of handlers) model.off(`change:${name}`, cb);
    root.remove();
  };
}

export default { render };
