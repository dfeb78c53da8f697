"""The pipeline (capture and the model stages, voiceassist/pipeline/stages.py) and its assessment stage
(fusion, mood, alerts and the reply request in segment order, voiceassist/pipeline/assess.py)."""

from voiceassist.pipeline.assess import AssessmentStage, Part, ReplyRequest, Utterance
from voiceassist.pipeline.live import LiveRequest
from voiceassist.pipeline.stages import Pipeline, StageSetupError

__all__ = ["AssessmentStage", "LiveRequest", "Part", "Pipeline", "ReplyRequest", "StageSetupError", "Utterance"]
