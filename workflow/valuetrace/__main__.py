import sys

from valuetrace.cli import main

sys.exit(main())
