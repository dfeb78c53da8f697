"""The desktop window (PySide6 + pyqtgraph): a subscriber of the pipeline, never its owner's thread."""
