import sys

from aeflow.cli import main

sys.exit(main())
