"""The report's charts, drawn with matplotlib (Agg, no display) into PNG bytes: mood by day (valence and
arousal with the person's own baseline band, volatility with the alert threshold, alerts and corrections
marked) and the share of each emotion by day. Chinese labels use a CJK font when one is installed."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from voiceassist.emotion.labels import LABEL_COLORS as COLORS
from voiceassist.emotion.labels import LABELS
from voiceassist.lang import is_zh
from voiceassist.review.history import History
from voiceassist.review.words import label_name, t

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei"]


class ChartsUnavailable(RuntimeError):
    pass


def _mpl() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ChartsUnavailable(
            "the report's charts need matplotlib: pip install matplotlib (it comes with voiceassist[all])"
        ) from e
    return matplotlib, Figure, FigureCanvasAgg


def _png(fig: Any, canvas_cls: Any) -> bytes:
    buf = io.BytesIO()
    canvas_cls(fig).print_png(buf)
    return buf.getvalue()


def _rc(lang: str) -> dict[str, Any]:
    """A CJK font after DejaVu Sans (matplotlib falls back glyph by glyph along ``font.family``); without one
    installed, Chinese labels would be boxes, so the report says which package to install."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in CJK_FONTS if f in installed]
    if is_zh(lang) and not cjk:
        raise ChartsUnavailable("Chinese charts need a CJK font: apt-get install fonts-noto-cjk")
    return {"font.family": ["DejaVu Sans", *cjk[:1]], "axes.unicode_minus": False}


def mood_chart(h: History, lang: str, enter: float) -> bytes:
    """Valence and arousal by day (gaps on days without conversation), the baseline band, volatility with
    the alert threshold, minutes talked; alerts (red triangles) and corrections (purple crosses)."""
    matplotlib, Figure, Canvas = _mpl()
    days = [d.start for d in h.days]
    nan = float("nan")
    val = [nan if d.valence is None else d.valence for d in h.days]
    aro = [nan if d.arousal is None else d.arousal for d in h.days]
    vol = [nan if d.volatility is None else d.volatility for d in h.days]
    with matplotlib.rc_context(_rc(lang)):
        fig = Figure(figsize=(9.0, 6.2), dpi=110, layout="constrained")
        ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True, height_ratios=[3, 2, 1.4])
        b = h.baseline
        if b is not None:
            ax1.axhspan(
                b.valence - b.valence_sd,
                b.valence + b.valence_sd,
                color="#1f77b4",
                alpha=0.12,
                label=t("legend_band", lang),
            )
        ax1.plot(days, val, "o-", color="#1f77b4", ms=4, label=t("valence", lang))
        ax1.plot(days, aro, "^-", color="#ff7f0e", ms=4, label=t("arousal", lang))
        ax1.axhline(0, color="#999", lw=0.8)
        ax1.set_ylim(-1, 1.15)
        alert_days = sorted({m.day for m in h.marks if m.kind != "emotion"})
        corr_days = sorted({m.day for m in h.marks if m.kind == "emotion"})
        if alert_days:
            ax1.plot(alert_days, [1.05] * len(alert_days), "v", color="#d62728", ms=8, label=t("legend_alert", lang))
        if corr_days:
            ax1.plot(
                corr_days, [-0.95] * len(corr_days), "x", color="#9467bd", ms=7, label=t("legend_correction", lang)
            )
        ax1.set_title(t("chart_mood", lang), loc="left", fontsize=11)
        ax1.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax2.plot(days, vol, "s--", color="#d62728", ms=3, label=t("volatility", lang))
        ax2.axhline(enter, color="#d62728", lw=1, ls=":")
        ax2.text(
            1.0, enter, f" {enter:.2f}", color="#d62728", va="center", fontsize=8, transform=ax2.get_yaxis_transform()
        )
        ax2.set_ylim(0, max(1.0, enter * 1.3, *[v for v in vol if v == v]) if any(v == v for v in vol) else 1.0)
        ax2.set_ylabel(t("volatility", lang))
        ax3.bar(days, [d.minutes for d in h.days], color="#2ca02c", width=0.8)
        ax3.set_ylabel(t("col_talk", lang))
        _date_axis(ax3, days, lang)
        return bytes(_png(fig, Canvas))


def emotions_chart(h: History, lang: str) -> bytes:
    """Stacked share of each fused emotion per day (or per week for ranges over two months)."""
    matplotlib, Figure, Canvas = _mpl()
    periods = h.days if len(h.days) <= 62 else h.weeks()
    xs = [p.start for p in periods]
    width = 0.8 if periods is h.days else 5.6
    with matplotlib.rc_context(_rc(lang)):
        fig = Figure(figsize=(9.0, 3.2), dpi=110, layout="constrained")
        ax = fig.subplots()
        bottom = [0.0] * len(periods)
        for lab in LABELS:
            share = [p.shares.get(lab, 0.0) for p in periods]
            if any(share):
                ax.bar(
                    xs, share, bottom=bottom, width=width, color=COLORS[lab], label=label_name(lab, lang), align="edge"
                )
                bottom = [b + s for b, s in zip(bottom, share, strict=True)]
        ax.set_ylim(0, 1)
        ax.set_title(t("chart_emotions", lang), loc="left", fontsize=11)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        _date_axis(ax, xs, lang)
        return bytes(_png(fig, Canvas))


def _date_axis(ax: Any, days: list[date], lang: str) -> None:
    import matplotlib.dates as mdates

    dates: Any = mdates  # matplotlib's date helpers are untyped
    ax.xaxis.set_major_locator(dates.AutoDateLocator(minticks=3, maxticks=10))
    ax.xaxis.set_major_formatter(dates.DateFormatter("%m-%d" if len(days) <= 62 else "%Y-%m"))
