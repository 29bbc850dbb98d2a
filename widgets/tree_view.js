// Search-tree view of itc-lab (an anywidget front-end module, no external libraries).
//
// The tree is an indented list you fold open: only the rows of open subtrees are in the page
// (and at most CHUNK children of a node until "show more" is clicked), so trees with thousands
// of nodes stay responsive. Rows are coloured by value (the scale of itc_lab.trees.value_colour)
// and carry a status badge. Clicking a row shows the node's texts and numbers in a side panel
// and sends its id to the `selected` trait. The playback bar sets `step`: a node is shown when
// its parent is shown and its expansion `order` is <= step (nodes never expanded appear with
// their parent), the rule of itc_lab.trees.visible_ids.
//
// Model text is untrusted: it reaches the page only through textContent, never innerHTML.
//
// Synced traits: payload (see itc_lab.trees.tree_payload), selected, step.
//
// Live mode (TreeView.live(), payload.growing): the tree grows while a search runs. Python sends
// only what changed, as custom messages {kind: "grow", rows: {column: [...]}, meta: {...}}
// (rows are new or changed nodes; meta the header's numbers), which are applied in place in
// O(rows); the view is redrawn at most every MIN_REDRAW_MS (longer for big trees), keeping what
// the reader opened or closed. A view that starts mid-run asks for the tree so far ("hello";
// Python answers {kind: "reset", payload}). When the search ends Python sets the whole payload
// once, and the view is the static TreeView of the final tree.

/** The sequential colour scale (light yellow → dark blue); the same stops as itc_lab.trees. */
export const SCALE = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"];
const NO_VALUE = "#eeeeee";
/** How many children of a node are drawn before a "show more" row. */
export const CHUNK = 100;
const PLAY_MS = 450;
const INDENT_PX = 14;
const MIN_REDRAW_MS = 120;
/** A grown tree shown afresh opens every expanded node up to this many nodes. */
const OPEN_GROWN = 400;
const COLUMNS = ["id", "parent", "depth", "status", "value", "visits", "q", "tokens", "order",
  "step", "step_full", "state", "proposer", "evaluator"];

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** The fill colour of a value on the scale [lo, hi]; grey without a value. */
export function valueColour(value, lo = 0, hi = 1) {
  if (typeof value !== "number" || !Number.isFinite(value)) return NO_VALUE;
  const t = hi <= lo ? 0 : Math.min(Math.max((value - lo) / (hi - lo), 0), 1);
  const pos = t * (SCALE.length - 1);
  const i = Math.min(Math.floor(pos), SCALE.length - 2);
  const f = pos - i;
  const a = hex(SCALE[i]);
  const b = hex(SCALE[i + 1]);
  return "#" + a.map((x, k) => Math.round(x + (b[k] - x) * f).toString(16).padStart(2, "0"))
    .join("");
}

/** An element with a class and text content (never markup). */
function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

/** Parent/children indexes of the columnar payload. */
export function indexTree(payload) {
  const cols = (payload && payload.nodes) || {};
  const ids = cols.id || [];
  const n = ids.length;
  const at = new Map();
  for (let i = 0; i < n; i += 1) at.set(ids[i], i);
  const parent = new Int32Array(n).fill(-1);
  const children = Array.from({ length: n }, () => []);
  const roots = [];
  for (let i = 0; i < n; i += 1) {
    const p = cols.parent[i];
    const j = p === null || p === undefined ? undefined : at.get(p);
    if (j === undefined || j === i) roots.push(i);
    else {
      parent[i] = j;
      children[j].push(i);
    }
  }
  // Children stay in payload order (the order they were proposed).
  // A top-down order (parents before children), also for deep chains, without recursion.
  const topo = [];
  const stack = roots.slice().reverse();
  while (stack.length) {
    const i = stack.pop();
    topo.push(i);
    for (let k = children[i].length - 1; k >= 0; k -= 1) stack.push(children[i][k]);
  }
  // Tokens spent in each subtree (bottom-up over the top-down order, so no recursion).
  const subtreeTokens = new Float64Array(n);
  for (let k = topo.length - 1; k >= 0; k -= 1) {
    const i = topo[k];
    subtreeTokens[i] += Number((cols.tokens || [])[i] || 0);
    if (parent[i] >= 0) subtreeTokens[parent[i]] += subtreeTokens[i];
  }
  return { cols, ids, n, at, parent, children, roots, topo, subtreeTokens };
}

