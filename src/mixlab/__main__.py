"""`python -m mixlab ...`: what the workflow's rules call, so a conda env that has mixlab's
dependencies but not mixlab itself runs it from the repository (PYTHONPATH, set by the workflow)."""
import sys

from mixlab.cli import main

sys.exit(main())
