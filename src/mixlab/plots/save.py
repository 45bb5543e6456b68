"""What every figure does last: layout, the PDF, a PNG preview and its caption as Markdown beside it.

The caption is not drawn into the image: a reader reusing the figure (slides, a paper) wants it bare,
and text set at a few points under a plot is unreadable at README width anyway."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, out: str | Path, caption: str = "") -> None:
    """Write `out` (PDF), the same figure as PNG next to it and, with a caption, `out` with suffix .md
    (the PNG and the caption, for READMEs and the report); then close the figure."""
    out = Path(out)
    png = out.with_suffix(".png")
    fig.tight_layout()
    fig.savefig(out)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    if caption:
        out.with_suffix(".md").write_text(f"![{out.stem}]({png.name})\n\n{caption}\n")
