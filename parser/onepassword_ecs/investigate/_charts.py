"""Static SVG charts, drawn with matplotlib, for the self-contained HTML report.

Why matplotlib (and not a JavaScript charting library, or pygal): the report must open
offline and be safe to attach to a ticket, so charts are static SVG with no script. With
``svg.fonttype = "path"`` matplotlib draws every letter as a path, so a chart needs no
font at all (none to fetch, none to be missing, the same picture on every machine), and
its SVG carries no external reference. pygal's SVG is lighter but refers to fonts by
name and ships tooltips as JavaScript we would have to strip.

matplotlib is imported here only (an optional extra): ``normalize`` and the other
commands never load it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import InvestigationError

__all__ = ["bar_chart", "load_matplotlib"]

# One palette for every chart; outcome names get their usual colors.
PALETTE = ("#3b6fb6", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057")
OUTCOME_COLORS = {"success": "#4c9f70", "failure": "#d1495b", "unknown": "#9aa0a6"}
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def load_matplotlib() -> Any:
    """matplotlib's Figure class, configured for self-contained SVG."""
    try:
        import matplotlib
    except ImportError:
        raise InvestigationError(
            "the report needs matplotlib: pip install 'onepassword-ecs[investigate]'"
        ) from None
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "path",  # letters as paths: no font to load
            "svg.hashsalt": "onepassword-ecs",  # stable ids: same data, same bytes
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    from matplotlib.figure import Figure

    return Figure


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    horizontal: bool = False,
    stacked: bool = True,
    colors: dict[str, str] | None = None,
    ylabel: str = "events",
) -> str:
    """One bar chart as an inline ``<svg>`` element (no XML prolog, no metadata).

    ``title`` becomes the SVG's accessible name; the page prints it as the heading.
    """
    figure_class = load_matplotlib()
    height = max(2.6, 0.28 * len(labels) + 1.0) if horizontal else 3.0
    figure = figure_class(figsize=(7.5, height), layout="constrained")
    axes = figure.subplots()
    positions = list(range(len(labels)))
    base = [0.0] * len(labels)
    width = 0.8 if stacked else 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        color = (colors or {}).get(name, PALETTE[index % len(PALETTE)])
        offset = 0.0 if stacked else (index - (len(series) - 1) / 2) * width
        spots = [p + offset for p in positions]
        if horizontal:
            axes.barh(spots, values, height=width, left=base, label=name, color=color)
        else:
            axes.bar(spots, values, width=width, bottom=base, label=name, color=color)
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    if horizontal:
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel(ylabel)
    else:
        step = max(1, len(labels) // 16)
        axes.set_xticks(positions[::step], labels[::step], rotation=45, ha="right")
        axes.set_ylabel(ylabel)
    if len(series) > 1:
        axes.legend(frameon=False, fontsize=8)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1), count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attribute(title)}" ', 1)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
