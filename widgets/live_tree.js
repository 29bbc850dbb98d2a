// Live search tree of itc-lab (an anywidget front-end module): the tree view of tree_view.js
// growing as the search expands, under a title and the live views' meter and Stop button.
//
// Synced traits: title, meter, stoppable (itc_lab/live/views.py, LiveView) and the tree view's
// payload, selected and step, plus its "grow" messages (see tree_view.js).
// itc_lab.views.base.bundle_esm inlines the two imports.

import { meterBar } from "./live_meter.js";
import { renderTree } from "./tree_view.js";

function render({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "itc-tv itc-live itc-live-tree";
  const title = document.createElement("div");
  title.className = "itc-live-title";
  const meter = meterBar(model);
  const tree = document.createElement("div");
  root.append(title, meter.root, tree);
  host.appendChild(root);
  const paint = () => {
    title.textContent = model.get("title") || "";
    title.hidden = !title.textContent;
  };
  paint();
  model.on("change:title", paint);
  const dispose = renderTree({ model, el: tree });
  return () => {
    model.off("change:title", paint);
    meter.dispose();
    if (typeof dispose === "function") dispose();
    root.remove();
  };
}

export default { render };
