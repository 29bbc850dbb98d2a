// Live search tree of itc-lab (an anywidget front-end module): the tree view of tree_view.js
// growing as the search expands, under a title and the live views' meter and Stop button.
//
// Synced traits: title, meter, stoppable (itc_lab/live/views.py, LiveView) and the tree view's
// payload, selected and step, plus its "grow" messages (see tree_view.js).
// itc_lab.views.base.bundle_esm inlines the two imports.

import { liveFrame } from "./live_meter.js";
import { renderTree } from "./tree_view.js";

function render({ model, el }) {
  return liveFrame(model, el, "itc-live-tree", renderTree);
}

export default { render };
