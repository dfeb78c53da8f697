import sys

from voiceassist.cli import main

sys.exit(main())
