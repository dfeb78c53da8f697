#!/usr/bin/env bash
# Build the desktop app with PyInstaller (one folder, two executables), smoke-test the frozen build with
# --self-test, validate the desktop entry and AppStream metainfo, pack a tar.gz, and print the sizes.
#
#   packaging/build.sh            # needs the venv with the packaging extra: pip install -e '.[packaging]'
#
# Output (git-ignored): packaging/build/dist/voiceassist/ and packaging/build/voiceassist-<version>-linux-x86_64.tar.gz
# Exit status: non-zero if the build, a validation or the frozen self-test fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="${VOICEASSIST_BUILD_DIR:-$HERE/build}"
APP_ID=io.github.voiceassist.VoiceAssist
DIST="$OUT/dist/voiceassist"

"$PY" -c "import PyInstaller" 2>/dev/null || { echo "PyInstaller missing: $PY -m pip install -e '$ROOT[packaging]'" >&2; exit 1; }
VERSION="$("$PY" -c 'import voiceassist; print(voiceassist.__version__)')"
ARCH="$(uname -m)"

echo "== validating the desktop entry and the AppStream metainfo"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$HERE/linux/$APP_ID.desktop"
else echo "   desktop-file-validate missing (apt-get install desktop-file-utils): skipped"; fi
if command -v appstreamcli >/dev/null; then appstreamcli validate --no-net "$HERE/linux/$APP_ID.metainfo.xml"
else echo "   appstreamcli missing (apt-get install appstream): skipped"; fi

echo "== PyInstaller (a few minutes)"
t0=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/work" "$HERE/voiceassist.spec"
echo "   built in $(( $(date +%s) - t0 )) s"

echo "== desktop integration files into the folder (share/, as an install under a prefix expects them)"
install -Dm644 "$HERE/linux/$APP_ID.desktop" "$DIST/share/applications/$APP_ID.desktop"
install -Dm644 "$HERE/linux/$APP_ID.metainfo.xml" "$DIST/share/metainfo/$APP_ID.metainfo.xml"
QT_QPA_PLATFORM=offscreen "$PY" "$HERE/make_icons.py" "$DIST/share/icons/hicolor" >/dev/null
install -Dm755 "$HERE/linux/install.sh" "$DIST/install.sh"

echo "== smoke test: the frozen app's --self-test"
t0=$(date +%s.%N)
QT_QPA_PLATFORM=offscreen "$DIST/voiceassist-app" --self-test
echo "   self-test took $(echo "$(date +%s.%N) - $t0" | bc) s"
echo "== smoke test: the frozen command line"
"$DIST/voiceassist" analyze "$DIST/_internal/voiceassist/resources/selftest/hello_en.wav" >"$OUT/analyze.json"
"$PY" - "$OUT/analyze.json" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
text = " ".join(s["text"] for s in doc["segments"])
assert "good day" in text.lower(), doc
print(f"   voiceassist analyze: {text!r}")
PYEOF

echo "== archive"
TAR="$OUT/voiceassist-$VERSION-linux-$ARCH.tar.gz"
tar -C "$OUT/dist" -czf "$TAR" voiceassist
echo "   AppImage: not built (appimagetool and the AppImage runtime come only from GitHub; not packaged by Debian or PyPI)"

echo "== sizes"
echo "   folder (unpacked): $(du -sb "$DIST" | cut -f1) bytes ($(du -sh --apparent-size "$DIST" | cut -f1)), target < 1.2 GB"
echo "   archive: $(du -sb "$TAR" | cut -f1) bytes ($(du -sh --apparent-size "$TAR" | cut -f1)): $TAR"
echo "   ten largest parts:"
( cd "$DIST/_internal" && du -s --apparent-size -m -- * | sort -rn | head -10 | awk '{printf "   %6d MB  %s\n", $1, $2}' )
