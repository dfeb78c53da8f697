"""Personal calibration: a per-person profile learnt from the person's own corrections (pure numpy).

Stage 0 (always): the person's baselines (speech-embedding mean and spread, mean valence/arousal), the
reference that stage 2 measures against. Stage 1 (from ``STAGE1_MIN`` corrections): a temperature and a
per-class bias on the fused scores. Stage 2 (from ``STAGE2_MIN_PER_CLASS`` corrections in at least two
classes): a linear probe on the person-normalised speech embedding and the text scores over the scores
before it, shrunk toward the base (an L2 pull to "change nothing"). Each stage is switched on only if it
beats what comes before it in leave-one-out (k-fold above 40) on the person's own corrections (``fit.fit_profile``).
"""

from voiceassist.personal.fit import STAGE1_MIN, STAGE2_MIN_PER_CLASS, Sample, fit_profile
from voiceassist.personal.profile import Profile, ProfileError

__all__ = ["STAGE1_MIN", "STAGE2_MIN_PER_CLASS", "Profile", "ProfileError", "Sample", "fit_profile"]
