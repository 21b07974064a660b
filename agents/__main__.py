"""Run the ward agent: ``python -m agents --server URL --station ID --token TOKEN``."""

import argparse
import sys

from agents.cli import add_arguments, main

parser = argparse.ArgumentParser(prog="wardcast agent", description=__doc__)
add_arguments(parser)
sys.exit(main(parser.parse_args()))
