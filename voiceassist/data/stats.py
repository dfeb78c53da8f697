"""``stats``: what a data set holds, as images and one self-contained HTML page in the output folder.

- ``labels.png``: rows per emotion label, one bar per language;
- ``lengths.png``: length histograms per language (characters for Chinese, words for English);
- ``wordcloud_<lang>.png``: the core words of each language (``core_words``; when no row of a language
  has any, the words of its texts: jieba for Chinese, stop words left out). Chinese needs a font with
  Chinese glyphs: ``--font``, else Noto Sans CJK (Debian/Ubuntu ``fonts-noto-cjk``) or another CJK font
  found with fc-match or matplotlib's font list, each checked to really draw Chinese (not boxes). With
  none the Chinese cloud is left out and the report and the page say why;
- ``stats.html``: counts and lengths tables with the images embedded (base64), one file to send around.

Every row is kept; the step drops nothing. Plots are drawn with matplotlib's Agg canvas (no pyplot, no
global backend).
"""

from __future__ import annotations

import argparse
import base64
import html
import logging
import re
import statistics
import subprocess
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from voiceassist.data.records import LANGS, Record
from voiceassist.data.step import OptionError, StepResult
from voiceassist.emotion.labels import LABELS
from voiceassist.lang import language_of

log = logging.getLogger(__name__)

FONT_FAMILIES = ("sans-serif:lang=zh-cn", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                 "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN",
                 "Microsoft YaHei", "SimHei", "PingFang SC")  # fmt: skip
FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/System/Library/Fonts/PingFang.ttc", "C:/Windows/Fonts/msyh.ttc")  # fmt: skip
_FONT_NAME_HINTS = re.compile(r"CJK|Hei|Song|Ming|Kai|Han Sans|WenQuanYi|Fallback|YaHei|PingFang", re.IGNORECASE)
_ZH_STOP = """我们 你们 他们 她们 自己 一个 没有 什么 这个 那个 就是 还是 可是 但是 因为 所以 如果 今天 现在 已经 真的
觉得 怎么 这么 那么 一直 一下 一点 有点 特别 非常 真是 时候 知道 可以 不是 这样 那样 还有 然后 我要"""
ZH_STOPWORDS = frozenset(_ZH_STOP.split())
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Also reads ``args.output``: the folder the images and stats.html are written to."""
    parser.add_argument("--font", type=Path, default=None, help="a font with Chinese glyphs for the word cloud")
    parser.add_argument("--max-words", type=int, default=150, help="words per cloud (default %(default)s)")
    parser.add_argument("--title", default="VoiceAssist data set", help="heading of stats.html")


def renders_cjk(font_path: str | Path) -> bool:
    """True when the font draws Chinese characters as distinct glyphs (a font without them draws the same
    box, or nothing, for each)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(str(font_path), 40)
    except OSError:
        return False
    shapes = []
    for ch in "开难心":
        image = Image.new("L", (56, 56), 0)
        ImageDraw.Draw(image).text((4, 2), ch, font=font, fill=255)
        shapes.append(np.asarray(image) > 127)
    inked = all(int(s.sum()) > 20 for s in shapes)
    return inked and not any(np.array_equal(shapes[i], shapes[j]) for i, j in ((0, 1), (0, 2), (1, 2)))


def _font_candidates() -> list[str]:
    out: list[str] = []
    for family in FONT_FAMILIES:
        try:
            done = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            break  # no fontconfig here
        if done.returncode == 0 and done.stdout.strip():
            out.append(done.stdout.strip())
    out += list(FONT_FILES)
    try:
        from matplotlib import font_manager

        out += [f.fname for f in font_manager.fontManager.ttflist if _FONT_NAME_HINTS.search(f.name)]
    except Exception as e:  # a broken font cache must not stop the step
        log.debug("matplotlib font list: %s", e)
    return list(dict.fromkeys(out))


@lru_cache(maxsize=8)
def find_cjk_font(preferred: str | None = None) -> tuple[str | None, str]:
    """(font file, how it was found) or (None, why there is none)."""
    if preferred:
        if Path(preferred).is_file() and renders_cjk(preferred):
            return preferred, f"--font {preferred}"
        why = f"--font {preferred} does not draw Chinese; "
    else:
        why = ""
    for path in _font_candidates():
        if Path(path).is_file() and renders_cjk(path):
            return path, why + f"found {path}"
    return None, (
        why + "no font with Chinese glyphs found (fc-match, matplotlib's font list, the usual paths): install "
        "fonts-noto-cjk (Debian/Ubuntu) or give --font FILE; the Chinese word cloud is left out"
    )


