"""VoiceAssist: a real-time, emotion-aware voice assistant that runs on your own laptop."""

__version__ = "0.1.0"
