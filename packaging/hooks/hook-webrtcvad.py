# Overrides the hooks-contrib hook, which copies the metadata of "webrtcvad": this project installs the
# webrtcvad-wheels distribution (same module), whose webrtcvad.py reads version("webrtcvad-wheels") at import.
from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("webrtcvad-wheels")
