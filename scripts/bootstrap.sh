#!/usr/bin/env bash
# Shared set-up for scripts/run and scripts/test: system packages, a virtual environment in .venv, and the
# Python packages. Idempotent: a stamp keyed on pyproject.toml and this file skips work already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VOICEASSIST_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

# Debian/Ubuntu packages: PortAudio (microphone), espeak-ng (speech output; tests synthesise speech),
# PulseAudio + ALSA plugins (tests use a virtual microphone), python3-venv, the libraries Qt needs for a
# window (xcb, EGL/GL, fontconfig, CJK fonts), xvfb for screenshots (scripts/screenshots.sh).
APT_RUN=(libportaudio2 espeak-ng libespeak-ng1 python3-venv libnotify-bin sox libxcb-cursor0 libxcb-icccm4
         libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0 libxcb-xkb1 libxcb-randr0
         libxcb-shape0 libxcb-xinerama0 libxcb-xinput0 libegl1 libgl1 libfontconfig1 libglib2.0-0 libxkbcommon0 libdbus-1-3
         fonts-noto-cjk)
# desktop-file-utils + appstream: tests validate packaging/'s desktop entry and AppStream metainfo
APT_TEST=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils xvfb xauth desktop-file-utils appstream)

need_apt() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Not a Debian/Ubuntu system: install the equivalents of: ${missing[*]}" >&2
    return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "== installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}

bootstrap() {  # $1: "run" or "test"
  local mode="$1"
  if command -v dpkg-query >/dev/null 2>&1; then
    need_apt "${APT_RUN[@]}"
    [ "$mode" = test ] && need_apt "${APT_TEST[@]}"
  fi
  local extras="all"
  [ "$mode" = test ] && extras="all,test"
  local stamp="$VENV/.voiceassist-setup-$mode"
  local key
  key="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$VENV/bin/python" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating the virtual environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
  local piplog="$VENV/pip-install.log"
  # torch first and pinned: an unpinned torch can pull a multi-GB CUDA build. On a machine with an NVIDIA
  # GPU, install the CUDA build of the same version yourself before running this (pip keeps it).
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "== installing torch (CPU build unless one is already installed)"
    "${pip[@]}" "torch==2.13.0" >"$piplog" 2>&1 || { tail -30 "$piplog" >&2; exit 1; }
    "$VENV/bin/python" -c "import torch" >/dev/null 2>&1
  fi
  echo "== installing voiceassist[$extras] (first time: a few minutes)"
  "${pip[@]}" -e "$ROOT[$extras]" >"$piplog" 2>&1 || { tail -30 "$piplog" >&2; exit 1; }
  "$VENV/bin/python" -c "import voiceassist, faster_whisper, webrtcvad, sqlcipher3, keyring, argon2" >/dev/null
  echo "$key" > "$stamp"
}
