"""The ``voiceassist`` command: ``voiceassist app ...`` opens the window (voiceassist/ui/app.py),
``voiceassist serve ...`` runs the API server (voiceassist/api/serve.py), every other command is the CLI
(voiceassist/cli/). The front ends never import each other; this is the one place that knows them all."""

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
    if args[:1] == ["serve"]:
        try:
            from voiceassist.api.serve import main as serve_main
        except ImportError as e:
            print(f"voiceassist: the server needs the api extra (pip install 'voiceassist[api]'): {e}", file=sys.stderr)
            return EXIT_FAILED
        return serve_main(args[1:])
    from voiceassist.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
