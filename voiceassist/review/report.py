"""The caregiver report: one self-contained HTML page (charts as base64 PNG, print-friendly, so a browser
prints it to PDF) with the key figures of a date range in words, in English or Chinese, compared with the
range before it and with the person's own baseline. No words of the conversation unless the caregiver
setting ``alerts.include_transcript`` is on."""

from __future__ import annotations

import base64
import html
import locale
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from voiceassist.lang import is_zh, lang
from voiceassist.review.history import History, Period, compare, load_history, previous_range
from voiceassist.review.words import TEXT, day_text, label_name, t, valence_word, volatility_level

MAX_TRANSCRIPT_LINES = 400


class EmptyRange(ValueError):
    """The range holds no conversation."""


@dataclass(frozen=True)
class ReportOptions:
    language: str = "en"
    """en or zh."""
    person: str = ""
    include_transcript: bool = False
    metric: str = "rmssd_valence"
    enter: float = 0.5
    exit: float = 0.35
    compare_previous: bool = True
    """Also compare with the range of the same length just before."""

    @classmethod
    def from_config(cls, cfg: Any, language: str | None = None) -> ReportOptions:
        a = cfg.alerts
        return cls(
            language=report_language(language or cfg.ui.language),
            person=a.person_name,
            include_transcript=a.include_transcript,
            metric=a.metric,
            enter=a.enter,
            exit=a.exit,
        )


def report_language(setting: str) -> str:
    """en or zh from a setting (en, zh, zh_CN, auto: the system locale)."""
    if setting == "auto":
        loc = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
        return lang(loc)
    return lang(setting)


