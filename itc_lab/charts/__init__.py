"""Altair charts, one module per analysis module of the same name in ``itc_lab.analysis``.

``voting`` (vote, accuracy, cost-accuracy and early-stopping charts), ``verification``
(calibration, ROC, flips, best-of-N), ``scaling``, ``compute_optimal``, ``routing``, and
``search`` (a search tree as a Graphviz graph). Every builder returns a chart object; call
``use_offline_renderer()`` once to draw without internet access. Every string a builder puts
into a Vega-Lite spec goes through ``safe_text`` (``<`` and ``>`` become ‹ and ›), so model text
cannot become markup or script in the HTML Altair writes (``to_html``, ``save``, renderers).
"""

from .base import (
    LOOK_ALIKES,
    MAX_ROWS,
    ScriptSafeJSONEncoder,
    chart_rows,
    is_number,
    safe_data,
    safe_text,
    safe_value,
    series_field,
    too_many_rows,
    use_offline_renderer,
)
from .compute_optimal import compute_optimal_chart
from .routing import router_chart
from .scaling import SIMULATED_SUFFIX, scaling_chart
from .search import (
    STATUSES,
    is_mcts,
    mean_value,
    node_score,
    node_status,
    one_line,
    scale_domain,
    solution_path,
    spending_line,
    tree_graph,
    tree_nodes,
    value_colour,
)
from .verification import FLIP_COLORS, best_of_n_chart, calibration_chart, flip_chart, roc_chart
from .voting import (
    NO_ANSWER,
    STATUS_COLORS,
    TRACE_CHARS,
    accuracy_chart,
    cost_accuracy_chart,
    early_stopping_chart,
    vote_chart,
)

__all__ = [
    "FLIP_COLORS",
    "LOOK_ALIKES",
    "MAX_ROWS",
    "NO_ANSWER",
    "SIMULATED_SUFFIX",
    "STATUSES",
    "STATUS_COLORS",
    "TRACE_CHARS",
    "ScriptSafeJSONEncoder",
    "accuracy_chart",
    "best_of_n_chart",
    "calibration_chart",
    "chart_rows",
    "compute_optimal_chart",
    "cost_accuracy_chart",
    "early_stopping_chart",
    "flip_chart",
    "is_mcts",
    "is_number",
    "mean_value",
    "node_score",
    "node_status",
    "one_line",
    "roc_chart",
    "router_chart",
    "safe_data",
    "safe_text",
    "safe_value",
    "scale_domain",
    "scaling_chart",
    "series_field",
    "solution_path",
    "spending_line",
    "too_many_rows",
    "tree_graph",
    "tree_nodes",
    "use_offline_renderer",
    "value_colour",
    "vote_chart",
]
