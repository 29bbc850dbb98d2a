// Live refinement of itc-lab (an anywidget front-end module): the draft-diff view of
// diff_view.js gaining each round as it is written, under the live views' meter and Stop button.
//
// Synced traits: meter, stoppable (itc_lab/live/views.py, LiveView) and the diff view's rounds,
// current, mode, title, growing, stopped and first (see diff_view.js).
// itc_lab.views.base.bundle_esm inlines the two imports.

import { liveFrame } from "./live_meter.js";
import { renderDiff } from "./diff_view.js";

function render({ model, el }) {
  // the title is drawn above the meter, not again by the diff view
  return liveFrame(model, el, "itc-live-refine",
                   (inner) => renderDiff(inner, { title: false }));
}

export default { render };
