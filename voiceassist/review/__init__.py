"""Mood over days and weeks (domain): the store's sessions summed up per day and per week against the
person's own baseline (``history``), two ranges compared, the caregiver report as one HTML page with its
charts (``report``, ``charts``), the weekly report by e-mail with the person's consent (``weekly``), the
words in English and Chinese (``words``), and a synthetic history for tests and screenshots (``sample``).
Used by the CLI (``voiceassist report``) and the window (the "Mood over time" tab) alike."""
