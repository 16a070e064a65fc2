"""The figure a report's chart is drawn on: a matplotlib figure that pyplot never sees, drawn once when shown.

A figure made with ``pyplot.subplots`` in a notebook is drawn twice at the end of its cell: pyplot's
post-execute hook redraws every stale figure it knows (``draw_all``, a full Agg render), and then
matplotlib-inline's hook renders it again as the PNG the cell shows. A chart is made in a report
method and shown as the cell's value, so it needs neither: :class:`ReportFigure` is a plain
:class:`matplotlib.figure.Figure` with its own Agg canvas, unknown to pyplot, and the cell that ends
with it shows it through IPython's display formatter, drawn once (:meth:`ReportFigure.png`). It is still a
matplotlib figure: ``fig.savefig(...)`` and ``fig.axes`` work as usual.

A chart is saved to the box of what it draws (``bbox_inches="tight"``), shown or saved, so that no label is
ever cut off: the report methods do not also call ``tight_layout``, a third layout pass over every label
(0.04 s of each chart) that the tight box makes redundant for a chart of one axes.
"""
from __future__ import annotations

from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class ReportFigure(Figure):
    """A chart shown as PNG when it is a notebook cell's value, the picture the inline backend prints of a
    figure (IPython's ``print_figure``, tight bounding box) drawn in one pass instead of two, whether or
    not pyplot is loaded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)         # its own canvas: drawn without a backend or pyplot's figure manager

    def savefig(self, fname, **kwargs):
        """:meth:`matplotlib.figure.Figure.savefig`, to the box of what the chart draws unless told otherwise."""
        kwargs.setdefault("bbox_inches", "tight")
        return super().savefig(fname, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The PNG a notebook shows: :meth:`png`, also where the inline backend's figure printer is active
        (a bundle comes before the printers IPython holds per type, which would take any Figure)."""
        if not self.axes or (include and "image/png" not in include) or (exclude and "image/png" in exclude):
            return {}                  # (as IPython's print_figure: an empty figure shows nothing)
        return {"image/png": self.png()}

    #: Room drawn around the figure (inches) for what reaches past its edge: a long category label.
    MARGIN = 2.0

    def png(self) -> bytes:
        """The chart as PNG, cut to the box of what it draws with savefig's padding, as IPython's
        ``print_figure`` (``bbox_inches="tight"``) prints it, but drawn once.

        ``print_figure`` lays the whole figure out to find that box, then draws it again on a canvas of the
        box's size: two passes over every label, 0.03 s of each chart. Here the figure is drawn once on a
        canvas with :attr:`MARGIN` round it (savefig's own way of drawing a given box), the box is measured
        on that drawing, and the picture is cut out of it. A chart that reaches further than the margin is
        printed the usual way.
        """
        import matplotlib
        import numpy as np
        from matplotlib.image import imsave
        from matplotlib.transforms import Bbox

        pad = matplotlib.rcParams["savefig.pad_inches"]
        if isinstance(pad, (int, float)):
            width, height = self.get_size_inches()
            drawn = []

            def measure(event):      # on the drawing's own renderer, whose text layouts are fresh
                drawn.append((self.get_tightbbox(event.renderer), event.renderer.width, event.renderer.height))

            listener = self.canvas.mpl_connect("draw_event", measure)
            canvas = BytesIO()
            try:
                Figure.savefig(self, canvas, format="rgba", dpi=self.dpi,
                               bbox_inches=Bbox.from_extents(-self.MARGIN, -self.MARGIN, width + self.MARGIN,
                                                             height + self.MARGIN),
                               facecolor=self.get_facecolor(), edgecolor=self.get_edgecolor())
            finally:
                self.canvas.mpl_disconnect(listener)
            box, columns, rows = drawn[-1] if drawn else (None, 0, 0)
            if box is not None and box.width > 0 and box.height > 0:
                box = box.padded(pad)
                # print_figure's picture: int(size * dpi) pixels, from the box's corner (here to the nearest pixel)
                wide, high = int(box.width * self.dpi), int(box.height * self.dpi)
                left, top = round(box.x0 * self.dpi), round(rows - box.y1 * self.dpi)
                if left >= 0 and top >= 0 and left + wide <= columns and top + high <= rows:
                    pixels = np.frombuffer(canvas.getbuffer(), np.uint8).reshape(rows, columns, 4)  # top row first
                    cut = pixels[top:top + high, left:left + wide]
                    picture = BytesIO()
                    imsave(picture, cut, format="png", dpi=self.dpi)
                    return picture.getvalue()
        from IPython.core.pylabtools import print_figure

        return print_figure(self, "png")


def report_figure(**kwargs):
    """A new :class:`ReportFigure` and its axes: ``figsize`` (and the figure's other options) for the
    figure, the rest for :meth:`Figure.subplots`, as ``pyplot.subplots`` takes them."""
    options = {name: kwargs.pop(name) for name in ("figsize", "dpi", "facecolor", "layout") if name in kwargs}
    fig = ReportFigure(**options)
    return fig, fig.subplots(**kwargs)


__all__ = ["ReportFigure", "report_figure"]
