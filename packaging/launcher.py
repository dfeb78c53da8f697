"""The frozen build's one entry script, frozen into two executables in the same folder (one analysis, so
the libraries are collected once): ``voiceassist-app`` opens the window (``voiceassist app ...``) and
``voiceassist`` is the whole command line (``voiceassist analyze``, ``models pull``, ``serve``...). Which
one runs is read from the executable's own name."""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # analyze-batch --jobs starts processes: the frozen child must not re-run main
    from voiceassist.entry import main

    name = os.path.splitext(os.path.basename(sys.executable))[0].lower()
    if name.endswith("-app") or name == "voiceassist app":
        sys.exit(main(["app", *sys.argv[1:]]))
    sys.exit(main())
