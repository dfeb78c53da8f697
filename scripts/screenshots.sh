#!/usr/bin/env bash
# Screenshots of the real window under Xvfb, one per tab, into docs/screenshots/.
# The live tab replays an espeak-ng recording (English and Mandarin) through the whole pipeline.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VA="$ROOT/.venv/bin/voiceassist"
OUT="$ROOT/docs/screenshots"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export XDG_DATA_HOME="$TMP/data" XDG_CONFIG_HOME="$TMP/config" XDG_STATE_HOME="$TMP/state"
mkdir -p "$OUT"
say() { espeak-ng -v "$1" -s "$2" -p "$3" -w "$TMP/raw.wav" "$4"; sox "$TMP/raw.wav" -r 16000 -c 1 -b 16 "$TMP/$5.wav"; }
say en-us 150 35 "I feel so lonely since my friend moved away. I cannot sleep at night." a
say en-us 185 75 "But today my sister visited me, and we had a wonderful time!" b
say en-us 165 50 "Can you recommend a good movie for tonight?" c
sox -n -r 16000 -c 1 -b 16 "$TMP/s.wav" trim 0 1.2
sox "$TMP/s.wav" "$TMP/a.wav" "$TMP/s.wav" "$TMP/b.wav" "$TMP/s.wav" "$TMP/c.wav" "$TMP/s.wav" "$TMP/demo.wav"
# four months of one conversation a day for the "Mood over time" views, written through the SessionStore
"$ROOT/.venv/bin/python" -c 'from voiceassist.storage import SessionStore, default_store_path
from voiceassist.review.sample import write_sample_history
s = SessionStore(default_store_path()); write_sample_history(s, 120); s.close()'
run() { xvfb-run -a -s "-screen 0 1280x860x24" "$VA" app --set tts.enabled=false "$@"; }
run --file "$TMP/demo.wav" --screenshot "$OUT/live.png" --quit-after 21
run --no-start --tab timeline --screenshot "$OUT/timeline.png" --quit-after 3
run --no-start --tab settings --screenshot "$OUT/settings.png" --quit-after 3
run --no-start --tab live --set ui.language=zh_CN --screenshot "$OUT/live_zh.png" --quit-after 3
run --no-start --tab review --screenshot "$OUT/review.png" --quit-after 3
run --no-start --tab review --set ui.language=zh_CN --screenshot "$OUT/review_zh.png" --quit-after 3
ls -la "$OUT"
