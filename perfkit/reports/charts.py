"""The figure a report's chart is drawn on: a matplotlib figure that pyplot never sees, drawn once when shown.

A figure made with ``pyplot.subplots`` in a notebook is drawn twice at the end of its cell: pyplot's
post-execute hook redraws every stale figure it knows (``draw_all``, a full Agg render), and then
matplotlib-inline's hook renders it again as the PNG the cell shows. A chart is made in a report
method and shown as the cell's value, so it needs neither: :class:`ReportFigure` is a plain
:class:`matplotlib.figure.Figure` with its own Agg canvas, unknown to pyplot, and the cell that ends
with it shows it through IPython's display formatter, rendered once. It is still a matplotlib figure:
``fig.savefig(...)`` and ``fig.axes`` work as usual.

A chart is saved to the box of what it draws (``bbox_inches="tight"``), shown or saved, so that no label is
ever cut off: the report methods do not also call ``tight_layout``, a third layout pass over every label
(0.04 s of each chart) that the tight box makes redundant for a chart of one axes.
"""
from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class ReportFigure(Figure):
    """A chart shown as PNG when it is a notebook cell's value, exactly as the inline backend prints a
    figure (IPython's ``print_figure``, tight bounding box), whether or not pyplot is loaded: in a kernel
    where the inline backend is active its figure printer takes this figure (it is a Figure), elsewhere
    :meth:`_repr_png_` does the same."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)         # its own canvas: drawn without a backend or pyplot's figure manager

    def savefig(self, fname, **kwargs):
        """:meth:`matplotlib.figure.Figure.savefig`, to the box of what the chart draws unless told otherwise."""
        kwargs.setdefault("bbox_inches", "tight")
        return super().savefig(fname, **kwargs)

    def _repr_png_(self) -> bytes | None:
        from IPython.core.pylabtools import print_figure

        return print_figure(self, "png")


def report_figure(**kwargs):
    """A new :class:`ReportFigure` and its axes: ``figsize`` (and the figure's other options) for the
    figure, the rest for :meth:`Figure.subplots`, as ``pyplot.subplots`` takes them."""
    options = {name: kwargs.pop(name) for name in ("figsize", "dpi", "facecolor", "layout") if name in kwargs}
    fig = ReportFigure(**options)
    return fig, fig.subplots(**kwargs)


__all__ = ["ReportFigure", "report_figure"]
