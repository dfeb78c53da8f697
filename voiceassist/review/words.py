"""The words of the review (the across-sessions view, the caregiver report, the live meters) in English and
Chinese, and the one place that says what a volatility value means ("steady", "changing", "very changeable").

Pure Python. ``lang`` is "en" or "zh" everywhere here; anything starting with "zh" counts as Chinese.
"""

from __future__ import annotations

from datetime import date

from voiceassist.emotion.labels import LABELS_ZH
from voiceassist.lang import is_zh

# key -> (English, Chinese). Texts with {name} fields are filled with str.format.
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Mood report", "情绪报告"),
    "for_person": ("for {person}", "对象：{person}"),
    "range": ("{start} to {end}", "{start} 至 {end}"),
    "made": ("Made on {when} by VoiceAssist on this computer.", "由本机的 VoiceAssist 于 {when} 生成。"),
    "no_data": ("No conversations between {start} and {end}.", "{start} 至 {end} 之间没有对话。"),
    "talked": (
        "{person} talked with the assistant on {days} of {total} days: {sessions} conversations, {n} utterances, "
        "{minutes} minutes of speech.",
        "{person}在 {total} 天中有 {days} 天和助手说过话：共 {sessions} 次对话，{n} 句话，说话 {minutes} 分钟。",
    ),
    "valence_is": (
        "Average mood (valence) {v} on a scale from -1 (very unpleasant) to +1 (very pleasant): {word}.",
        "平均情绪效价 {v}（-1 非常不愉快，+1 非常愉快）：{word}。",
    ),
    "arousal_is": (
        "Average arousal {a} on a scale from -1 (calm, low energy) to +1 (agitated, excited).",
        "平均唤醒度 {a}（-1 平静、低能量，+1 激动、兴奋）。",
    ),
    "mostly": ("Emotions heard most: {top}.", "最常听到的情绪：{top}。"),
    "volatility_is": (
        "Mood volatility (RMSSD of valence) {x} on average: {word}. Days: {steady} steady, {changing} changing, "
        "{very} very changeable.",
        "情绪波动（效价的 RMSSD）平均 {x}：{word}。天数：平稳 {steady}，有变化 {changing}，变化很大 {very}。",
    ),
    "alerts_n": ("Alerts: {n} ({detail}).", "提醒：{n} 次（{detail}）。"),
    "alerts_none": ("No alerts.", "没有提醒。"),
    "corrections_n": (
        "{person} corrected the recognised emotion {n} times.",
        "{person}纠正了 {n} 次识别出的情绪。",
    ),
    "abrupt_n": (
        "{n} conversations ended abruptly (the app was closed without stopping).",
        "{n} 次对话异常结束（应用未正常停止就被关闭）。",
    ),
    "baseline": (
        "Compared with {person}'s own usual days ({bstart} to {bend}, {bdays} days with conversation): valence "
        "{bv}. This baseline is {person}'s own, not a population norm.",
        "与{person}自己平常的日子相比（{bstart} 至 {bend}，其中 {bdays} 天有对话）：效价 {bv}。"
        "这个基线是{person}本人的，不是人群常模。",
    ),
    "no_baseline": (
        "Not enough earlier days yet for {person}'s own baseline (at least {k} days with conversation are needed "
        "before the range).",
        "之前的日子还不够，无法建立{person}本人的基线（这段时间之前至少需要 {k} 天有对话）。",
    ),
    "compare_head": ("Compared with {start} to {end}:", "与 {start} 至 {end} 相比："),
    "cmp_line": ("{what}: {a} vs {b}, {how}.", "{what}：{a} 对比 {b}，{how}。"),
    "higher": ("higher", "更高"),
    "lower": ("lower", "更低"),
    "same": ("about the same", "差不多"),
    "more": ("more", "更多"),
    "fewer": ("fewer", "更少"),
    "better": ("more pleasant", "更愉快"),
    "worse": ("less pleasant", "更不愉快"),
    "valence": ("valence", "效价"),
    "arousal": ("arousal", "唤醒度"),
    "volatility": ("volatility", "波动"),
    "minutes": ("minutes talked", "说话分钟数"),
    "utterances": ("utterances", "语句数"),
    "steady": ("steady", "平稳"),
    "changing": ("changing", "有变化"),
    "very_changeable": ("very changeable", "变化很大"),
    "v_low": ("clearly unpleasant", "明显不愉快"),
    "v_mid_low": ("somewhat unpleasant", "有些不愉快"),
    "v_neutral": ("neutral", "中性"),
    "v_mid_high": ("somewhat pleasant", "有些愉快"),
    "v_high": ("clearly pleasant", "明显愉快"),
    "sev_info": ("info", "提示"),
    "sev_warning": ("warning", "警告"),
    "sev_urgent": ("urgent", "紧急"),
    "the_person": ("the person", "这个人"),
    "chart_mood": ("Mood by day", "每天的情绪"),
    "chart_emotions": ("Share of each emotion by day", "每天各种情绪的比例"),
    "chart_talk": ("Minutes talked by day", "每天说话的分钟数"),
    "legend_band": ("own usual range (baseline)", "本人平常范围（基线）"),
    "legend_alert": ("alert", "提醒"),
    "legend_correction": ("correction", "纠正"),
    "days_table": ("Day by day", "逐日情况"),
    "col_day": ("day", "日期"),
    "col_talk": ("minutes", "分钟"),
    "col_n": ("utterances", "语句"),
    "col_v": ("valence", "效价"),
    "col_a": ("arousal", "唤醒度"),
    "col_vol": ("volatility", "波动"),
    "col_top": ("most heard", "最常见情绪"),
    "col_alerts": ("alerts", "提醒"),
    "said": ("What was said (the caregiver setting allows it)", "说过的话（看护人设置允许显示）"),
    "privacy": (
        "This report holds no words of the conversation (the caregiver setting alerts.include_transcript is off).",
        "这份报告不含任何对话内容（看护人设置 alerts.include_transcript 未开启）。",
    ),
    "how_read": (
        "How to read it: valence is how pleasant the voice and words sounded (-1 to +1); arousal how activated "
        "(-1 to +1); volatility how much the mood swung from one utterance to the next (alert threshold {enter}). "
        "These are estimates from a voice assistant, not a diagnosis.",
        "阅读说明：效价表示声音和话语听起来有多愉快（-1 到 +1）；唤醒度表示有多激动（-1 到 +1）；波动表示情绪在相邻"
        "两句话之间变化有多大（提醒阈值 {enter}）。这些是语音助手的估计，不是诊断。",
    ),
    "weekly_subject": (
        "[VoiceAssist] Weekly mood report for {person}: {start} to {end}",
        "[VoiceAssist] {person}的每周情绪报告：{start} 至 {end}",
    ),
}


def t(key: str, lang: str, **fields: object) -> str:
    en, zh = TEXT[key]
    return (zh if is_zh(lang) else en).format(**fields)


def label_name(label: str, lang: str) -> str:
    return LABELS_ZH.get(label, label) if is_zh(lang) else label


def day_text(d: date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if is_zh(lang) else d.strftime("%a %d %b %Y")


def volatility_level(value: float, enter: float, exit_: float) -> str:
    """ "steady" below the alert policy's exit level, "changing" up to its enter level (the alert threshold),
    "very_changeable" at or above it: the same thresholds the alerts use, so the words and the alerts agree."""
    if value >= enter:
        return "very_changeable"
    if value >= exit_:
        return "changing"
    return "steady"


def valence_word(v: float, lang: str) -> str:
    key = "v_low" if v <= -0.4 else "v_mid_low" if v <= -0.1 else "v_neutral" if v < 0.1 else "v_mid_high"
    if v >= 0.4:
        key = "v_high"
    return t(key, lang)
