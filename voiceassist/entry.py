"""The ``voiceassist`` command: ``voiceassist app ...`` opens the window (voiceassist/ui/app.py), every
other command is the CLI (voiceassist/cli/). The two front ends never import each other; this is the one
place that knows both."""

from __future__ import annotations

import sys

from voiceassist.options import EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["app"]:
        try:
            from voiceassist.ui.app import main as app_main
        except ImportError as e:
            print(f"voiceassist: the window needs the ui extra (pip install 'voiceassist[ui]'): {e}", file=sys.stderr)
            return EXIT_FAILED
        return app_main(args[1:])
    from voiceassist.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
