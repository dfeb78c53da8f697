"""The privacy switches, each with what it means in one plain sentence per language: shown on first run
(voiceassist/ui/consent.py), in Settings and by ``voiceassist privacy status``.

The person's switches (``person``) are theirs to change at any time; the caregiver's (alerts and the
channels that send anything off the machine) are shown so the person always knows, and change only with
the caregiver PIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Switch:
    section: str
    key: str
    on: bool
    person: bool
    """The person's to change (else the caregiver's, with the PIN)."""
    title_en: str
    title_zh: str
    text_en: str
    text_zh: str


def switches(cfg: Any) -> list[Switch]:
    outbound = [c for c in cfg.alerts.channels if c in ("email", "webhook")]
    return [
        Switch(
            "store",
            "keep_transcripts",
            cfg.store.keep_transcripts,
            True,
            "Keep transcripts",
            "保存对话文字",
            "What you say and what the assistant answers is kept, encrypted, on this computer so you can look back.",
            "你说的话和助手的回答会加密保存在这台电脑上，方便你回看。",
        ),
        Switch(
            "store",
            "keep_audio",
            cfg.store.keep_audio,
            True,
            "Keep audio",
            "保存录音",
            "The recording of each thing you say is kept, encrypted, on this computer (off unless you turn it on).",
            "你说的每段话的录音会加密保存在这台电脑上（默认关闭）。",
        ),
        Switch(
            "privacy",
            "voice_emotion",
            cfg.privacy.voice_emotion,
            True,
            "Emotion in your voice",
            "分析语音中的情绪",
            "How your voice sounds (not only your words) is analysed on this computer to sense how you feel.",
            "在这台电脑上分析你声音的特点（不只是你说的话），来感知你的情绪。",
        ),
        Switch(
            "privacy",
            "weekly_report",
            cfg.privacy.weekly_report,
            True,
            "Weekly report to the caregiver",
            "每周报告发给照护者",
            "Once a week your mood figures and charts (not your words, unless the caregiver set so) are e-mailed "
            "to your caregiver.",
            "每周一次，把你的情绪数据和图表（除非照护者另有设置，不包含你说的话）通过电子邮件发给你的照护者。",
        ),
        Switch(
            "alerts",
            "enabled",
            cfg.alerts.enabled,
            False,
            "Caregiver alerts",
            "照护者提醒",
            "When your mood changes sharply or you mention a crisis, a caregiver you chose is told (not your words, "
            "unless they set it so).",
            "当你的情绪剧烈波动或提到危机时，会通知你选定的照护者（除非另有设置，不包含你说的话）。",
        ),
        Switch(
            "alerts",
            "channels",
            bool(outbound),
            False,
            "Messages leave this computer",
            "消息发送到电脑以外",
            "Alerts are sent by "
            + (" and ".join(outbound) if outbound else "no outside channel")
            + "; nothing else ever leaves this computer.",
            "提醒通过"
            + ("、".join(outbound) if outbound else "（无外部渠道）")
            + "发送；其他任何内容都不会离开这台电脑。",
        ),
        Switch(
            "alerts",
            "include_transcript",
            cfg.alerts.include_transcript,
            False,
            "Alerts include your words",
            "提醒包含你说的话",
            "Alert messages quote what you said; off, they only say what kind of alert it is.",
            "提醒消息会引用你说的话；关闭时只说明提醒的类型。",
        ),
    ]
