"""The lazy registries of emotion backends: each is created by name, its module imported only then."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from voiceassist.emotion.base import EmotionModelError, SpeechEmotionBackend, TextEmotionBackend

SPEECH_BACKENDS: dict[str, str] = {
    "emotion2vec": "voiceassist.emotion.emotion2vec:Emotion2VecBackend",
    "prosody": "voiceassist.emotion.prosody:ProsodyBackend",
    "voice-head": "voiceassist.emotion.voice_head:VoiceHeadBackend",
}
TEXT_BACKENDS: dict[str, str] = {
    "lexicon": "voiceassist.emotion.text:LexiconTextBackend",
    "transformers": "voiceassist.emotion.text:TransformersTextBackend",
    "embedded-head": "voiceassist.emotion.head:EmbeddedHeadTextBackend",
}


def _load_class(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def create_speech_backend(cfg: Any, models_dir: str | Path) -> tuple[SpeechEmotionBackend, str | None]:
    """Build the configured speech backend (not loaded yet). With ``speech_backend = "auto"``, Emotion2Vec+
    when its folder is found; else the voice head (``emotion.voice_model``, or the one shipped in the
    package) on the recogniser's frames; else the prosody estimate. The second value then says why
    Emotion2Vec+ does not run (the window offers to get it)."""
    name = cfg.speech_backend
    if name == "auto":
        from voiceassist.emotion.emotion2vec import find_model

        try:
            folder = find_model(cfg.speech_model, models_dir)
        except EmotionModelError as e:
            head = voice_head_folder(cfg, models_dir)
            if (head / "model.json").is_file():
                return _load_class(SPEECH_BACKENDS["voice-head"])(cfg, head), str(e)
            return _load_class(SPEECH_BACKENDS["prosody"])(cfg), str(e)
        return _load_class(SPEECH_BACKENDS["emotion2vec"])(cfg, folder), None
    if name not in SPEECH_BACKENDS:
        raise EmotionModelError(f"unknown speech emotion backend {name!r}; known: auto, {', '.join(SPEECH_BACKENDS)}")
    if name == "emotion2vec":
        from voiceassist.emotion.emotion2vec import find_model

        return _load_class(SPEECH_BACKENDS[name])(cfg, find_model(cfg.speech_model, models_dir)), None
    if name == "voice-head":
        return _load_class(SPEECH_BACKENDS[name])(cfg, voice_head_folder(cfg, models_dir)), None
    return _load_class(SPEECH_BACKENDS[name])(cfg), None


def voice_head_folder(cfg: Any, models_dir: str | Path) -> Path:
    """``emotion.voice_model`` (a folder, or its name under models/), else the head shipped in the package."""
    from voiceassist.emotion.voice_head import shipped_model_dir

    if not cfg.voice_model:
        return shipped_model_dir()
    given = Path(cfg.voice_model).expanduser()
    return given if given.is_dir() else Path(models_dir) / cfg.voice_model


def create_text_backend(cfg: Any, models_dir: str | Path) -> tuple[TextEmotionBackend, str | None]:
    """Build the configured text backend (not loaded yet). With ``text_backend = "auto"``: the folder in
    ``text_model`` when set, by its kind (model.json ``kind``: ``embedded-head``, or a transformers
    classifier); with ``text_model`` empty, the head shipped in the package when there is one; else the
    lexicons. When the folder asked for cannot be used, the lexicons, and the second value says why."""
    import voiceassist.emotion.head as head

    name = cfg.text_backend
    lexicon = TEXT_BACKENDS["lexicon"]
    if name == "auto":
        if cfg.text_model:
            try:
                return _text_backend_for(cfg, head.find_model_folder(cfg.text_model, models_dir)), None
            except EmotionModelError as e:
                return _load_class(lexicon)(cfg), str(e)
        shipped = head.shipped_model_dir()
        if (shipped / "model.json").is_file():
            try:
                return _text_backend_for(cfg, shipped), None
            except EmotionModelError as e:
                return _load_class(lexicon)(cfg), f"the text-emotion head shipped in the package: {e}"
        return _load_class(lexicon)(cfg), None
    if name not in TEXT_BACKENDS:
        raise EmotionModelError(f"unknown text emotion backend {name!r}; known: auto, {', '.join(TEXT_BACKENDS)}")
    if name == "transformers":
        from voiceassist.emotion.text import find_text_model

        return _load_class(TEXT_BACKENDS[name])(cfg, find_text_model(cfg.text_model, models_dir)), None
    if name == "embedded-head":
        folder = head.find_model_folder(cfg.text_model, models_dir) if cfg.text_model else head.shipped_model_dir()
        return _load_class(TEXT_BACKENDS[name])(cfg, folder), None
    return _load_class(TEXT_BACKENDS[name])(cfg), None


def _text_backend_for(cfg: Any, folder: Path) -> TextEmotionBackend:
    from voiceassist.emotion.head import folder_kind

    backend: TextEmotionBackend = _load_class(TEXT_BACKENDS[folder_kind(folder)])(cfg, folder)
    return backend
