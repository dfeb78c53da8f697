import sys

from voiceassist.entry import main

sys.exit(main())
