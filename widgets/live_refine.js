// Live refinement of itc-lab (an anywidget front-end module): the draft-diff view of
// diff_view.js gaining each round as it is written, under the live views' meter and Stop button.
//
// Synced traits: meter, stoppable (itc_lab/live/views.py, LiveView) and the diff view's rounds,
// current, mode, title, growing, stopped and first (see diff_view.js).
// itc_lab.views.base.bundle_esm inlines the two imports.

import { meterBar } from "./live_meter.js";
import { renderDiff } from "./diff_view.js";

function render({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "itc-tv itc-live itc-live-refine";
  const title = document.createElement("div");
  title.className = "itc-live-title";
  const meter = meterBar(model);
  const diff = document.createElement("div");
  root.append(title, meter.root, diff);
  host.appendChild(root);
  const paint = () => {
    title.textContent = model.get("title") || "";
    title.hidden = !title.textContent;
  };
  paint();
  model.on("change:title", paint);
  // the title is drawn above the meter, not again by the diff view
  const dispose = renderDiff({ model, el: diff }, { title: false });
  return () => {
    model.off("change:title", paint);
    meter.dispose();
    if (typeof dispose === "function") dispose();
    root.remove();
  };
}

export default { render };