/** Which nodes are shown at playback `step` (1 = shown), by index. */
export function visibleAt(tree, step) {
  const shown = new Uint8Array(tree.n);
  const order = tree.cols.order || [];
  for (const i of tree.topo) {
    const p = tree.parent[i];
    const up = p < 0 ? true : shown[p] === 1;
    const o = order[i];
    shown[i] = up && (o === null || o === undefined || o <= step) ? 1 : 0;
  }
  return shown;
}

/** Apply one "grow" message to a live payload in place: new rows appended, known ids
 * replaced, the header's numbers taken from meta. O(rows). Returns the ids added. */
export function applyGrowth(payload, msg) {
  payload.nodes ||= {};
  const cols = payload.nodes;
  for (const k of COLUMNS) cols[k] ||= [];
  if (!payload._at) {
    payload._at = new Map();
    cols.id.forEach((id, i) => payload._at.set(id, i));
  }
  const at = payload._at;
  const rows = (msg && msg.rows) || {};
  const added = [];
  const count = (rows.id || []).length;
  for (let k = 0; k < count; k += 1) {
    const id = rows.id[k];
    let i = at.get(id);
    if (i === undefined) {
      i = cols.id.length;
      at.set(id, i);
      for (const c of COLUMNS) cols[c].push(rows[c] === undefined ? null : rows[c][k]);
      added.push(id);
    } else {
      for (const c of COLUMNS) if (rows[c] !== undefined) cols[c][i] = rows[c][k];
    }
  }
  Object.assign(payload, (msg && msg.meta) || {});
  payload.count = cols.id.length;
  return added;
}

function seconds(s) {
  return typeof s === "number" && Number.isFinite(s) ? `${s.toFixed(1)} s` : "";
}

