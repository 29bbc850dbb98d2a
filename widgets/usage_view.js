// Usage and cost summary of itc-lab (an anywidget front-end module).
//
// Reads the synced trait `summary` (a dict built by itc_lab.widgets.usage_summary) and shows
// calls, tokens, latency, throughput and cost with the prices used. Text goes in via textContent.

const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const PRICE = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });

function num(x) {
  return typeof x === "number" && Number.isFinite(x) ? x : 0;
}

function fixed(x, digits) {
  return num(x).toFixed(digits);
}

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** The rows shown, as [label, value] pairs (exported for tests). */
export function rows(s) {
  const currency = String(s.currency ?? "");
  const calls = num(s.calls);
  const cached = num(s.cached_calls);
  return [
    ["Calls", `${INT.format(calls)}${cached ? ` (${INT.format(cached)} cached)` : ""}`],
    ["Prompt tokens", INT.format(num(s.prompt_tokens))],
    ["Completion tokens", INT.format(num(s.completion_tokens))],
    ["Total tokens", INT.format(num(s.total_tokens))],
    ["Latency (summed)", `${fixed(s.latency_s, 2)} s (slowest ${fixed(s.max_latency_s, 2)} s)`],
    ["Throughput", `${fixed(s.tokens_per_second, 1)} tokens/s`],
    ["Cost", `${fixed(s.cost, 6)} ${currency}`],
    [
      "Prices",
      `${PRICE.format(num(s.prompt_price))} / ${PRICE.format(num(s.completion_price))} ` +
        `${currency} per 1M prompt / completion tokens`,
    ],
  ];
}

function draw(model, root) {
  root.replaceChildren();
  const s = model.get("summary") || {};
  root.appendChild(node("div", "itc-uv-title", "Usage"));
  const grid = node("dl", "itc-uv-grid");
  for (const [label, value] of rows(s)) {
    grid.appendChild(node("dt", "", label));
    grid.appendChild(node("dd", "", value));
  }
  root.appendChild(grid);
  root.appendChild(
    node(
      "div",
      "itc-uv-foot",
      "Summed latency counts overlapping calls separately; wall-clock time can be less.",
    ),
  );
}

function render({ model, el }) {
  const root = node("div", "itc-uv");
  el.appendChild(root);
  const redraw = () => draw(model, root);
  redraw();
  model.on("change:summary", redraw);
  return () => {
    model.off("change:summary", redraw);
    root.remove();
  };
}

export default { render };
