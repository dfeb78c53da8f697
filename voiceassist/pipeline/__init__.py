"""The pipeline (the capture and model stages, voiceassist/pipeline/stages.py), the models it runs on
(pipeline/models.py) and its assessment stage (fusion, mood, alerts and the reply request in segment order,
pipeline/assess.py)."""

from voiceassist.pipeline.assess import AssessmentStage, Part, Utterance
from voiceassist.pipeline.live import LiveRequest
from voiceassist.pipeline.models import Models, StageSetupError
from voiceassist.pipeline.stages import Pipeline

__all__ = ["AssessmentStage", "LiveRequest", "Models", "Part", "Pipeline", "StageSetupError", "Utterance"]