function build(model, root, view, payload) {
  payload = payload || {};
  const tree = indexTree(payload);
  const { cols, ids } = tree;
  const [lo, hi] = Array.isArray(payload.scale) ? payload.scale : [0, 1];
  const maxOrder = Number.isFinite(payload.max_order) ? payload.max_order : 0;
  const onPath = new Set(payload.solution_path || []);
  const growing = payload.growing === true;
  // What the reader opened and closed survives redraws (live growth, the final payload).
  const expanded = view.expanded || new Set();
  const more = view.more || new Map();
  const closed = view.closed || new Set();
  const fresh = view.fresh || new Set();
  view.fresh = new Set();
  let shown = new Uint8Array(tree.n);
  let newest = -1;
  let drawnStep = null;

  if (!view.expanded) {
    for (const r of tree.roots) expanded.add(ids[r]);
    for (const id of payload.solution_path || []) expanded.add(id);
    // a tree that grew live opens as it did while growing (when it is small enough to)
    if ("elapsed_s" in payload && tree.n <= OPEN_GROWN) {
      for (let i = 0; i < tree.n; i += 1) if (tree.children[i].length) expanded.add(ids[i]);
    }
  }
  view.expanded = expanded;
  view.more = more;
  view.closed = closed;
  if (growing || view.grew) {
    // a growing tree opens as it is expanded (unless the reader closed that node)
    for (let i = 0; i < tree.n; i += 1) {
      if (tree.children[i].length && !closed.has(ids[i])) expanded.add(ids[i]);
    }
    view.grew = true;
  }
  const scrollTop = view.scrollTop || 0;

  root.replaceChildren();
  // Header.
  const header = node("div", "itc-tr-header", payload.algorithm || "search tree");
  header.dataset.count = String(tree.n);
  if (growing) header.appendChild(node("span", "itc-tr-live", "searching…"));
  const bits = [`${tree.n} nodes`];
  if (payload.spending) bits.push(String(payload.spending));
  if (payload.elapsed_s !== undefined && payload.elapsed_s !== null) {
    bits.push(seconds(payload.elapsed_s));
  }
  if (payload.meter) bits.push(String(payload.meter));
  if (payload.stopped) bits.push(`stopped: ${payload.stopped}`);
  if (!growing || payload.solution_id !== null && payload.solution_id !== undefined) {
    bits.push(payload.solution_id === null || payload.solution_id === undefined
      ? "no solution" : `solution #${payload.solution_id}`);
  }
  header.appendChild(node("span", "itc-tr-sub", bits.join(" · ")));
  root.appendChild(header);

  // Playback bar.
  const bar = node("div", "itc-tr-bar");
  const prev = node("button", "itc-tr-prev", "◀ Prev");
  const play = node("button", "itc-tr-play", "▶ Play");
  const next = node("button", "itc-tr-next", "Next ▶");
  for (const b of [prev, play, next]) b.type = "button";
  const slider = node("input", "itc-tr-slider");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(maxOrder);
  slider.step = "1";
  slider.setAttribute("aria-label", "expansion step");
  const pos = node("span", "itc-tr-pos");
  const collapse = node("button", "itc-tr-collapse", "Collapse all");
  const toPath = node("button", "itc-tr-path", "Solution path");
  collapse.type = "button";
  toPath.type = "button";
  const legend = node("span", "itc-tr-legend");
  legend.append(node("span", "", `value ${fmt(lo, 1)}`), node("span", "itc-tr-ramp"),
    node("span", "", fmt(hi, 1)));
  bar.append(prev, play, next, slider, pos, collapse, toPath, legend);
  root.appendChild(bar);

  const main = node("div", "itc-tr-main");
  const list = node("div", "itc-tr-list");
  list.setAttribute("role", "tree");
  const panel = node("div", "itc-tr-panel");
  main.append(list, panel);
  root.appendChild(main);

  const currentStep = () => {
    if (growing && view.follow !== false) return maxOrder;
    const s = Number(model.get("step"));
    return Number.isFinite(s) ? Math.min(Math.max(s, 0), maxOrder) : maxOrder;
  };

  function visibleChildren(i) {
    return tree.children[i].filter((c) => shown[c] === 1);
  }

  function row(i, hasKids) {
    const id = ids[i];
    const status = String(cols.status[i]);
    const r = node("div", `itc-tr-row itc-tr-${status}`);
    r.dataset.id = String(id);
    r.dataset.status = status;
    r.dataset.order = cols.order[i] === null ? "" : String(cols.order[i]);
    r.setAttribute("role", "treeitem");
    r.tabIndex = -1;
    r.style.paddingLeft = `${4 + cols.depth[i] * INDENT_PX}px`;
    if (onPath.has(id)) r.classList.add("itc-tr-onpath");
    if (id === model.get("selected")) {
      r.classList.add("itc-tr-selected");
      r.tabIndex = 0;
    }
    if (id === newest) r.classList.add("itc-tr-new");
    if (fresh.has(id)) r.classList.add("itc-tr-fresh");
    const open = expanded.has(id);
    const toggle = node("span", "itc-tr-toggle", hasKids ? (open ? "▾" : "▸") : "");
    if (hasKids) r.setAttribute("aria-expanded", String(open));
    const swatch = node("span", "itc-tr-swatch");
    const score = cols.value[i] ?? (cols.q ? cols.q[i] : null);
    swatch.style.background = valueColour(score, lo, hi);
    swatch.title = `value ${fmt(score)}`;
    const nums = [`v=${fmt(cols.value[i], 2)}`];
    if (payload.mcts) nums.push(`n=${cols.visits[i]}`, `q=${fmt(cols.q[i], 2)}`);
    r.append(toggle, swatch, node("span", "itc-tr-id", `#${id}`),
      node("span", "itc-tr-step", cols.step[i]), node("span", "itc-tr-nums", nums.join(" ")),
      node("span", `itc-tr-badge itc-tr-badge-${status}`, status.replace("_", " ")));
    return r;
  }

  function drawList() {
    const frag = document.createDocumentFragment();
    // Pre-order walk with an explicit stack: rows, and "show more" markers.
    const stack = [];
    for (let k = tree.roots.length - 1; k >= 0; k -= 1) {
      if (shown[tree.roots[k]]) stack.push({ i: tree.roots[k] });
    }
    while (stack.length) {
      const item = stack.pop();
      if (item.more !== undefined) {
        const m = node("div", "itc-tr-more");
        m.style.paddingLeft = `${24 + (cols.depth[item.more] + 1) * INDENT_PX}px`;
        const b = node("button", "", `show ${item.left} more…`);
        b.type = "button";
        b.dataset.more = String(ids[item.more]);
        m.appendChild(b);
        frag.appendChild(m);
        continue;
      }
      const i = item.i;
      const kids = visibleChildren(i);
      frag.appendChild(row(i, kids.length > 0));
      if (!kids.length || !expanded.has(ids[i])) continue;
      const limit = more.get(ids[i]) || CHUNK;
      if (kids.length > limit) stack.push({ more: i, left: kids.length - limit });
      for (let k = Math.min(limit, kids.length) - 1; k >= 0; k -= 1) stack.push({ i: kids[k] });
    }
    list.replaceChildren(frag);
  }

  function addText(label, text, cls) {
    panel.appendChild(node("div", "itc-tr-label", label));
    const t = String(text ?? "");
    panel.appendChild(node("pre", `itc-tr-text ${cls}`, t === "" ? "(empty)" : t));
  }

  function drawPanel() {
    panel.replaceChildren();
    const id = model.get("selected");
    const i = tree.at.get(id);
    if (i === undefined) {
      panel.appendChild(node("div", "itc-tr-empty", "Click a node to see its texts."));
      return;
    }
    const status = String(cols.status[i]);
    const h = node("h4", "itc-tr-title", `Node #${id} · depth ${cols.depth[i]} `);
    h.appendChild(node("span", `itc-tr-badge itc-tr-badge-${status}`, status.replace("_", " ")));
    panel.appendChild(h);
    if (!shown[i]) {
      panel.appendChild(node("div", "itc-tr-empty itc-tr-hidden-note",
        "Not generated yet at this playback step."));
    }
    const dl = node("dl", "itc-tr-facts");
    const facts = [["Value", fmt(cols.value[i])]];
    if (payload.mcts) facts.push(["Mean value (q)", fmt(cols.q[i])]);
    if (payload.mcts) facts.push(["Visits", String(cols.visits[i])]);
    // One proposer call makes all the children of a node; its tokens are counted on the first
    // of them, and the evaluator's on each node it judged.
    const own = Number(cols.tokens[i] || 0);
    const siblings = tree.parent[i] >= 0 ? tree.children[tree.parent[i]].length : 1;
    const shared = own === 0 && siblings > 1
      ? "0 here: proposed in one call with its siblings, counted on the first" : String(own);
    facts.push(["Tokens", shared], ["Tokens in this subtree", String(tree.subtreeTokens[i])],
      ["Expansion order", cols.order[i] === null ? "never expanded" : String(cols.order[i])],
      ["Parent", cols.parent[i] === null ? "none (root)" : `#${cols.parent[i]}`]);
    for (const [k, v] of facts) {
      const dd = node("dd", "", v);
      dd.dataset.fact = k;
      dl.append(node("dt", "", k), dd);
    }
    panel.appendChild(dl);
    addText("Step", cols.step_full[i] ?? cols.step[i], "itc-tr-steptext");
    addText("State", cols.state[i], "itc-tr-state");
    addText("Proposer output", cols.proposer[i], "itc-tr-proposer");
    addText("Evaluator output", cols.evaluator[i], "itc-tr-evaluator");
  }

  function reveal(id) {
    let i = tree.at.get(id);
    if (i === undefined) return;
    for (i = tree.parent[i]; i >= 0; i = tree.parent[i]) expanded.add(ids[i]);
  }

  function onStep(force = false) {
    const step = currentStep();
    if (!force && step === drawnStep) return;
    const advanced = drawnStep !== null && step === drawnStep + 1;
    drawnStep = step;
    shown = visibleAt(tree, step);
    newest = -1;
    if (advanced) {
      const i = cols.order.indexOf(step);
      if (i >= 0) {
        newest = ids[i];
        reveal(newest);
        expanded.add(newest);
      }
    }
    let count = 0;
    for (let i = 0; i < tree.n; i += 1) count += shown[i];
    slider.value = String(step);
    pos.textContent = `step ${step} / ${maxOrder} · ${count} of ${tree.n} nodes`;
    drawList();
    drawPanel();
  }

  function setStep(step) {
    const s = Math.min(Math.max(step, 0), maxOrder);
    if (growing) view.follow = s >= maxOrder;
    model.set("step", s);
    model.save_changes();
    onStep();
  }

  function select(id) {
    model.set("selected", id);
    model.save_changes();
    onSelected();
  }

  function onSelected() {
    for (const r of list.querySelectorAll(".itc-tr-selected")) {
      r.classList.remove("itc-tr-selected");
      r.tabIndex = -1;
    }
    const id = model.get("selected");
    const r = list.querySelector(`.itc-tr-row[data-id="${Number(id)}"]`);
    if (r) {
      r.classList.add("itc-tr-selected");
      r.tabIndex = 0;
    } else if (tree.at.has(id)) {
      reveal(id);
      drawList();
    }
    drawPanel();
  }

  function stopPlay() {
    if (view.timer !== null) clearInterval(view.timer);
    view.timer = null;
    play.textContent = "▶ Play";
  }

  function toggle(id) {
    if (expanded.has(id)) {
      expanded.delete(id);
      closed.add(id);
    } else {
      expanded.add(id);
      closed.delete(id);
    }
    drawList();
  }

  prev.addEventListener("click", () => { stopPlay(); setStep(currentStep() - 1); });
  next.addEventListener("click", () => { stopPlay(); setStep(currentStep() + 1); });
  slider.addEventListener("input", () => { stopPlay(); setStep(Number(slider.value)); });
  play.addEventListener("click", () => {
    if (view.timer !== null) {
      stopPlay();
      return;
    }
    if (currentStep() >= maxOrder) setStep(0);
    play.textContent = "❚❚ Pause";
    view.timer = setInterval(() => {
      if (currentStep() >= maxOrder) stopPlay();
      else setStep(currentStep() + 1);
    }, PLAY_MS);
  });
  collapse.addEventListener("click", () => {
    expanded.clear();
    for (let i = 0; i < tree.n; i += 1) if (tree.children[i].length) closed.add(ids[i]);
    for (const r of tree.roots) {
      expanded.add(ids[r]);
      closed.delete(ids[r]);
    }
    more.clear();
    drawList();
  });
  toPath.addEventListener("click", () => {
    for (const id of payload.solution_path || []) expanded.add(id);
    if (payload.solution_id !== null && payload.solution_id !== undefined) {
      select(payload.solution_id);
    }
    drawList();
  });
  list.addEventListener("click", (e) => {
    const t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    const moreButton = t.closest("button[data-more]");
    if (moreButton) {
      const id = Number(moreButton.dataset.more);
      more.set(id, (more.get(id) || CHUNK) + CHUNK);
      drawList();
      return;
    }
    const r = t.closest(".itc-tr-row");
    if (!r) return;
    const id = Number(r.dataset.id);
    if (t.closest(".itc-tr-toggle") && r.hasAttribute("aria-expanded")) toggle(id);
    else select(id);
  });
  list.addEventListener("keydown", (e) => {
    const r = e.target instanceof Element ? e.target.closest(".itc-tr-row") : null;
    if (!r) return;
    const id = Number(r.dataset.id);
    const rows = Array.from(list.querySelectorAll(".itc-tr-row"));
    const k = rows.indexOf(r);
    let target = null;
    if (e.key === "ArrowDown") target = rows[k + 1];
    else if (e.key === "ArrowUp") target = rows[k - 1];
    else if (e.key === "Enter" || e.key === " ") select(id);
    else if (e.key === "ArrowRight" && !expanded.has(id)) toggle(id);
    else if (e.key === "ArrowLeft" && expanded.has(id)) toggle(id);
    else return;
    e.preventDefault();
    if (target) target.focus();
    else {
      const again = list.querySelector(`.itc-tr-row[data-id="${id}"]`);
      if (again) again.focus();
    }
  });

  list.addEventListener("scroll", () => { view.scrollTop = list.scrollTop; });

  onStep(true);
  list.scrollTop = scrollTop;
  return { onStep: () => onStep(), onSelected, stopPlay };
}

