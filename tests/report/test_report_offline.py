"""The report as people share it: one self-contained HTML file, and plots whose legend
hides nothing."""

from __future__ import annotations

import base64
import re

import pytest

from hqseg.report import plots, write_report


def test_html_embeds_every_image(base_and_new, tmp_path):
    _, new = base_and_new
    md_path = write_report(new, tmp_path / "r")
    text = md_path.read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "plots/benchmarks.png" in linked and len(linked) >= 3
    html = (tmp_path / "r" / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == len(linked)
    assert all(s.startswith("data:image/png;base64,") for s in sources), [s[:40] for s in sources]
    # the embedded bytes are the PNG files themselves, so the page needs no folder beside it
    for rel, src in zip(linked, sources, strict=True):
        assert base64.b64decode(src.split(",", 1)[1]) == (tmp_path / "r" / rel).read_bytes()
    moved = tmp_path / "elsewhere.html"
    moved.write_text(html)  # alone: no relative src left to break
    assert not re.search(r'src="(?!data:)', moved.read_text())


def test_html_keeps_links_outside_its_folder(tmp_path):
    from hqseg.report.markdown import to_html

    (tmp_path / "r").mkdir()
    (tmp_path / "secret.png").write_bytes(b"\x89PNG")
    html = to_html("![x](../secret.png)", "t", images_from=tmp_path / "r")
    assert 'src="../secret.png"' in html


@pytest.mark.parametrize("values", [(95.0, 99.0), (5.0, 2.0), (50.0, 97.0)])
def test_benchmark_legend_hides_no_bar(tmp_path, monkeypatch, values):
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    hq = {
        b: {"sam": {"mIoU": values[0], "mBIoU": values[1]},
            "hq_sam": {"mIoU": values[1], "mBIoU": values[0]}}
        for b in ("dis_vd", "coift", "hrsod", "thin")
    }  # fmt: skip
    plots.benchmark_bars(hq, tmp_path / "b.png", {})
    (fig,) = figures
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    bars = [p for ax in fig.axes for p in ax.patches]
    assert len(bars) == 16
    assert not [p for p in bars if p.get_window_extent(renderer).overlaps(box)]
    plots.pyplot().close(fig)