def row_lang(row: Record) -> str:
    lang, text = row.get("lang"), row.get("text")
    return lang if lang in LANGS else language_of(text if isinstance(text, str) else "")


def text_length(text: str, lang: str) -> int:
    """Characters (whitespace left out) for Chinese, words for English."""
    return len("".join(text.split())) if lang == "zh" else len(text.split())


def word_frequencies(rows: list[Record], lang: str) -> tuple[Counter[str], str]:
    """Core words of the rows, or (when none has any) the words of their texts; and which it was."""
    core: Counter[str] = Counter()
    for r in rows:
        listed = r.get("core_words")
        if isinstance(listed, list):
            core.update(w.strip() for w in listed if isinstance(w, str) and w.strip())
    if core:
        return core, "core_words"
    texts = [r["text"] for r in rows if isinstance(r.get("text"), str)]
    words: Counter[str] = Counter()
    if lang == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)
        for t in texts:
            words.update(w for w in jieba.lcut(t) if len(w) > 1 and language_of(w) == "zh" and w not in ZH_STOPWORDS)
        return words, "jieba over the texts (no core_words)"
    from wordcloud import STOPWORDS

    for t in texts:
        words.update(w for w in _EN_WORD.findall(t.lower()) if len(w) > 2 and w not in STOPWORDS)
    return words, "words of the texts (no core_words)"


def word_cloud_image(freqs: dict[str, int], font_path: str | None, max_words: int = 150) -> Any:
    """A PIL image of the cloud (fixed layout seed, so the same input gives the same picture)."""
    from wordcloud import WordCloud

    cloud = WordCloud(width=900, height=450, background_color="white", font_path=font_path, random_state=0,
                      max_words=max_words, collocations=False, prefer_horizontal=0.95, colormap="viridis")  # fmt: skip
    return cloud.generate_from_frequencies(freqs).to_image()


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_labels(counts: dict[str, Counter[str]], path: Path) -> None:
    import numpy as np

    labels = [x for x in LABELS if any(c[x] for c in counts.values())]
    labels += sorted({x for c in counts.values() for x in c} - set(labels))
    fig = _figure(10, 4)
    ax = fig.add_subplot()
    x, width = np.arange(len(labels)), 0.8 / max(1, len(counts))
    for k, (lang, c) in enumerate(sorted(counts.items())):
        ax.bar(x + k * width - 0.4 + width / 2, [c[lb] for lb in labels], width, label=lang)
    ax.set_xticks(x, labels)
    ax.set_ylabel("rows")
    ax.set_title("Emotion labels per language")
    ax.legend(title="lang")
    fig.savefig(path, format="png")


def plot_lengths(lengths: dict[str, list[int]], path: Path) -> None:
    langs = sorted(lengths)
    fig = _figure(5 * max(1, len(langs)), 3.5)
    for k, lang in enumerate(langs):
        ax = fig.add_subplot(1, max(1, len(langs)), k + 1)
        values = lengths[lang]
        ax.hist(values, bins=min(40, max(5, len(set(values)))), color=f"C{k}")
        ax.set_title(f"{lang}: length in {_unit(lang)}")
        ax.set_xlabel(_unit(lang))
        ax.set_ylabel("rows")
    fig.savefig(path, format="png")


def _unit(lang: str) -> str:
    return "characters" if lang == "zh" else "words"