export function renderTree({ model, el }) {
  const root = node("div", "itc-tr");
  el.appendChild(root);
  const view = { timer: null };
  // While a search grows the tree: the payload as it stands, built from "grow" messages.
  let live = null;
  let redraw = null;
  let lastDraw = 0;
  let drawCost = 0;
  const source = () => (live !== null ? live : model.get("payload") || {});
  let draws = 0;
  const draw = () => {
    const t0 = performance.now();
    hooks.stopPlay();
    hooks = build(model, root, view, source());
    lastDraw = performance.now();
    drawCost = lastDraw - t0;
    draws += 1;
    root.dataset.draws = String(draws);
  };
  let hooks = { stopPlay() {}, onStep() {}, onSelected() {} };
  draw();
  // Redraw at most every MIN_REDRAW_MS, and never more than a fifth of the time: a big tree
  // costs more per redraw, so it is redrawn less often (never once per node).
  const schedule = () => {
    if (redraw !== null) return;
    const gap = Math.max(MIN_REDRAW_MS, 4 * drawCost);
    const wait = Math.max(0, lastDraw + gap - performance.now());
    redraw = setTimeout(() => {
      redraw = null;
      draw();
    }, wait);
  };
  const onMessage = (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "reset") {
      live = msg.payload || {};
      schedule();
    } else if (msg.kind === "grow") {
      if (live === null) {
        const p = model.get("payload") || {};
        const nodes = {};
        for (const c of COLUMNS) nodes[c] = ((p.nodes || {})[c] || []).slice();
        live = { ...p, nodes };
      }
      for (const id of applyGrowth(live, msg)) (view.fresh ||= new Set()).add(id);
      schedule();
    }
  };
  const onPayload = () => {
    if (!view.grew) {
      // another tree: start from its roots and solution path again
      view.expanded = null;
      view.more = null;
      view.closed = null;
      view.scrollTop = 0;
    }
    live = null;
    if (redraw !== null) clearTimeout(redraw);
    redraw = null;
    draw();
  };
  const onStep = () => hooks.onStep();
  const onSelected = () => hooks.onSelected();
  model.on("change:payload", onPayload);
  model.on("change:step", onStep);
  model.on("change:selected", onSelected);
  model.on("msg:custom", onMessage);
  // a view opened while the search runs asks for the tree so far
  const start = model.get("payload") || {};
  if (start.growing === true && typeof model.send === "function") model.send({ kind: "hello" });
  return () => {
    hooks.stopPlay();
    if (redraw !== null) clearTimeout(redraw);
    model.off("change:payload", onPayload);
    model.off("change:step", onStep);
    model.off("change:selected", onSelected);
    model.off("msg:custom", onMessage);
    root.remove();
  };
}

export default { render: renderTree };