def _num(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "-"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def key_figures(h: History, opts: ReportOptions, before: History | None = None) -> list[str]:
    """The report's sentences: how much the person talked, mood, emotions, volatility, alerts, corrections,
    the baseline and the comparison with ``before``."""
    lang = opts.language
    person = opts.person or t("the_person", lang)
    tot = h.total()
    if tot.empty:
        return [t("no_data", lang, start=h.start, end=h.end)]
    days_talked = sum(1 for d in h.days if d.utterances)
    out = [
        t(
            "talked",
            lang,
            person=person,
            days=days_talked,
            total=len(h.days),
            sessions=len(tot.sessions),
            n=tot.utterances,
            minutes=round(tot.minutes),
        )
    ]
    if tot.valence is not None:
        out.append(t("valence_is", lang, v=_num(tot.valence), word=valence_word(tot.valence, lang)))
        out.append(t("arousal_is", lang, a=_num(tot.arousal)))
    if tot.top():
        sep = "、" if is_zh(lang) else ", "
        out.append(t("mostly", lang, top=sep.join(f"{label_name(k, lang)} {v:.0%}" for k, v in tot.top())))
    if tot.volatility is not None:
        levels = [volatility_level(d.volatility, opts.enter, opts.exit) for d in h.days if d.volatility is not None]
        out.append(
            t(
                "volatility_is",
                lang,
                x=_num(tot.volatility, False),
                word=t(volatility_level(tot.volatility, opts.enter, opts.exit), lang),
                steady=levels.count("steady"),
                changing=levels.count("changing"),
                very=levels.count("very_changeable"),
            )
        )
    n_alerts = sum(tot.alerts.values())
    detail = ", ".join(f"{t('sev_' + k, lang) if 'sev_' + k in TEXT else k} {v}" for k, v in sorted(tot.alerts.items()))
    out.append(t("alerts_n", lang, n=n_alerts, detail=detail) if n_alerts else t("alerts_none", lang))
    if tot.corrections:
        out.append(t("corrections_n", lang, person=person, n=tot.corrections))
    if tot.abrupt:
        out.append(t("abrupt_n", lang, n=tot.abrupt))
    b = h.baseline
    if b is not None:
        bv = f"{_num(tot.valence)} / {_num(b.valence)} ± {b.valence_sd:.2f}"
        out.append(t("baseline", lang, person=person, bstart=b.start, bend=b.end, bdays=b.days_with_data, bv=bv))
    else:
        from voiceassist.review.history import BASELINE_MIN_DAYS

        out.append(t("no_baseline", lang, person=person, k=BASELINE_MIN_DAYS))
    if before is not None:
        out.append(t("compare_head", lang, start=before.start, end=before.end))
        out += comparison_lines(tot, before.total(), lang)
    return [s[:1].upper() + s[1:] for s in out]


def comparison_lines(a: Period, b: Period, lang: str) -> list[str]:
    lines = []
    for c in compare(a, b):
        if not c.direction:
            continue
        if c.what in ("minutes", "utterances"):
            how = t({"higher": "more", "lower": "fewer", "same": "same"}[c.direction], lang)
            lines.append(t("cmp_line", lang, what=t(c.what, lang), a=f"{c.a:.0f}", b=f"{c.b:.0f}", how=how))
            continue
        else:
            key = c.direction
            if c.what == "valence" and c.direction != "same":
                key = "better" if c.direction == "higher" else "worse"
            how = t(key, lang)
        signed = c.what != "volatility"
        lines.append(t("cmp_line", lang, what=t(c.what, lang), a=_num(c.a, signed), b=_num(c.b, signed), how=how))
    return lines


CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 60em;
       margin: 1.5em auto; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } .sub { color: #555; margin-top: 0; }
ul.key li { margin: 0.25em 0; } img { max-width: 100%; } .chart { page-break-inside: avoid; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #f3f3f3; } td.n { text-align: right; } .note { color: #555; font-size: 0.9em; }
@page { size: A4; margin: 14mm; } @media print { body { margin: 0; max-width: none; } }
"""


def build_report(
    store: Any, start: date, end: date, opts: ReportOptions, now: float | None = None, allow_empty: bool = False
) -> str:
    """The HTML page. Raises EmptyRange when the range holds no conversation (unless ``allow_empty``:
    the weekly e-mail says so instead) and ValueError for a range that ends before it starts."""
    from voiceassist.review.charts import emotions_chart, mood_chart

    lang = opts.language
    h = load_history(store, start, end, opts.metric)
    if h.empty and not allow_empty:
        raise EmptyRange(t("no_data", lang, start=start, end=end))
    before = None
    if opts.compare_previous:
        b_start, b_end = previous_range(start, end)
        before = load_history(store, b_start, b_end, opts.metric, baseline_days=0)
        if before.empty:
            before = None
    e = html.escape
    person = opts.person or t("the_person", lang)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(now if now is not None else time.time()))
    parts = [
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if is_zh(lang) else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(t('title', lang))} {start} - {end}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(t('title', lang))}</h1>",
        f'<p class="sub">{e(t("for_person", lang, person=person))} · {e(t("range", lang, start=start, end=end))}</p>',
        '<ul class="key">' + "".join(f"<li>{e(s)}</li>" for s in key_figures(h, opts, before)) + "</ul>",
    ]
    if not h.empty:
        for title, png in (
            (t("chart_mood", lang), mood_chart(h, lang, opts.enter)),
            (t("chart_emotions", lang), emotions_chart(h, lang)),
        ):
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<div class="chart"><img alt="{e(title)}" src="data:image/png;base64,{data}"></div>')
        parts.append(_days_table(h, opts))
    parts.append(f'<p class="note">{e(t("how_read", lang, enter=f"{opts.enter:.2f}"))}</p>')
    if opts.include_transcript and not h.empty:
        parts.append(_transcript(store, h, lang))
    else:
        parts.append(f'<p class="note">{e(t("privacy", lang))}</p>')
    parts.append(f'<p class="note">{e(t("made", lang, when=when))}</p></body></html>')
    return "\n".join(parts)


def _days_table(h: History, opts: ReportOptions) -> str:
    lang = opts.language
    e = html.escape
    cols = ("col_day", "col_talk", "col_n", "col_v", "col_a", "col_vol", "col_top", "col_alerts")
    rows = [f"<h2>{e(t('days_table', lang))}</h2><table><tr>" + "".join(f"<th>{e(t(c, lang))}</th>" for c in cols)]
    rows[0] += "</tr>"
    for d in h.days:
        if d.empty:
            continue
        vol = "-"
        if d.volatility is not None:
            vol = f"{d.volatility:.2f} ({t(volatility_level(d.volatility, opts.enter, opts.exit), lang)})"
        top = d.top(1)
        cells = [
            day_text(d.start, lang),
            f"{d.minutes:.1f}",
            str(d.utterances),
            _num(d.valence),
            _num(d.arousal),
            vol,
            label_name(top[0][0], lang) if top else "-",
            str(sum(d.alerts.values()) or ""),
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="n">{e(c)}</td>' if i in (1, 2, 3, 4) else f"<td>{e(c)}</td>" for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    return "\n".join(rows) + "</table>"


def _transcript(store: Any, h: History, lang: str) -> str:
    e = html.escape
    out = [f"<h2>{e(t('said', lang))}</h2><ul>"]
    n = 0
    for s in h.spans:
        for u in store.utterances(s.id):
            if not u.get("text") or n >= MAX_TRANSCRIPT_LINES:
                continue
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started_at + float(u["start_s"])))
            label = label_name(u["fused_label"], lang) if u.get("fused_label") else ""
            out.append(f"<li>{e(when)} [{e(label)}] {e(u['text'])}</li>")
            n += 1
    return "\n".join(out) + "</ul>"


def write_report(store: Any, start: date, end: date, path: Path, opts: ReportOptions) -> Path:
    """Build the page and write it atomically (a half-written report never replaces a good one)."""
    text = build_report(store, start, end, opts)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
