#!/bin/sh
# Install the unpacked folder for the current user: links the two commands into ~/.local/bin and the desktop
# entry, metainfo and icons into ~/.local/share. Run from the unpacked folder: ./install.sh   (./install.sh --remove)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
APP_ID=io.github.voiceassist.VoiceAssist
BIN="${XDG_BIN_HOME:-$HOME/.local/bin}"
SHARE="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$BIN/voiceassist" "$BIN/voiceassist-app" "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
  find "$SHARE/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
  echo "removed (your data is kept: voiceassist privacy wipe deletes it)"; exit 0
fi
mkdir -p "$BIN" "$SHARE/applications" "$SHARE/metainfo"
ln -sf "$HERE/voiceassist" "$BIN/voiceassist"
ln -sf "$HERE/voiceassist-app" "$BIN/voiceassist-app"
sed "s|^Exec=voiceassist-app|Exec=$HERE/voiceassist-app|" "$HERE/share/applications/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
cp "$HERE/share/metainfo/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
cp -r "$HERE/share/icons" "$SHARE/"
command -v update-desktop-database >/dev/null && update-desktop-database "$SHARE/applications" || true
echo "installed: voiceassist-app (the window) and voiceassist (the command line); check with: voiceassist-app --self-test"
