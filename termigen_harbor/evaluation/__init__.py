"""Evaluation: TerminalBench 1.x offline (scan, stand-ins, conversion), runs, metrics and comparisons."""
