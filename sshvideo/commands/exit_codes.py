"""Exit codes of every command: 0 done, 1 some inputs failed (the rest were processed), 2 bad usage or
an input that stops the whole command (named in the message), 130 interrupted (Ctrl-C)."""

OK = 0
FAILED_INPUTS = 1
USAGE = 2
INTERRUPTED = 130
