// Draft-diff view of itc-lab (an anywidget front-end module).
//
// Shows the rounds of a refinement loop: the feedback of a round above the word diff between
// two successive drafts, inline (deletions struck through, insertions underlined) or side by
// side (before | after), with a score-change badge and prev/next navigation.
//
// Model text is untrusted: it reaches the page only through textContent / createTextNode,
// never through innerHTML.
//
// Synced traits read here: rounds, current, mode, title (see itc_lab/diffs.py), and for a view
// that gains rounds while a refinement runs (DiffView.add_round): growing, stopped and first
// (the first draft, shown until the first round exists). Python moves `current` to each new
// round unless the reader went back to an earlier one.

const TRAITS = ["rounds", "current", "mode", "title", "growing", "stopped", "first"];

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function formatScore(s) {
  return typeof s === "number" && !Number.isNaN(s) ? s.toFixed(2) : "?";
}

function scoreBadge(round) {
  const a = round.score_before;
  const b = round.score_after;
  if (typeof a !== "number" && typeof b !== "number") return null;
  let kind = "same";
  let delta = "";
  if (typeof a === "number" && typeof b === "number") {
    const d = b - a;
    kind = d > 1e-9 ? "up" : d < -1e-9 ? "down" : "same";
    delta = ` (${d >= 0 ? "+" : "\u2212"}${Math.abs(d).toFixed(2)})`;
  }
  const badge = node("span", `itc-dv-score itc-dv-score-${kind}`,
    `score ${formatScore(a)} \u2192 ${formatScore(b)}${delta}`);
  return badge;
}

/** The ops of one side ("before": equal + delete, "after": equal + insert) or all (inline). */
function diffBody(ops, side) {
  const box = node("div", "itc-dv-text");
  for (const op of ops || []) {
    const text = String(op.text ?? "");
    if (op.op === "equal") {
      box.appendChild(document.createTextNode(text));
    } else if (op.op === "delete" && side !== "after") {
      box.appendChild(node("del", "itc-dv-del", text));
    } else if (op.op === "insert" && side !== "before") {
      box.appendChild(node("ins", "itc-dv-ins", text));
    }
  }
  return box;
}

export function renderDiff({ model, el }, options = {}) {
  const root = node("div", "itc-dv");
  el.appendChild(root);

  const draw = () => {
    root.replaceChildren();
    const rounds = model.get("rounds") || [];
    const title = model.get("title") || "";
    const mode = model.get("mode") === "side" ? "side" : "inline";
    const n = rounds.length;
    const current = Math.max(0, Math.min(n - 1, Number(model.get("current")) || 0));
    const growing = model.get("growing") === true;
    const stopped = model.get("stopped");
    const first = model.get("first") || {};

    const head = node("div", "itc-dv-head");
    if (title && options.title !== false) head.appendChild(node("span", "itc-dv-title", title));
    root.dataset.rounds = String(n);
    if (growing || (stopped !== null && stopped !== undefined)) {
      const drafts = n + (n > 0 || first.draft !== undefined ? 1 : 0);
      const state = growing ? "refining…" : `stopped: ${stopped}`;
      head.appendChild(node("span", `itc-dv-state${growing ? " itc-dv-growing" : ""}`,
        `${drafts} draft${drafts === 1 ? "" : "s"} · ${state}`));
    }
    root.appendChild(head);
    if (n === 0) {
      if (first.draft !== undefined) {
        const line = node("div", "itc-dv-nav");
        line.appendChild(node("span", "itc-dv-label", "draft 1"));
        const s = first.score;
        if (typeof s === "number") {
          line.appendChild(node("span", "itc-dv-score itc-dv-score-same",
            `score ${formatScore(s)}`));
        }
        root.appendChild(line);
        const text = node("div", "itc-dv-text itc-dv-inline", first.draft);
        root.appendChild(text);
        if (growing) {
          root.appendChild(node("div", "itc-dv-empty", "Waiting for the feedback and draft 2…"));
        }
        return;
      }
      root.appendChild(node("div", "itc-dv-empty", growing
        ? "Waiting for the first draft…" : "No rounds: fewer than two drafts."));
      return;
    }
    const round = rounds[current];

    const nav = node("div", "itc-dv-nav");
    const prev = node("button", "itc-dv-prev", "\u2190 prev");
    prev.type = "button";
    prev.disabled = current <= 0;
    const label = node("span", "itc-dv-label", `round ${current + 1} of ${n}`);
    const next = node("button", "itc-dv-next", "next \u2192");
    next.type = "button";
    next.disabled = current >= n - 1;
    const go = (i) => {
      model.set("current", i);
      model.save_changes();
      draw();
    };
    prev.addEventListener("click", () => { if (current > 0) go(current - 1); });
    next.addEventListener("click", () => { if (current < n - 1) go(current + 1); });
    const toggle = node("button", "itc-dv-mode",
      mode === "inline" ? "side by side" : "inline");
    toggle.type = "button";
    toggle.addEventListener("click", () => {
      model.set("mode", mode === "inline" ? "side" : "inline");
      model.save_changes();
      draw();
    });
    nav.append(prev, label, next, toggle);
    const badge = scoreBadge(round);
    if (badge) nav.appendChild(badge);
    root.appendChild(nav);

    const fb = node("div", "itc-dv-feedback");
    fb.appendChild(node("span", "itc-dv-feedback-label", "Feedback: "));
    fb.appendChild(node("span", "itc-dv-feedback-text",
      round.feedback ? round.feedback : "(none)"));
    root.appendChild(fb);

    if (mode === "side") {
      const grid = node("div", "itc-dv-side");
      const left = node("div", "itc-dv-before");
      left.appendChild(node("div", "itc-dv-col-head", `draft ${current + 1}`));
      left.appendChild(diffBody(round.ops, "before"));
      const right = node("div", "itc-dv-after");
      right.appendChild(node("div", "itc-dv-col-head", `draft ${current + 2}`));
      right.appendChild(diffBody(round.ops, "after"));
      grid.append(left, right);
      root.appendChild(grid);
    } else {
      const inline = diffBody(round.ops, "inline");
      inline.classList.add("itc-dv-inline");
      root.appendChild(inline);
    }
  };

  draw();
  for (const name of TRAITS) model.on(`change:${name}`, draw);
  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, draw);
    root.remove();
  };
}

export default { render: renderDiff };
