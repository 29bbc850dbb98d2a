// Live vote view of itc-lab (an anywidget front-end module): self-consistency's vote bars rise
// as samples land, with the running majority, maj@k so far and where the early-stopping rules
// stop.
//
// Synced traits read here: title, votes, arrivals, gold, rules, meter, stoppable (see
// itc_lab/live/views.py, LiveVoteView). Answers are model text: they reach the page only
// through textContent.

import { meterBar } from "./live_meter.js";

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const RULE_NAMES = { esc: "ESC", adaptive: "Adaptive-Consistency" };

/** The sentence under the bars (the same words as LiveVoteView._verdict). */
export function verdict(votes, arrivals, gold) {
  if (!arrivals.length) return "No sample has finished yet.";
  const last = arrivals[arrivals.length - 1];
  const leader = last.majority;
  if (leader === null || leader === undefined) {
    return `No answer could be read from the ${arrivals.length} samples.`;
  }
  const row = votes.find((v) => v.answer === leader);
  const k = arrivals.length;
  const n = row ? row.votes : 0;
  let text = `Majority after ${k} sample${k === 1 ? "" : "s"}: ${leader} (${n} vote${n === 1 ? "" : "s"})`;
  if (gold !== null && gold !== undefined) {
    text += last.majority_correct ? " \u2014 right" : ` \u2014 wrong (the answer is ${gold})`;
  }
  return `${text}.`;
}

/** Bars keyed by answer, reused between updates so their widths grow smoothly. */
function drawBars(box, votes, rows) {
  if (!votes.length) {
    rows.clear();
    box.replaceChildren(el("div", "itc-live-empty", "Waiting for the first sample\u2026"));
    return;
  }
  const top = Math.max(1, ...votes.map((v) => v.votes));
  const keep = new Set();
  const ordered = [];
  for (const v of votes) {
    const key = v.answer === null ? "\u0000none" : `a:${v.answer}`;
    keep.add(key);
    let row = rows.get(key);
    if (!row) {
      row = {
        root: el("div", "itc-live-vote"),
        label: el("span", "itc-live-vote-label", v.answer === null ? "(no answer)" : v.answer),
        track: el("span", "itc-live-vote-track"),
        bar: el("span", "itc-live-vote-bar"),
        count: el("span", "itc-live-vote-count"),
      };
      row.label.title = row.label.textContent;
      row.bar.style.width = "0%";
      row.track.appendChild(row.bar);
      row.root.append(row.label, row.track, row.count);
      rows.set(key, row);
    }
    row.bar.dataset.correct = v.correct === true ? "yes" : v.correct === false ? "no" : "unknown";
    // set after insertion so the width change is animated (CSS transition)
    const width = `${(100 * v.votes) / top}%`;
    requestAnimationFrame(() => {
      row.bar.style.width = width;
    });
    row.count.textContent = `${v.votes}${v.correct ? " \u2713 gold" : ""}`;
    ordered.push(row.root);
  }
  for (const key of [...rows.keys()]) if (!keep.has(key)) rows.delete(key);
  box.replaceChildren(...ordered);
}

function drawStrip(box, arrivals, rules, gold) {
  box.replaceChildren();
  if (!arrivals.length) return;
  const caption = el(
    "div",
    "itc-live-caption",
    gold === null || gold === undefined
      ? `Samples in the order they finished (k = 1 \u2026 ${arrivals.length})`
      : `maj@k for k = 1 \u2026 ${arrivals.length}: green when the majority of the first k is right`,
  );
  box.appendChild(caption);
  const strip = el("div", "itc-live-strip");
  const marks = {};
  for (const name of ["esc", "adaptive"]) {
    const at = rules?.[name]?.at;
    if (typeof at === "number") (marks[at] ||= []).push(RULE_NAMES[name]);
  }
  arrivals.slice(0, 400).forEach((a, i) => {
    const k = i + 1;
    const cell = el("span", "itc-live-cell");
    cell.dataset.ok = gold === null || gold === undefined ? "unknown" : a.majority_correct ? "yes" : "no";
    cell.title = `k = ${k}: sample seed ${a.seed} said ${a.answer ?? "(no answer)"}; majority ${a.majority ?? "none"}`;
    if (marks[k]) {
      cell.classList.add("itc-live-cell-mark");
      cell.textContent = marks[k].map((name) => name[0]).join("");
      cell.title += ` \u2014 ${marks[k].join(" and ")} stop${marks[k].length > 1 ? "" : "s"} here`;
    }
    strip.appendChild(cell);
  });
  box.appendChild(strip);
}

function rulesText(rules) {
  const esc = rules?.esc || {};
  const ada = rules?.adaptive || {};
  const parts = [
    esc.at
      ? `E: ESC (windows of ${esc.window}) would stop at ${esc.at} samples`
      : `ESC (windows of ${esc.window}) has not stopped`,
    ada.at
      ? `A: Adaptive-Consistency (p \u2265 ${ada.threshold}) at ${ada.at}`
      : `Adaptive-Consistency (p \u2265 ${ada.threshold}) has not stopped`,
  ];
  const chosen = RULE_NAMES[rules?.stop_early];
  return `${parts.join("; ")}${chosen ? `; stop_early: ${chosen}` : ""}.`;
}

function render({ model, el: host }) {
  const root = el("div", "itc-tv itc-live itc-live-votes");
  const title = el("div", "itc-live-title");
  const meter = meterBar(model);
  const bars = el("div", "itc-live-bars");
  const sentence = el("div", "itc-live-verdict");
  const strip = el("div", "itc-live-stripbox");
  const rules = el("div", "itc-live-rules");
  root.append(title, meter.root, bars, sentence, strip, rules);
  const rows = new Map();
  host.appendChild(root);
  const draw = () => {
    const votes = model.get("votes") || [];
    const arrivals = model.get("arrivals") || [];
    const gold = model.get("gold");
    title.textContent = model.get("title") || "Votes";
    drawBars(bars, votes, rows);
    sentence.textContent = verdict(votes, arrivals, gold);
    drawStrip(strip, arrivals, model.get("rules"), gold);
    rules.textContent = rulesText(model.get("rules"));
  };
  const names = ["votes", "arrivals", "gold", "rules", "title"];
  for (const n of names) model.on(`change:${n}`, draw);
  draw();
  return () => {
    for (const n of names) model.off(`change:${n}`, draw);
    meter.dispose();
    root.remove();
  };
}

export default { render };
