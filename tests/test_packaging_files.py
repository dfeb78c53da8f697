"""packaging/: the Linux desktop entry and AppStream metainfo pass Debian's validators, name the same app, the
executable the spec builds and the icon make_icons.py renders; the icons come out in every usual size; the
build scripts parse. (The frozen build itself is slow: packaging/build.sh, run on its own, not in .ci/run.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
APP_ID = "io.github.voiceassist.VoiceAssist"
DESKTOP = PKG / "linux" / f"{APP_ID}.desktop"
METAINFO = PKG / "linux" / f"{APP_ID}.metainfo.xml"

sys.path.insert(0, str(PKG))
import make_icons  # noqa: E402 (packaging/ is not a package)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (scripts/bootstrap.sh installs it: apt-get install {package})")
    return path


def desktop_entry() -> dict[str, str]:
    cp = ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(DESKTOP, encoding="utf-8")
    return dict(cp["Desktop Entry"])


def test_the_desktop_entry_passes_desktop_file_validate():
    proc = subprocess.run([tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)], capture_output=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout.decode() + proc.stderr.decode()


def test_the_metainfo_passes_appstreamcli_validate():
    cmd = [tool("appstreamcli", "appstream"), "validate", "--no-net", "--pedantic", str(METAINFO)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not re.search(r"^[EW]:", proc.stdout, re.M), proc.stdout  # no errors, no warnings


def test_desktop_entry_metainfo_spec_and_icons_name_the_same_app():
    entry = desktop_entry()
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID == make_icons.APP_ID == entry["Icon"]
    assert root.findtext("launchable") == DESKTOP.name
    assert entry["Terminal"] == "false" and entry["Type"] == "Application"
    spec = (PKG / "voiceassist.spec").read_text()
    built = set(re.findall(r'exe\("([\w-]+)"\)', spec))
    assert built == {"voiceassist-app", "voiceassist"}
    assert entry["Exec"].split()[0] in built
    assert {b.text for b in root.iter("binary")} == built
    assert f'APP_ID = "{APP_ID}"' in (PKG / "common.py").read_text()


def test_icons_render_in_the_usual_sizes(tmp_path: Path):
    from PySide6.QtGui import QImage

    written = make_icons.render(tmp_path)
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        image = QImage(str(tmp_path / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the drawing is there, not blank
        assert image.pixelColor(0, 0).alpha() < 64  # rounded corners stay (nearly) transparent
    assert (tmp_path / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert len(written) == 9


@pytest.mark.parametrize("script", ["build.sh", "linux/install.sh"])
def test_the_shell_scripts_parse(script: str):
    path = PKG / script
    assert path.is_file() and path.stat().st_mode & 0o111, f"{path} missing or not executable"
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_spec_variant_is_valid_python_and_reads_the_common_part():
    for spec in ("voiceassist.spec", "windows/voiceassist.spec", "macos/voiceassist.spec"):
        text = (PKG / spec).read_text()
        compile(text, spec, "exec")
        assert "common.py" in text and "collected()" in text, spec
    compile((PKG / "common.py").read_text(), "common.py", "exec")
    compile((PKG / "launcher.py").read_text(), "launcher.py", "exec")