def _summary(values: list[int]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"min": ordered[0], "median": statistics.median(ordered), "mean": round(statistics.fmean(ordered), 2),
            "p95": p95, "max": ordered[-1]}  # fmt: skip


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    out_value = getattr(args, "output", None)
    if out_value is None:
        raise OptionError("stats needs an output folder (-o OUT_DIR)")
    out = Path(out_value)
    out.mkdir(parents=True, exist_ok=True)
    records = [r for _, r in rows]
    by_lang: dict[str, list[Record]] = {}
    for r in records:
        by_lang.setdefault(row_lang(r), []).append(r)
    counts = {lang: Counter(str(r.get("emotion")) for r in rs) for lang, rs in by_lang.items()}
    lengths = {
        lang: [text_length(r["text"], lang) for r in rs if isinstance(r.get("text"), str)]
        for lang, rs in by_lang.items()
    }
    lengths = {k: v for k, v in lengths.items() if v}
    files: dict[str, str] = {}
    notes: list[str] = []
    if counts:
        plot_labels(counts, out / "labels.png")
        files["labels"] = "labels.png"
    if lengths:
        plot_lengths(lengths, out / "lengths.png")
        files["lengths"] = "lengths.png"
    font_path, font_note = (None, "no Chinese rows")
    clouds: dict[str, dict[str, Any]] = {}
    for lang in sorted(by_lang):
        freqs, source = word_frequencies(by_lang[lang], lang)
        entry: dict[str, Any] = {"source": source, "top": freqs.most_common(20)}
        font = None
        if lang == "zh":
            font_path, font_note = find_cjk_font(str(args.font) if getattr(args, "font", None) else None)
            font = font_path
            if font is None:
                notes.append(f"Chinese word cloud left out: {font_note}")
        if freqs and (lang != "zh" or font):
            name = f"wordcloud_{lang}.png"
            word_cloud_image(dict(freqs), font, int(getattr(args, "max_words", 150) or 150)).save(out / name)
            files[f"wordcloud_{lang}"] = name
        elif not freqs:
            notes.append(f"{lang}: no words for a cloud")
        clouds[lang] = entry
    report: dict[str, Any] = {
        "rows": len(records),
        "counts": {lang: dict(sorted(c.items())) for lang, c in sorted(counts.items())},
        "lengths": {lang: {"unit": _unit(lang), **_summary(v)} for lang, v in sorted(lengths.items())},
        "words": clouds,
        "cjk_font": font_path,
        "cjk_font_note": font_note,
        "files": {**files, "html": "stats.html"},
        "notes": notes,
    }
    (out / "stats.html").write_text(render_html(report, out, str(getattr(args, "title", "") or "")), encoding="utf-8")
    return StepResult(kept=records, report=report)


def _img(out: Path, name: str | None, alt: str) -> str:
    if not name:
        return ""
    data = base64.b64encode((out / name).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(report: dict[str, Any], out: Path, title: str = "") -> str:
    e = html.escape
    files = report["files"]
    counts: dict[str, dict[str, int]] = report["counts"]
    labels = [x for x in LABELS if any(x in c for c in counts.values())]
    labels += sorted({x for c in counts.values() for x in c} - set(labels))
    head = "".join(f"<th>{e(lb)}</th>" for lb in labels)
    body = "".join(
        f"<tr><th>{e(lang)}</th>" + "".join(f"<td>{c.get(lb, 0)}</td>" for lb in labels)
        + f"<td><b>{sum(c.values())}</b></td></tr>" for lang, c in counts.items()
    )  # fmt: skip
    lens = "".join(
        f"<tr><th>{e(lang)}</th><td>{e(s['unit'])}</td>"
        + "".join(f"<td>{s[k]}</td>" for k in ("min", "median", "mean", "p95", "max")) + "</tr>"
        for lang, s in report["lengths"].items()
    )  # fmt: skip
    words = ""
    for lang, w in report["words"].items():
        top = ", ".join(f"{e(word)} ({n})" for word, n in w["top"])
        words += f"<h3>{e(lang)}</h3><p>from {e(w['source'])}: {top}</p>"
        words += _img(out, files.get(f"wordcloud_{lang}"), f"word cloud {lang}")
    notes = "".join(f"<li>{e(n)}</li>" for n in report["notes"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title or "data stats")}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
img{{max-width:100%;display:block;margin:1em 0}}</style></head><body>
<h1>{e(title or "data stats")}</h1><p>{report["rows"]} rows. Chinese font: {e(report["cjk_font_note"])}</p>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Emotion labels per language</h2>
<table><tr><th>lang</th>{head}<th>total</th></tr>{body}</table>
{_img(out, files.get("labels"), "labels per language")}
<h2>Lengths</h2>
<table><tr><th>lang</th><th>unit</th><th>min</th><th>median</th><th>mean</th><th>p95</th><th>max</th></tr>{lens}</table>
{_img(out, files.get("lengths"), "length histograms")}
<h2>Core words</h2>{words}
</body></html>
"""
