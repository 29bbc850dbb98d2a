// The meter and Stop button of itc-lab's live views (an anywidget front-end helper).
//
// Reads the synced traits `meter` (Meter.summary() in itc_lab/live/events.py, plus `reason`) and
// `stoppable`; the Stop button sends {stop: true} to the kernel. While a run goes the clock
// ticks here, between updates. Live views import `meterBar`; itc_lab.views.base.bundle_esm
// inlines this file into them. Text goes in via textContent only.

const WORDS = {
  waiting: "waiting to start",
  "starting the engine": "starting the model engine (first call only)",
  running: "running",
  done: "done",
  stopped: "stopped",
  failed: "failed",
};

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function num(x) {
  return typeof x === "number" && Number.isFinite(x) ? x : 0;
}

/** The meter's line, as itc_lab.live.views.meter_text writes it (`seconds` given apart). */
export function meterText(m, seconds) {
  const state = String(m.state ?? "waiting");
  let words = WORDS[state] ?? state;
  if (state === "stopped" && m.reason) words += ` (${m.reason})`;
  const calls = num(m.calls);
  const asked = num(m.asked);
  const samples = num(m.samples);
  const cached = num(m.cached);
  // a finished replay shows the time the recording took
  const replayed = cached > 0 && cached === samples && (state === "done" || state === "stopped");
  const parts = [
    words,
    `${samples} of ${asked} sample${asked === 1 ? "" : "s"}`,
    `${num(m.tokens).toLocaleString("en-US")} tokens`,
    replayed ? `${num(m.recorded_seconds).toFixed(1)} s when recorded` : `${num(seconds).toFixed(1)} s`,
    `${calls} call${calls === 1 ? "" : "s"}`,
  ];
  if (cached) parts.push(`${cached} from the recording`);
  return parts.join(" \u00b7 ");
}

/** The meter bar of a live view: {root, dispose}. */
export function meterBar(model) {
  const root = el("div", "itc-live-meter");
  root.setAttribute("role", "status");
  root.setAttribute("aria-live", "polite");
  const dot = el("span", "itc-live-dot");
  const text = el("span", "itc-live-meter-text");
  const stop = el("button", "itc-live-stop", "Stop");
  stop.type = "button";
  stop.title = "Stop the run; the samples finished so far are kept";
  root.append(dot, text, stop);
  let received = performance.now();
  let clicked = false;
  const running = () => {
    const s = String((model.get("meter") || {}).state ?? "");
    return s === "running" || s === "starting the engine";
  };
  const paint = () => {
    const m = model.get("meter") || {};
    const extra = running() ? (performance.now() - received) / 1000 : 0;
    text.textContent = meterText(m, num(m.seconds) + extra);
    const state = String(m.state ?? "waiting");
    root.dataset.state = state;
    if (state === "stopped") {
      stop.hidden = false;
      stop.disabled = true;
      stop.textContent = "Stopped";
    } else if (model.get("stoppable")) {
      stop.hidden = false;
      if (!clicked) {
        stop.disabled = false;
        stop.textContent = "Stop";
      }
    } else {
      stop.hidden = true;
    }
  };
  const changed = () => {
    received = performance.now();
    paint();
  };
  const onStop = () => {
    clicked = true;
    stop.disabled = true;
    stop.textContent = "Stopping\u2026";
    model.send({ stop: true });
  };
  stop.addEventListener("click", onStop);
  model.on("change:meter", changed);
  model.on("change:stoppable", paint);
  const timer = setInterval(() => {
    if (running()) paint();
  }, 250);
  paint();
  return {
    root,
    dispose() {
      clearInterval(timer);
      model.off("change:meter", changed);
      model.off("change:stoppable", paint);
      stop.removeEventListener("click", onStop);
    },
  };
}

/**
 * The frame of a live view around another view's renderer: a title (trait ``title``), the meter
 * bar, then the inner view, drawn by ``renderInner({model, el})`` into its own element.
 * Returns the cleanup function anywidget expects.
 */
export function liveFrame(model, host, className, renderInner) {
  const root = el("div", `itc-tv itc-live ${className}`);
  const title = el("div", "itc-live-title");
  const meter = meterBar(model);
  const inner = el("div");
  root.append(title, meter.root, inner);
  host.appendChild(root);
  const paint = () => {
    title.textContent = model.get("title") || "";
    title.hidden = !title.textContent;
  };
  paint();
  model.on("change:title", paint);
  const dispose = renderInner({ model, el: inner });
  return () => {
    model.off("change:title", paint);
    meter.dispose();
    if (typeof dispose === "function") dispose();
    root.remove();
  };
}
