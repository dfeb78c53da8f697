"""Audio front-end: one audio currency (AudioChunk), sources, VAD segmentation, quality checks."""
