"""The small library generated clients import (wire format, serde, typed producer/consumer bases).

Import submodules directly (``evtctl.runtime.wire`` ...); this package keeps no heavy imports.
"""
