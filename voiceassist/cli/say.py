"""``voiceassist say TEXT`` (speech output in a tone) and ``voiceassist devices`` (audio inputs)."""

from __future__ import annotations

import argparse
import sys

from voiceassist.audio.sources import AudioInputError, list_input_devices
from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.lang import lang as lang_of
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK


def cmd_say(args: argparse.Namespace) -> int:
    import soundfile as sf

    from voiceassist.tts import TONES, Player, TtsError
    from voiceassist.voices import VoiceSet

    try:
        cfg = load_config(args.config or default_config_path(), args.overrides, explicit=args.config is not None)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    from voiceassist.emotion.labels import LABELS
    from voiceassist.paths import resources_dir
    from voiceassist.reply.planner import ReplyPlanner

    tone = ReplyPlanner(resources_dir() / "replies").tone_for(args.tone) if args.tone in LABELS else args.tone
    if tone not in TONES:
        print(f"voiceassist: unknown tone {args.tone!r}; use one of {', '.join(TONES)} or an emotion", file=sys.stderr)
        return EXIT_CONFIG
    lang = lang_of(None if args.language == "auto" else args.language, args.text)
    voices = VoiceSet.from_config(cfg.tts, cfg.paths.models_dir)  # the conversation's voices, the same choice
    try:
        voices.load()
        samples, rate = voices.render(args.text, lang, tone)
        voice = voices.voice_for(lang)
    except TtsError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(args.output), samples, rate, subtype="PCM_16")
        except (OSError, RuntimeError) as e:
            print(f"voiceassist: cannot write {args.output}: {e}", file=sys.stderr)
            return EXIT_FAILED
        print(f"{args.output}: {len(samples) / rate:.2f} s, {rate} Hz, tone {tone}, voice: {voice}")
        return EXIT_OK
    print(f"voice: {voice}", file=sys.stderr)
    player = Player(cfg.tts.output_device or None)
    try:
        player.play(samples, rate)
    except TtsError as e:
        print(f"voiceassist: {e}; use -o FILE.wav to write the speech to a file", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def cmd_devices() -> int:
    try:
        devices = list_input_devices()
    except AudioInputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    if not devices:
        print("No audio input devices found.")
        return EXIT_OK
    for d in devices:
        mark = "*" if d["default"] else " "
        print(
            f"{mark} {d['index']:3d}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
            f"{int(float(str(d['default_samplerate'])))} Hz)"
        )
    return EXIT_OK
