"""The emotion-dialogue data toolkit (``voiceassist data``): one JSONL in, one JSONL out per step, a
report.json with counts and a rejected.jsonl that gives each dropped row its reason code.

Steps (one module each): validate, label, review, dedup, stats, synth, split. ``records`` is the row
format, ``step`` what every step shares (reading, writing, reports, reason codes)."""
