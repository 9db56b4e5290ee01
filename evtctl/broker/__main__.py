"""``python -m evtctl.broker start [flags]``: the lean broker launcher (see evtctl.broker.launch)."""

from __future__ import annotations

import sys

from evtctl.broker.launch import main

sys.exit(main(sys.argv[1:]))
